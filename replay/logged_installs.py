"""The ``pip install`` a session ran itself, as the install of its environment.

Sessions often install their repository before they start (SWE-agent's ``install_from_source``
demonstrations run ``pip install -e .[dev]`` first). A replay has no network, so that command
cannot do again live what it did then, and every later ``python`` run would fail to import the
project. When a session that works in a repository sets no ``pip_install`` of its own (no
``--envs`` row gives one), the first ``pip install`` its log shows succeeding in the working
directory becomes it: built into the environment like any ``pip_install``
(:mod:`understudy.sandbox.dependencies`), and recorded as ``pip_install_from``. The logged call
itself is still re-executed, and its output (pip's progress, "Successfully installed") still
differs from the recording.

Only what both ``pip wheel`` and ``pip install`` take is kept: requirement operands, ``-e`` /
``--editable`` and ``-r`` / ``--requirement`` with their values; other options (``-q``,
``--upgrade``, ``--user``, an index URL) are dropped.
"""

from __future__ import annotations

from understudy.tools.adapters import describe_call, logged_output
from understudy.tools.shell_words import simple_commands
from understudy.trajectory import Session

__all__ = ["logged_pip_install"]

PIP_FAILED = ("ERROR:", "error:", "No matching distribution", "command not found")
"""Output of a ``pip install`` that did not install."""
_VALUED = frozenset({"-e", "--editable", "-r", "--requirement", "-c", "--constraint"})


def logged_pip_install(session: Session) -> tuple[list[str], int] | None:
    """The arguments of the first ``pip install`` the log shows succeeding, and the index of
    its call's message; None when it shows none."""
    agent = session.source.agent or session.source.format
    for index, call, result in session.answered_calls():
        facts = describe_call(call.name, call.arguments, agent)
        if facts is None or not facts.script or result.is_error:
            continue
        output = logged_output(call.name, call.arguments, result.content, agent) or ""
        if any(sign in output for sign in PIP_FAILED):
            continue
        for words in simple_commands(facts.script) or []:
            arguments = _install_arguments(words)
            if arguments:
                return arguments, index
    return None


def _install_arguments(words: list[str]) -> list[str] | None:
    """The requirements of ``pip install ...`` (also ``pip3``, ``python -m pip``), or None."""
    if words[:1] in (["pip"], ["pip3"]):
        rest = words[1:]
    elif len(words) > 2 and words[0].startswith("python") and words[1:3] == ["-m", "pip"]:
        rest = words[3:]
    else:
        return None
    if rest[:1] != ["install"]:
        return None
    kept: list[str] = []
    operands = iter(rest[1:])
    for word in operands:
        if word in _VALUED:
            kept += [word, next(operands, "")]
        elif not word.startswith("-"):
            kept.append(word)
    return kept if kept and "" not in kept else None
