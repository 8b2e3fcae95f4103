# ruff: noqa: E501 (SWE-agent's own command lines and messages, kept as written)
"""SWE-agent 0.x's own command definitions, as bash functions for the sandbox's persistent shell.

Adapted from SWE-agent (MIT License, Copyright (c) 2024 John Yang, Carlos E. Jimenez, Alexander
Wettig, Shunyu Yao, Karthik Narasimhan, Ofir Press), ``config/commands/defaults.sh``,
``edit_linting.sh``, ``search.sh`` and ``_split_string.py`` at commit 5b143857 (the version
whose wording the 0.x logs show: "retry your edit commmand", with the original code shown after
a rejected edit). SWE-agent kept the viewer's state in exported variables of its shell
(``CURRENT_FILE``, ``CURRENT_LINE``, ``WINDOW``, ``OVERLAP``); so do these, and the persistent
shell's checkpoint carries them from call to call.

What differs from the original, so that a sandbox with only bash, coreutils and python3 runs
them:

- ``jq`` arithmetic is done by ``awk`` (same floor and round-half-away-from-zero);
- the lint check after an edit is ``compile()`` by python3 instead of ``flake8 --select=F821,
  F822,F831,E111,E112,E113,E999,E902``: syntax and indentation errors (E999) are reported in
  flake8's words (``- E999 IndentationError: unexpected indent``); undefined names (F821, F822,
  F831) and the E11x indentation warnings are not checked, so an edit flake8 would have
  rejected for those alone is applied here. Without python3 no file is checked;
- the window is printed by one ``awk`` rather than ``cat | grep -n $ | head | tail`` (the same
  lines), so that no process of the pipeline dies of SIGPIPE in the interactive shell;
- the backup of an edited file goes to ``$TMPDIR`` (``/tmp``) rather than ``/root``.
"""

from __future__ import annotations

SWE_AGENT_0X_COMMANDS = r"""
export WINDOW="${WINDOW:-100}" OVERLAP="${OVERLAP:-2}"
export CURRENT_LINE="${CURRENT_LINE:-0}" CURRENT_FILE="${CURRENT_FILE:-}"

_floor() { awk "BEGIN { x = $1; f = int(x); if (f > x) f -= 1; print f }"; }

_round() { awk "BEGIN { x = $1; print (x < 0 ? -int(-x + 0.5) : int(x + 0.5)) }"; }

_print() {
    local total_lines=$(awk 'END {print NR}' "$CURRENT_FILE")
    echo "[File: $(realpath "$CURRENT_FILE") ($total_lines lines total)]"
    lines_above=$(_floor "($CURRENT_LINE - $WINDOW/2 > 0) ? $CURRENT_LINE - $WINDOW/2 : 0")
    lines_below=$(_round "($total_lines - $CURRENT_LINE - $WINDOW/2 > 0) ? $total_lines - $CURRENT_LINE - $WINDOW/2 : 0")
    if [ $lines_above -gt 0 ]; then
        echo "($lines_above more lines above)"
    fi
    local last=$(_floor "($CURRENT_LINE + $WINDOW/2 > $WINDOW/2) ? $CURRENT_LINE + $WINDOW/2 : $WINDOW/2")
    awk -v first=$((last - WINDOW + 1)) -v last=$last \
        'NR > last { exit } NR >= first { print NR ":" $0 }' "$CURRENT_FILE"
    if [ $lines_below -gt 0 ]; then
        echo "($lines_below more lines below)"
    fi
}

_constrain_line() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo "No file open. Use the open command first."
        return
    fi
    local max_line=$(awk 'END {print NR}' "$CURRENT_FILE")
    local half_window=$(_floor "$WINDOW/2")
    export CURRENT_LINE=$(( CURRENT_LINE < max_line - half_window ? CURRENT_LINE : max_line - half_window ))
    export CURRENT_LINE=$(( CURRENT_LINE > half_window ? CURRENT_LINE : half_window ))
}

open() {
    if [ -z "$1" ]
    then
        echo "Usage: open <file>"
        return
    fi
    if [ -n "$2" ]; then
        if ! [[ $2 =~ ^[0-9]+$ ]]; then
            echo "Usage: open <file> [<line_number>]"
            echo "Error: <line_number> must be a number"
            return
        fi
        local max_line=$(awk 'END {print NR}' "$1")
        if [ $2 -gt $max_line ]; then
            echo "Warning: <line_number> ($2) is greater than the number of lines in the file ($max_line)"
            echo "Warning: Setting <line_number> to $max_line"
            local line_number=$max_line
        elif [ $2 -lt 1 ]; then
            echo "Warning: <line_number> ($2) is less than 1"
            echo "Warning: Setting <line_number> to 1"
            local line_number=1
        else
            local OFFSET=$(_floor "$WINDOW/6")
            local line_number=$(_floor "($2 + $WINDOW/2 - $OFFSET > 1) ? $2 + $WINDOW/2 - $OFFSET : 1")
        fi
    else
        local line_number=$(_floor "$WINDOW/2")
    fi

    if [ -f "$1" ]; then
        export CURRENT_FILE=$(realpath "$1")
        export CURRENT_LINE=$line_number
        _constrain_line
        _print
    elif [ -d "$1" ]; then
        echo "Error: $1 is a directory. You can only open files. Use cd or ls to navigate directories."
    else
        echo "File $1 not found"
    fi
}

goto() {
    if [ $# -gt 1 ]; then
        echo "goto allows only one line number at a time."
        return
    fi
    if [ -z "$CURRENT_FILE" ]
    then
        echo "No file open. Use the open command first."
        return
    fi
    if [ -z "$1" ]
    then
        echo "Usage: goto <line>"
        return
    fi
    if ! [[ $1 =~ ^[0-9]+$ ]]
    then
        echo "Usage: goto <line>"
        echo "Error: <line> must be a number"
        return
    fi
    local max_line=$(awk 'END {print NR}' "$CURRENT_FILE")
    if [ $1 -gt $max_line ]
    then
        echo "Error: <line> must be less than or equal to $max_line"
        return
    fi
    local OFFSET=$(_floor "$WINDOW/6")
    export CURRENT_LINE=$(_floor "($1 + $WINDOW/2 - $OFFSET > 1) ? $1 + $WINDOW/2 - $OFFSET : 1")
    _constrain_line
    _print
}

scroll_down() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo "No file open. Use the open command first."
        return
    fi
    export CURRENT_LINE=$(( CURRENT_LINE + WINDOW - OVERLAP ))
    _constrain_line
    _print
}

scroll_up() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo "No file open. Use the open command first."
        return
    fi
    export CURRENT_LINE=$(( CURRENT_LINE - WINDOW + OVERLAP ))
    _constrain_line
    _print
}

create() {
    if [ -z "$1" ]; then
        echo "Usage: create <filename>"
        return
    fi
    if [ -e "$1" ]; then
        echo "Error: File '$1' already exists."
        open "$1"
        return
    fi
    printf "\n" > "$1"
    open "$1"
}

_lint() {
    command -v python3 >/dev/null 2>&1 || return 0
    python3 - "$1" <<'LINT'
import sys
path = sys.argv[1]
try:
    with open(path, "rb") as handle:
        compile(handle.read(), path, "exec", dont_inherit=True)
except SyntaxError as error:
    print(f"{path}:{error.lineno}:{error.offset}: E999 {type(error).__name__}: {error.msg}")
except (OSError, ValueError) as error:
    print(f"{path}:1:1: E902 {type(error).__name__}: {error}")
LINT
}

_split_string() {
    local line parts
    while IFS= read -r line; do
        read -r -a parts <<< "$line"
        echo "- ${parts[*]:1}"
    done <<< "$1"
}

edit() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo 'No file open. Use the `open` command first.'
        return
    fi

    local start_line="$(echo $1: | cut -d: -f1)"
    local end_line="$(echo $1: | cut -d: -f2)"

    if [ -z "$start_line" ] || [ -z "$end_line" ]
    then
        echo "Usage: edit <start_line>:<end_line>"
        return
    fi

    local re='^[0-9]+$'
    if ! [[ $start_line =~ $re ]]; then
        echo "Usage: edit <start_line>:<end_line>"
        echo "Error: start_line must be a number"
        return
    fi
    if ! [[ $end_line =~ $re ]]; then
        echo "Usage: edit <start_line>:<end_line>"
        echo "Error: end_line must be a number"
        return
    fi

    local start_line=$((start_line - 1))
    local end_line=$((end_line))

    local line_count=0
    local replacement=()
    while IFS= read -r line
    do
        replacement+=("$line")
        ((line_count++))
    done

    local backup="${TMPDIR:-/tmp}/$(basename "$CURRENT_FILE")_backup"
    cp "$CURRENT_FILE" "$backup"

    mapfile -t lines < "$CURRENT_FILE"
    local new_lines=("${lines[@]:0:$start_line}" "${replacement[@]}" "${lines[@]:$((end_line))}")
    printf "%s\n" "${new_lines[@]}" >| "$CURRENT_FILE"

    if [[ $CURRENT_FILE == *.py ]]; then
        lint_output=$(_lint "$CURRENT_FILE" 2>&1)
    else
        lint_output=""
    fi

    if [ -z "$lint_output" ]; then
        export CURRENT_LINE=$start_line
        _constrain_line
        _print

        echo "File updated. Please review the changes and make sure they are correct (correct indentation, no duplicate lines, etc). Edit the file again if necessary."
    else
        echo "Your proposed edit has introduced new syntax error(s). Please understand the fixes and retry your edit commmand."
        echo ""
        echo "ERRORS:"
        _split_string "$lint_output"
        echo ""

        original_current_line=$CURRENT_LINE
        original_window=$WINDOW

        export CURRENT_LINE=$(( (line_count / 2) + start_line ))
        export WINDOW=$((line_count + 10))

        echo "This is how your edit would have looked if applied"
        echo "-------------------------------------------------"
        _constrain_line
        _print
        echo "-------------------------------------------------"
        echo ""

        cp "$backup" "$CURRENT_FILE"

        export CURRENT_LINE=$(( ((end_line - start_line + 1) / 2) + start_line ))
        export WINDOW=$((end_line - start_line + 10))

        echo "This is the original code before your edit"
        echo "-------------------------------------------------"
        _constrain_line
        _print
        echo "-------------------------------------------------"

        export CURRENT_LINE=$original_current_line
        export WINDOW=$original_window

        echo "Your changes have NOT been applied. Please fix your edit command and try again."
        echo "You either need to 1) Specify the correct start/end line arguments or 2) Correct your edit code."
        echo "DO NOT re-run the same failed edit command. Running it again will lead to the same error."
    fi

    rm -f "$backup"
}

search_dir() {
    if [ $# -eq 1 ]; then
        local search_term="$1"
        local dir="./"
    elif [ $# -eq 2 ]; then
        local search_term="$1"
        if [ -d "$2" ]; then
            local dir="$2"
        else
            echo "Directory $2 not found"
            return
        fi
    else
        echo "Usage: search_dir <search_term> [<dir>]"
        return
    fi
    dir=$(realpath "$dir")
    local matches=$(find "$dir" -type f ! -path '*/.*' -exec grep -nIH -- "$search_term" {} + | cut -d: -f1 | sort | uniq -c)
    if [ -z "$matches" ]; then
        echo "No matches found for \"$search_term\" in $dir"
        return
    fi
    local num_matches=$(echo "$matches" | awk '{sum+=$1} END {print sum}')
    local num_files=$(echo "$matches" | wc -l | awk '{$1=$1; print $0}')
    if [ $num_files -gt 100 ]; then
        echo "More than $num_files files matched for \"$search_term\" in $dir. Please narrow your search."
        return
    fi

    echo "Found $num_matches matches for \"$search_term\" in $dir:"
    echo "$matches" | awk '{$2=$2; gsub(/^\.+\/+/, "./", $2); print $2 " ("$1" matches)"}'
    echo "End of matches for \"$search_term\" in $dir"
}

search_file() {
    if [ -z "$1" ]; then
        echo "Usage: search_file <search_term> [<file>]"
        return
    fi
    if [ -n "$2" ]; then
        if [ -f "$2" ]; then
            local file="$2"
        else
            echo "Usage: search_file <search_term> [<file>]"
            echo "Error: File name $2 not found. Please provide a valid file name."
            return
        fi
    else
        if [ -z "$CURRENT_FILE" ]; then
            echo "No file open. Use the open command first."
            return
        fi
        local file="$CURRENT_FILE"
    fi
    local search_term="$1"
    file=$(realpath "$file")
    local matches=$(grep -nH -- "$search_term" "$file")
    if [ -z "$matches" ]; then
        echo "No matches found for \"$search_term\" in $file"
        return
    fi
    local num_matches=$(echo "$matches" | wc -l | awk '{$1=$1; print $0}')
    local num_lines=$(echo "$matches" | cut -d: -f1 | sort | uniq | wc -l | awk '{$1=$1; print $0}')
    if [ $num_lines -gt 100 ]; then
        echo "More than $num_lines lines matched for \"$search_term\" in $file. Please narrow your search."
        return
    fi

    echo "Found $num_matches matches for \"$search_term\" in $file:"
    echo "$matches" | cut -d: -f1-2 | sort -u -t: -k2,2n | while IFS=: read -r filename line_number; do
        echo "Line $line_number:$(sed -n "${line_number}p" "$file")"
    done
    echo "End of matches for \"$search_term\" in $file"
}

find_file() {
    if [ $# -eq 1 ]; then
        local file_name="$1"
        local dir="./"
    elif [ $# -eq 2 ]; then
        local file_name="$1"
        if [ -d "$2" ]; then
            local dir="$2"
        else
            echo "Directory $2 not found"
            return
        fi
    else
        echo "Usage: find_file <file_name> [<dir>]"
        return
    fi

    dir=$(realpath "$dir")
    local matches=$(find "$dir" -type f -name "$file_name")
    if [ -z "$matches" ]; then
        echo "No matches found for \"$file_name\" in $dir"
        return
    fi
    local num_matches=$(echo "$matches" | wc -l | awk '{$1=$1; print $0}')
    echo "Found $num_matches matches for \"$file_name\" in $dir:"
    echo "$matches" | awk '{print $0}'
}

submit() {
    git add -A
    echo
    git diff --cached
}

"""
"""The definitions, sourced once by the persistent shell (see ``install_command``)."""


def install_command() -> str:
    """A script that loads the definitions into the shell unless they are loaded already.

    The check is on a function the definitions define and on the ``WINDOW`` they export: both
    survive in the persistent shell's checkpoint, so a shell restored from it keeps its state.
    """
    return (
        'if ! declare -F _split_string >/dev/null || [ -z "${WINDOW:-}" ]; then\n'
        f"{SWE_AGENT_0X_COMMANDS}\nfi"
    )
