"""The tool ledger: the facts of a trajectory, as the tool record shows them.

Every judge starts here. :func:`build_ledger` walks the messages of a full trajectory and lists
each tool call with where its result came from (provenance), its exit code and duration, and
what kind of call it was (a test run, a search, a fetch, a read, an edit, a write, a git
operation, a destructive command, another shell command, or something else), with the test
outcome parsed from the output of test runs. On top of the calls it keeps the files changed,
the tests run, the searches made, the URLs fetched, the git operations, the destructive
commands, and the final state (the last test run's outcome, the files left changed).

Logged tool names are read as the agents logged them (``bash``, ``Bash``, ``execute_bash``,
Codex ``shell`` with an argv list, ``str_replace_editor``, Claude Code ``Edit``/``Write``/
``Read``/``Grep``/``Glob``/``WebSearch``/``WebFetch``, SWE-agent ``open``/``create``/
``find_file``, Codex ``apply_patch``, inspect's ``python``, ...) by the vocabulary that replay
uses too (:func:`understudy.tools.adapters.describe_call`), so both agree on what a call did; a
name the vocabulary does not know is guessed from its words.

Message indices are indices into the list given to :func:`build_ledger` (for a rollout, the
full trajectory ``session.messages[:cut] + rollout.messages``).
"""

from understudy.judges.ledger.building import build_ledger, ledger_for
from understudy.judges.ledger.models import (
    CLASSIFICATIONS,
    Classification,
    DestructiveOp,
    FileChange,
    FinalState,
    Ledger,
    LedgerCall,
)
from understudy.judges.ledger.results import result_text
from understudy.judges.testoutput import TestOutcome
from understudy.tools.adapters.facts import EditDiff

__all__ = [
    "CLASSIFICATIONS",
    "Classification",
    "DestructiveOp",
    "EditDiff",
    "FileChange",
    "FinalState",
    "Ledger",
    "LedgerCall",
    "TestOutcome",
    "build_ledger",
    "ledger_for",
    "result_text",
]
