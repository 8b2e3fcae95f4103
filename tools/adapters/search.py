"""Adapters of logged search tools onto the canonical ``shell``.

- Claude Code ``Grep`` runs ripgrep; the images have GNU grep, so it becomes ``grep -r -P``
  (Perl-compatible regular expressions are the closest to ripgrep's syntax), skipping binary and
  hidden files as ripgrep does (``.gitignore`` is not honoured). Rendered as Claude Code did:
  ``Found N files`` and the paths, or the matching lines, or ``No files found``/``No matches
  found``.
- Claude Code ``Glob`` becomes a bash ``globstar`` loop over the pattern (``**`` recursive,
  ``{a,b}`` alternatives), regular files only, most recently modified first, at most 100.
- SWE-agent ``find_file``, ``search_dir``, ``search_file`` (with a file) and ``submit`` become
  the shell scripts of SWE-agent's tool bundles, rendered with SWE-agent's state footer (but
  ``submit`` of the 1.x development versions: the diff alone).
"""

from __future__ import annotations

import re
import shlex
from typing import Any, ClassVar

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.base import get_bool, get_int, get_str, with_meta
from understudy.tools.adapters.describers import describe_code_search, describe_no_effect
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import (
    SWE_AGENT_FOOTER,
    ShellAdapter,
    claude_error,
    swe_agent_observation,
    swe_agent_open_file,
    swe_agent_output,
    with_open_file_probe,
)
from understudy.tools.base import CanonicalCall, ToolOutcome

GLOB_LIMIT = 100
GREP_OUTPUT_MODES = ("content", "files_with_matches", "count")
RIPGREP_TYPES: dict[str, tuple[str, ...]] = {
    "py": ("*.py", "*.pyi"),
    "python": ("*.py", "*.pyi"),
    "js": ("*.js", "*.jsx", "*.mjs", "*.cjs"),
    "ts": ("*.ts", "*.tsx", "*.mts", "*.cts"),
    "rust": ("*.rs",),
    "go": ("*.go",),
    "java": ("*.java",),
    "c": ("*.c", "*.h"),
    "cpp": ("*.cpp", "*.cc", "*.cxx", "*.hpp", "*.hh", "*.hxx", "*.h"),
    "md": ("*.md", "*.markdown"),
    "markdown": ("*.md", "*.markdown"),
    "yaml": ("*.yaml", "*.yml"),
    "sh": ("*.sh", "*.bash"),
    "ruby": ("*.rb",),
    "rb": ("*.rb",),
}
_SAFE_GLOB_CHARS = re.compile(r"[A-Za-z0-9_./*?\[\]{},!^-]")


class CodeSearchAdapter(ShellAdapter):
    """A search of the code, run as a shell script: it never changes anything, and judges read
    it as the search it is."""

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return True

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        return describe_code_search(name, arguments)


# -- Claude Code Grep ------------------------------------------------------------------------------


class ClaudeGrepAdapter(CodeSearchAdapter):
    """Claude Code ``Grep`` ``{pattern, path?, glob?, type?, output_mode?, -i?, -n?, -A?, -B?,
    -C?, head_limit?, multiline?}`` (``multiline`` is not supported and ignored)."""

    names: tuple[str, ...] = ("Grep",)
    stateful_shell: bool = False

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        pattern = get_str(arguments, "pattern", name)
        assert pattern is not None
        mode = get_str(arguments, "output_mode", name, required=False) or "files_with_matches"
        if mode not in GREP_OUTPUT_MODES:
            raise InvalidToolArgumentsError(
                f"{name}: output_mode must be one of {', '.join(GREP_OUTPUT_MODES)}"
            )
        flags = ["-r", "-I", "-P"]
        if get_bool(arguments, "-i"):
            flags.append("-i")
        if mode == "files_with_matches":
            flags.append("-l")
        elif mode == "count":
            flags.append("-c")
        else:
            if get_bool(arguments, "-n"):
                flags.append("-n")
            for key in ("-A", "-B", "-C"):
                lines = get_int(arguments, key, name)
                if lines is not None:
                    flags.append(f"{key}{max(lines, 0)}")
        for include in _includes(arguments, name):
            flags.append(f"--include={include}")
        path = get_str(arguments, "path", name, required=False)
        # Hidden files and directories are skipped, as ripgrep does. Without a path, grep -r
        # searches "." and names files without a "./" prefix.
        if path in (None, "", "."):
            flags += ["--exclude-dir=.*", "--exclude=.*"]
            operand = ""
        else:
            flags += ["--exclude-dir=.?*", "--exclude=.?*"]
            operand = " -- " + shlex.quote(str(path))
        grep = f"grep {shlex.join(flags)} -e {shlex.quote(pattern)}{operand}"
        post = ""
        if mode == "count":  # ripgrep leaves out the files without a match
            post += " | grep -v -e ':0$' -e '^0$'"
        if mode == "files_with_matches":
            post += " | LC_ALL=C sort"
        head_limit = get_int(arguments, "head_limit", name)
        if head_limit is not None and head_limit > 0:
            post += f" | head -n {head_limit}"
        # grep's own status (1: nothing found, 2: an error) is the command's exit code.
        script = (
            f'matches=$({grep}); status=$?; if [ -n "$matches" ]; then '
            f'printf "%s\\n" "$matches"{post}; fi; exit $status'
        )
        return self.shell_call(script)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return claude_error(outcome, outcome.content)
        code = int(outcome.meta.get("exit_code", 0))
        if code >= 2 or outcome.meta.get("timed_out"):
            return with_meta(outcome, outcome.content.strip(), is_error=True)
        lines = [line for line in outcome.content.split("\n") if line]
        mode = arguments.get("output_mode") or "files_with_matches"
        if mode == "files_with_matches":
            if not lines:
                return with_meta(outcome, "No files found", is_error=False)
            noun = "file" if len(lines) == 1 else "files"
            text = f"Found {len(lines)} {noun}\n" + "\n".join(lines)
            return with_meta(outcome, text, is_error=False)
        if not lines:
            return with_meta(outcome, "No matches found", is_error=False)
        return with_meta(outcome, "\n".join(lines), is_error=False)


def _includes(arguments: dict[str, Any], tool: str) -> list[str]:
    """``--include`` globs for the ``glob`` and ``type`` filters (base names only)."""
    includes: list[str] = []
    glob = get_str(arguments, "glob", tool, required=False)
    if glob:
        for alternative in _expand_braces(glob):
            includes.append(alternative.rsplit("/", 1)[-1])
    kind = get_str(arguments, "type", tool, required=False)
    if kind:
        includes.extend(RIPGREP_TYPES.get(kind, (f"*.{kind}",)))
    return includes


def _expand_braces(pattern: str) -> list[str]:
    """``*.{ts,tsx}`` -> ``["*.ts", "*.tsx"]`` (one level, which is what globs use)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [
        expanded
        for option in match.group(1).split(",")
        for expanded in _expand_braces(head + option + tail)
    ]


# -- Claude Code Glob ------------------------------------------------------------------------------


class ClaudeGlobAdapter(CodeSearchAdapter):
    """Claude Code ``Glob`` ``{pattern, path?}``."""

    names: tuple[str, ...] = ("Glob",)
    stateful_shell: bool = False

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        pattern = get_str(arguments, "pattern", name)
        assert pattern is not None
        path = get_str(arguments, "path", name, required=False)
        enter = ""
        if path and path != ".":
            quoted = shlex.quote(path)
            missing = shlex.quote(f"Directory does not exist: {path}")
            enter = f"cd -- {quoted} 2>/dev/null || {{ echo {missing}; exit 2; }}; "
        script = (
            f"{enter}shopt -s globstar nullglob; "
            f'for f in {glob_words(pattern)}; do [ -f "$f" ] && printf "%s\\0" "$f"; done '
            f"| xargs -0 -r ls -1td -- 2>/dev/null | head -n {GLOB_LIMIT + 1}"
        )
        return self.shell_call(script)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return claude_error(outcome, outcome.content)
        if outcome.meta.get("exit_code") or outcome.meta.get("timed_out"):
            return with_meta(outcome, outcome.content.strip(), is_error=True)
        files = [line for line in outcome.content.split("\n") if line]
        if not files:
            return with_meta(outcome, "No files found")
        path = arguments.get("path")
        if path and path != ".":
            prefix = str(path).rstrip("/") + "/"
            files = [f if f.startswith("/") else prefix + f for f in files]
        text = "\n".join(files[:GLOB_LIMIT])
        if len(files) > GLOB_LIMIT:
            text += "\n(Results are truncated. Consider using a more specific path or pattern.)"
        return with_meta(outcome, text)


def glob_words(pattern: str) -> str:
    """``pattern`` as a bash word that globs (``* ? [ ] { } ,`` active) but expands nothing else.

    Every other character is backslash-escaped, so ``$(...)``, quotes, spaces and ``;`` in a
    pattern are literal characters of file names, never shell syntax.
    """
    return "".join(char if _SAFE_GLOB_CHARS.fullmatch(char) else "\\" + char for char in pattern)


# -- SWE-agent -------------------------------------------------------------------------------------


class SweAgentSearchAdapter(CodeSearchAdapter):
    """SWE-agent 1.x ``find_file {file_name, dir?}``, ``search_dir {search_term, dir?}``,
    ``search_file {search_term, file}`` and ``submit {}``.

    ``search_file`` without ``file`` searches SWE-agent's open file, which no canonical tool
    knows: such a call cannot be translated. ``submit`` (``git add -A && git diff --cached``) is
    only found with ``agent="swe-agent"``: the name means other things to other harnesses.

    ``submit`` shows the diff after a blank line. SWE-agent 1.0.0 and later write the submit
    step's observation to the history through ``next_step_template`` like any other, so there
    it is followed by the state footer (``submit_footer``); the 1.x development versions before
    it left the last step out of the history, so such a log holds the bare observation of its
    trajectory (the importer names their version ``1.x dev``: agent ``swe-agent 1.x dev``).
    """

    names: tuple[str, ...] = ("find_file", "search_dir", "search_file", "submit")
    stateful_shell: bool = True
    default_timeout_s: ClassVar[float | None] = 30.0

    def __init__(self, *, submit_footer: bool = True) -> None:
        self.submit_footer = submit_footer
        """Whether ``submit``'s diff is followed by the state footer."""

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        return with_open_file_probe(self._script(name, arguments))

    def _script(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        if name == "find_file":
            file_name = get_str(arguments, "file_name", name)
            assert file_name is not None
            directory = get_str(arguments, "dir", name, required=False) or "./"
            return self.shell_call(_find_file_script(file_name, directory))
        if name == "search_dir":
            term = get_str(arguments, "search_term", name)
            assert term is not None
            directory = get_str(arguments, "dir", name, required=False) or "./"
            return self.shell_call(_search_dir_script(term, directory))
        if name == "search_file":
            term = get_str(arguments, "search_term", name)
            assert term is not None
            file = get_str(arguments, "file", name, required=False)
            if not file:
                raise InvalidToolArgumentsError("No file open. Use the open command first.")
            return self.shell_call(_search_file_script(term, file))
        if name == "submit":
            return self.shell_call("git add -A && git diff --cached")
        raise InvalidToolArgumentsError(f"{name} is not a SWE-agent search tool")

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return name != "submit"  # submit stages every change (git add -A)

    def unwrap(self, name: str, arguments: dict[str, Any], shown: str) -> str | None:
        return swe_agent_output(shown)  # the state footer is the harness's, not the tool's

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        # ``submit`` is read as the agent saying it is done: its diff is the submission, not a
        # change.
        if name == "submit":
            return describe_no_effect(name, arguments)
        return super().describe(name, arguments)

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        if outcome.meta.get("error_type"):
            return outcome
        if name == "submit":
            return with_meta(outcome, self._submitted(outcome))
        return with_meta(outcome, swe_agent_observation(outcome.content, outcome))

    def _submitted(self, outcome: ToolOutcome) -> str:
        """The diff after a blank line, as the submission was shown; with the footer, kept
        whole (``next_step_template`` took the observation as it was)."""
        if not self.submit_footer:
            return "\n" + outcome.content
        if not outcome.content.strip():
            return swe_agent_observation("", outcome)
        footer = SWE_AGENT_FOOTER.format(
            open_file=swe_agent_open_file(outcome), cwd=outcome.meta.get("cwd", "")
        )
        return "\n" + outcome.content + footer


def _find_file_script(file_name: str, directory: str) -> str:
    name, folder = shlex.quote(file_name), shlex.quote(directory)
    return (
        f"dir={folder}; file_name={name}\n"
        'if [ ! -d "$dir" ]; then echo "Directory $dir not found"; exit 1; fi\n'
        'dir=$(realpath "$dir")\n'
        'matches=$(find "$dir" -type f -name "$file_name")\n'
        'if [ -z "$matches" ]; then\n'
        'echo "No matches found for \\"$file_name\\" in $dir"; exit 0; fi\n'
        "num=$(printf '%s\\n' \"$matches\" | wc -l | awk '{$1=$1; print $0}')\n"
        'echo "Found $num matches for \\"$file_name\\" in $dir:"\n'
        "printf '%s\\n' \"$matches\" | awk '{print $0}'"
    )


def _search_dir_script(term: str, directory: str) -> str:
    return (
        f"dir={shlex.quote(directory)}; search_term={shlex.quote(term)}\n"
        'if [ ! -d "$dir" ]; then echo "Directory $dir not found"; exit 1; fi\n'
        'dir=$(realpath "$dir")\n'
        'matches=$(find "$dir" -type f ! -path \'*/.*\' -exec grep -nIH -- "$search_term" {} + '
        "| cut -d: -f1 | sort | uniq -c)\n"
        'if [ -z "$matches" ]; then\n'
        'echo "No matches found for \\"$search_term\\" in $dir"; exit 0; fi\n'
        "num_matches=$(printf '%s\\n' \"$matches\" | awk '{sum+=$1} END {print sum}')\n"
        "num_files=$(printf '%s\\n' \"$matches\" | wc -l | awk '{$1=$1; print $0}')\n"
        'if [ "$num_files" -gt 100 ]; then echo "More than $num_files files matched for '
        '\\"$search_term\\" in $dir. Please narrow your search."; exit 0; fi\n'
        'echo "Found $num_matches matches for \\"$search_term\\" in $dir:"\n'
        'printf \'%s\\n\' "$matches" | awk \'{$2=$2; gsub(/^\\.+\\/+/, "./", $2); '
        'print $2 " ("$1" matches)"}\'\n'
        'echo "End of matches for \\"$search_term\\" in $dir"'
    )


def _search_file_script(term: str, file: str) -> str:
    return (
        f"file={shlex.quote(file)}; search_term={shlex.quote(term)}\n"
        'if [ ! -f "$file" ]; then echo "Usage: search_file <search_term> [<file>]"; '
        'echo "Error: File name $file not found. Please provide a valid file name."; exit 1; fi\n'
        'file=$(realpath "$file")\n'
        'matches=$(grep -nH -- "$search_term" "$file")\n'
        'if [ -z "$matches" ]; then\n'
        'echo "No matches found for \\"$search_term\\" in $file"; exit 0; fi\n'
        "num_matches=$(printf '%s\\n' \"$matches\" | wc -l | awk '{$1=$1; print $0}')\n"
        "num_lines=$(printf '%s\\n' \"$matches\" | cut -d: -f2 | sort | uniq | wc -l "
        "| awk '{$1=$1; print $0}')\n"
        'if [ "$num_lines" -gt 100 ]; then echo "More than $num_lines lines matched for '
        '\\"$search_term\\" in $file. Please narrow your search."; exit 0; fi\n'
        'echo "Found $num_matches matches for \\"$search_term\\" in $file:"\n'
        "printf '%s\\n' \"$matches\" | cut -d: -f2- | sed -E 's/^([0-9]+):/Line \\1:/'\n"
        'echo "End of matches for \\"$search_term\\" in $file"'
    )
