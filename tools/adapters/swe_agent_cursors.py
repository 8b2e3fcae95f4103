# ruff: noqa: E501 (SWE-agent's own command lines and messages, kept as written)
"""SWE-agent 0.x's *cursors* command set, as bash functions for the sandbox's persistent shell:
``open``, ``goto``, ``scroll_up``, ``scroll_down`` and ``create`` show the window with the
``<<<<< START CURSOR >>>>>``/``<<<<< END CURSOR >>>>>`` marks around the selected lines,
``set_cursors <start_line> <end_line>`` moves them, and ``edit`` (no line range) replaces the
text between them.

Adapted from SWE-agent (MIT License, Copyright (c) 2024 John Yang, Carlos E. Jimenez, Alexander
Wettig, Shunyu Yao, Karthik Narasimhan, Ofir Press), ``config/commands/cursors_defaults.sh``
and ``cursors_edit_linting.sh`` at commit 5b143857, the version whose wording the
``*_cursors_window100`` demonstrations show ("retry your edit commmand"; 3f7d0cb3 reworded it,
and ``cursors_defaults.sh`` never changed until the command files were removed in 8f43ae52).
Its configurations (``default_sys-env_cursors_window100-...``, ``xml_sys-env_...``) set
``WINDOW=200`` despite their names, ``OVERLAP=2`` and both cursors to 0.

They are loaded *on top of* the default set (:mod:`~understudy.tools.adapters.swe_agent_commands`),
whose ``search_dir``, ``search_file``, ``find_file``, ``_split_string``, ``_lint``, ``_floor``
and ``submit`` they use, and whose ``goto``, ``scroll_up``, ``scroll_down``, ``create`` and
``_constrain_line`` they keep (``cursors_defaults.sh`` defines them as ``defaults.sh`` does; they
show the window through ``_print``, which this set redefines), as the cursors configurations loaded ``search.sh`` and
``_split_string.py`` beside them. What differs from the original, as in the default set's port:

- ``jq`` arithmetic is done by bash and ``awk`` (``_floor``; ``WINDOW/2`` is taken as an integer,
  which it is for the configurations' even windows);
- the lint check is python3's ``compile()`` (the default set's ``_lint``) in place of
  ``flake8 --select=F821,F822,F831,E111,E112,E113,E999,E902``;
- ``submit`` is the default set's (``git add -A``, then the diff, which is what the 0.x logs show
  of the original's ``<<SUBMISSION||`` output);
- the backup of an edited file goes to ``$TMPDIR`` (``/tmp``) rather than ``/root``.

Nothing in a call to ``open`` or ``create`` tells the cursors set from the default one, so a
shell starts with the default set and switches to this one at the first call only this set has
(see :func:`switch_command`); the viewer moves made before are made again under this set (their
output discarded), so that the window and the cursors are where this set would have left them.
"""

from __future__ import annotations

SWE_AGENT_CURSORS_COMMANDS = r"""
_constrain_cursors() {
    local total_lines=$(awk 'END {print NR}' "$CURRENT_FILE")
    total_lines=$((total_lines < 1 ? 1 : total_lines))
    local start_line=$((CURRENT_LINE - WINDOW / 2))
    local end_line=$((CURRENT_LINE + WINDOW / 2))
    start_line=$((start_line < 1 ? 1 : start_line))
    end_line=$((end_line > total_lines ? total_lines : end_line))
    local warning_string=""
    if [ "$START_CURSOR" -lt "$start_line" ]; then
        warning_string+="START_CURSOR moved to $start_line\n"
        START_CURSOR=$start_line
    elif [ "$START_CURSOR" -gt "$end_line" ]; then
        START_CURSOR=$end_line
        warning_string+="START_CURSOR moved to $end_line\n"
    fi
    if [ "$END_CURSOR" -lt "$start_line" ]; then
        warning_string+="END_CURSOR moved to $start_line\n"
        END_CURSOR=$start_line
    elif [ "$END_CURSOR" -gt "$end_line" ]; then
        warning_string+="END_CURSOR moved to $end_line\n"
        END_CURSOR=$end_line
    fi
    export START_CURSOR END_CURSOR
    echo "$warning_string"
    echo $START_CURSOR $END_CURSOR
}

_print() {
    local cursor_warning=$(_constrain_cursors)
    local cursor_values=$(echo "$cursor_warning" | tail -n 1)
    cursor_warning=$(echo "$cursor_warning" | head -n -1)
    export START_CURSOR=$(echo "$cursor_values" | awk '{print $1}')
    export END_CURSOR=$(echo "$cursor_values" | awk '{print $2}')
    local total_lines=$(awk 'END {print NR}' "$CURRENT_FILE")
    echo "[File: $(realpath "$CURRENT_FILE") ($total_lines lines total)]"
    local start_line=$((CURRENT_LINE - WINDOW / 2))
    local end_line=$((CURRENT_LINE + WINDOW / 2))
    start_line=$((start_line < 1 ? 1 : start_line))
    end_line=$((end_line > total_lines ? total_lines : end_line))
    local lines=()
    local i=0
    while IFS= read -r line; do
        lines[i++]="$line"
    done < <(awk -v start="$start_line" -v end="$end_line" 'NR>=start && NR<=end {print}' "$CURRENT_FILE")
    local num_lines=${#lines[@]}
    if [ $start_line -gt 1 ]; then
        echo "($((start_line - 1)) more lines above)"
    fi
    for ((i=0; i<num_lines+1; i++)) do
        local line_number=$((start_line + i))
        if [ $line_number -eq $START_CURSOR ]
        then
            echo "<<<<< START CURSOR >>>>>"
        fi
        if [ $i -ge 0 ] && [ $i -lt $num_lines ]
        then
            echo "$line_number:${lines[i]}"
        fi
        if [ $line_number -eq $END_CURSOR ]
        then
            echo "<<<<< END CURSOR >>>>>"
        fi
    done
    local lines_below=$((total_lines - start_line - num_lines))
    if [ $lines_below -gt 0 ]; then
        echo "($lines_below more lines below)"
    fi
    if [ -n "$cursor_warning" ]; then
        echo -e "$cursor_warning"
    fi
}

set_cursors() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo "No file open. Use the open command first."
        return
    fi
    if [ $# -lt 2 ]
    then
        echo "Usage: set_cursors <start_line> <end_line>"
        return
    fi
    local start_line=$1
    local end_line=$2
    local re='^[0-9]+$'
    if ! [[ $start_line =~ $re ]]
    then
        echo "Usage: set_cursors <start_line> <end_line>"
        echo "Error: start_line must be a number"
        return
    fi
    if ! [[ $end_line =~ $re ]]
    then
        echo "Usage: set_cursors <start_line> <end_line>"
        echo "Error: end_line must be a number"
        return
    fi
    if [ $start_line -gt $end_line ]
    then
        echo "Usage: set_cursors <start_line> <end_line>"
        echo "Error: start_line must be less than or equal to end_line"
        return
    fi
    export START_CURSOR=$start_line
    export END_CURSOR=$end_line
    _print
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
            local line_number=$2
        fi
    else
        local line_number=$(_floor "$WINDOW/2")
    fi

    if [ -f "$1" ]; then
        export CURRENT_FILE=$(realpath "$1")
        export CURRENT_LINE=$line_number
        _constrain_line
        _print
    else
        echo "File $1 not found"
    fi
}

edit() {
    if [ -z "$CURRENT_FILE" ]
    then
        echo 'No file open. Use the `open` command first.'
        return
    fi
    local start_line=$((START_CURSOR - 1))
    start_line=$((start_line < 0 ? 0 : start_line))
    local end_line=$((END_CURSOR))
    end_line=$((end_line < 0 ? 0 : end_line))

    local replacement=()
    while IFS= read -r line
    do
        replacement+=("$line")
    done

    local num_lines=${#replacement[@]}
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
        _constrain_line
        export END_CURSOR=$((num_lines == 0 ? START_CURSOR : START_CURSOR + num_lines - 1))
        export START_CURSOR=$START_CURSOR
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
        original_end_cursor=$END_CURSOR

        export CURRENT_LINE=$(( (num_lines / 2) + start_line ))
        export WINDOW=$((num_lines + 10))
        export END_CURSOR=$((num_lines == 0 ? START_CURSOR : START_CURSOR + num_lines - 1))

        echo "This is how your edit would have looked if applied"
        echo "-------------------------------------------------"
        _constrain_line
        _print
        echo "-------------------------------------------------"
        echo ""

        cp "$backup" "$CURRENT_FILE"

        export CURRENT_LINE=$(( ((end_line - start_line) / 2) + start_line ))
        export WINDOW=$((end_line - start_line + 10))
        export END_CURSOR=$original_end_cursor

        echo "This is the original code before your edit"
        echo "-------------------------------------------------"
        _constrain_line
        _print
        echo "-------------------------------------------------"

        export CURRENT_LINE=$original_current_line
        export WINDOW=$original_window
        export END_CURSOR=$original_end_cursor

        echo "Your changes have NOT been applied. Please fix your edit command and try again."
        echo "You either need to 1) Specify the correct start/end line arguments or 2) Correct your edit code."
        echo "DO NOT re-run the same failed edit command. Running it again will lead to the same error."
    fi
    rm -f "$backup"
}
"""
"""The cursors definitions, loaded on top of the default set's (see ``switch_command``)."""

VIEWER_COMMANDS = ("open", "goto", "scroll_up", "scroll_down", "create")
"""The commands whose moves a switch to the cursors set makes again."""

VIEW_NOTE = r"""
if ! declare -F _swe_agent_view_note >/dev/null; then
_swe_agent_view_note() {
    declare -F set_cursors >/dev/null && return 0
    case "$1" in
        open|create) export _SWE_AGENT_VIEWS="" ;;
    esac
    [ "$1" = create ] && set -- open "${@:2}"
    export _SWE_AGENT_VIEWS="${_SWE_AGENT_VIEWS}$(printf '%q ' "$@")"$'\n'
}
fi"""
"""Notes a viewer move of the default set (``open``/``create`` start the list afresh; a replayed
``create`` is an ``open``, so that it does not make again a file removed since)."""


def note_command(words: list[str]) -> str:
    """A line that notes a viewer command of the default set (``words``: the command line, each
    word already quoted for the shell), for a later switch to the cursors set."""
    return f"{VIEW_NOTE}\n_swe_agent_view_note {' '.join(words)}"


def switch_command() -> str:
    """A script that loads the cursors set on top of the default one unless it is loaded
    already, with the cursors configurations' window and cursors, then makes again the viewer
    moves noted since the last ``open``/``create``, their output discarded.

    It must run after the default set's ``install_command``. The loaded set is told by
    ``set_cursors`` being defined, which survives in the persistent shell's checkpoint.
    """
    return (
        "if ! declare -F set_cursors >/dev/null; then\n"
        f"{SWE_AGENT_CURSORS_COMMANDS}\n"
        "export WINDOW=200 OVERLAP=2 CURRENT_LINE=0 START_CURSOR=0 END_CURSOR=0\n"
        'export START_CURSOR_MARK="<<<<< START CURSOR >>>>>" END_CURSOR_MARK="<<<<< END CURSOR >>>>>"\n'
        'if [ -n "${_SWE_AGENT_VIEWS:-}" ]; then eval "$_SWE_AGENT_VIEWS" >/dev/null 2>&1; fi\n'
        "unset _SWE_AGENT_VIEWS\n"
        "fi"
    )
