"""Stopping everything a timed-out command started, wherever it went.

Killing a command's process group is not enough: ``setsid``, ``nohup ... &`` and double-forked
daemons leave the group, and a fork bomb outruns any one-pass kill. So every command records
*marks* just before it runs, in a file: the pid of what runs it (an exec, or a persistent
shell), the time in clock ticks since boot, and the pids that existed then. On timeout, the
processes that were not there before are the command's strays.

- **docker** (:data:`SWEEP`): the whole container is searched. Spared are PID 1 (the
  keep-alive), the shell named by the caller, whatever the command's marks say predates it (the
  background jobs an earlier command started on purpose), and the sessions of every other
  command running at the time: each exec is a session leader, and its marks file in the same
  directory names it. The strays are stopped with SIGSTOP until a pass finds none left running
  (a stopped process cannot fork), then killed. The script uses shell builtins only: a command
  that used up the pids limit leaves no pid to fork with.
- **local** (:func:`stop_tree`): this machine's other processes are not the sandbox's to kill,
  so the search stays in the command's session and below the processes in it (parent links).
  A daemon whose parent has already exited is re-parented out of reach and survives.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

MARKS_SUFFIX = ".pid"
"""Marks files are ``<dir>/understudy-*.pid``; the sweep reads the others in the directory."""
MAX_ROUNDS = 50
"""Passes of SIGSTOP before the kill; each pass stops what the previous one missed."""

# $1 is the marks file of the timed-out command, $2 a pid to spare (its shell) or 0. Exits 1 if
# there are no marks (yet); otherwise carries on after the kill, for what a caller appends. The
# marks are "runner-pid ticks pid pid ...". /proc/PID/stat is "pid (comm) state ppid pgrp
# session ... starttime(22nd) ..."; comm may hold spaces and parentheses, so the fields are
# taken after the last ") ", with the signal kept in front: $2 state, $5 session, ${21} start.
SWEEP = r"""
exec 2>/dev/null
marks=$1 keep=" 1 $$ ${2:-0} "
read -r runner ticks before < "$marks" || exit 1
before=" $before " others=" "
for file in "${marks%/*}"/understudy-*.pid; do
  [ "$file" = "$marks" ] && continue
  read -r pid rest < "$file" && others="$others$pid "
done
sweep() {
  hit=
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    case $keep in *" $pid "*) continue ;; esac
    read -r stat < "$dir/stat" || continue
    set -- "$1" ${stat##*) }
    [ "$5" = "$$" ] && continue
    case $others in *" $5 "*) continue ;; esac
    case $before in *" $pid "*) [ "${21}" -le "$ticks" ] && continue ;; esac
    case $2 in Z|X|x) continue ;; T|t) [ "$1" = STOP ] && continue ;; esac
    kill -"$1" "$pid" && hit=1
  done
}
round=0
while [ "$round" -lt __ROUNDS__ ]; do
  sweep STOP
  [ -z "$hit" ] && break
  round=$((round + 1))
done
sweep KILL
""".replace("__ROUNDS__", str(MAX_ROUNDS))

# The marks, written by the POSIX shell that is about to run a command (an exec's wrapper): $$
# is its pid. /proc/uptime is "seconds.hundredths ..." and a clock tick is a hundredth of a
# second (USER_HZ), so dropping the dot gives ticks. Read after the listing: whatever is listed
# started no later than that.
MARK_SH = (
    'b=; for d in /proc/[0-9]*; do b="$b ${d#/proc/}"; done; '
    'read -r up rest < /proc/uptime; echo "$$ ${up%.*}${up#*.}$b" > "$0"'
)

# The same for bash, as a function of the persistent shells (``local -`` restores a ``set -f``
# a command may have left on). $1 is the marks file.
MARK_BASH = r"""
__us_mark() {
  local - IFS=' ' __us_p __us_up __us_rest __us_b=
  set +f
  for __us_p in /proc/[0-9]*; do __us_b+=" ${__us_p#/proc/}"; done
  builtin read -r __us_up __us_rest </proc/uptime
  builtin printf '%s %s%s\n' "$$" "${__us_up/./}" "$__us_b" >"$1"
}
"""


@dataclass(frozen=True)
class Marks:
    """What a marks file says."""

    runner: int
    ticks: int
    before: frozenset[int]

    @classmethod
    def read(cls, path: Path) -> Marks | None:
        """The marks in ``path``, or None if it is missing or garbled."""
        try:
            fields = path.read_text().split()
            return cls(int(fields[0]), int(fields[1]), frozenset(map(int, fields[2:])))
        except (OSError, ValueError, IndexError):
            return None

    def predates(self, pid: int, started: int) -> bool:
        """Whether ``pid`` (started at ``started`` ticks) ran before the command."""
        return pid in self.before and started <= self.ticks


@dataclass(frozen=True)
class _Proc:
    ppid: int
    session: int
    state: str
    started: int


def _processes() -> dict[int, _Proc]:
    """The processes of this machine's /proc (what this process may see)."""
    found: dict[int, _Proc] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = stat.rsplit(") ", 1)[1].split()
        found[int(entry.name)] = _Proc(int(fields[1]), int(fields[3]), fields[0], int(fields[19]))
    return found


def _strays(leader: int, keep: frozenset[int], marks: Marks | None) -> dict[int, _Proc]:
    """The processes in ``leader``'s session and below them, less the kept and the older."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, proc in procs.items():
        children.setdefault(proc.ppid, []).append(pid)
    pending = [pid for pid, proc in procs.items() if proc.session == leader or pid == leader]
    tree: set[int] = set()
    while pending:
        pid = pending.pop()
        if pid not in tree:
            tree.add(pid)
            pending.extend(children.get(pid, []))
    spared = keep | {os.getpid()}
    return {
        pid: procs[pid]
        for pid in tree
        if pid not in spared
        and procs[pid].state not in "ZXx"
        and not (marks is not None and marks.predates(pid, procs[pid].started))
    }


def _signal(pid: int, sig: signal.Signals) -> bool:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
        return True
    return False


def stop_tree(leader: int, keep: frozenset[int] = frozenset(), marks: Marks | None = None) -> None:
    """Kill the processes of ``leader``'s session and their descendants (blocking), except
    ``keep`` and what ``marks`` says ran before the command; SIGSTOP first, until none of them
    runs, so that none can fork meanwhile. Without /proc, only the process group is killed."""
    if not Path("/proc/self/stat").exists():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, signal.SIGKILL)
        return
    for _ in range(MAX_ROUNDS):
        strays = _strays(leader, keep, marks)
        running = [pid for pid, proc in strays.items() if proc.state not in "Tt"]
        if not any([_signal(pid, signal.SIGSTOP) for pid in running]):
            break
    for pid in _strays(leader, keep, marks):
        _signal(pid, signal.SIGKILL)
