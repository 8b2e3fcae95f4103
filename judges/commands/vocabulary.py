"""The words a judge recognises in a command: which programs read, search, fetch, send, change
files or run code, and which device paths are disks (and which are harmless).

The device patterns live here because both the files-written reading
(:mod:`~understudy.judges.commands.effects`) and the destructive-operations reading
(:mod:`~understudy.judges.commands.destructive`) use them.
"""

from __future__ import annotations

import re


def word_set(words: str) -> frozenset[str]:
    """The words of a space-separated list, as a set."""
    return frozenset(words.split())


DISK_DEVICE = re.compile(r"^/dev/(sd|hd|nvme|disk|mmcblk|xvd|vd|rdisk|md|dm-|mapper/)")
"""Device paths of disks and partitions (writing to one destroys what it holds)."""
HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"})
"""Devices a command writes to without writing a file."""

DB_CLIENTS = word_set(
    "psql mysql mariadb sqlite3 sqlite mongo mongosh sqlcmd duckdb clickhouse-client "
    "cockroach redis-cli"
)
READ_PROGRAMS = word_set(
    "cat head tail less more bat batcat nl ls ll tree stat file wc diff cmp xxd od "
    "hexdump strings jq yq pydoc pydoc3 man readlink realpath du awk gawk column view"
)
SEARCH_PROGRAMS = frozenset(
    {"grep", "egrep", "fgrep", "rg", "ag", "ack", "fd", "fdfind", "find", "locate", "ripgrep"}
)
FETCH_PROGRAMS = frozenset({"curl", "wget", "http", "https", "httpie", "aria2c", "lynx", "w3m"})
SEND_PROGRAMS = word_set(
    "curl wget http https httpie nc ncat netcat socat scp rsync sftp ftp telnet ssh aws "
    "gsutil rclone"
)
INERT_PROGRAMS = word_set(
    "echo printf pwd cd pushd popd which type whereis whoami id uname hostname date true "
    "false : sleep test [ [[ env printenv export set unset source . sort uniq cut tr "
    "basename dirname seq expr bc df free ps top history clear exit return wait jobs read "
    "tee"
)
MUTATING_PROGRAMS = word_set(
    "rm rmdir mv cp touch mkdir ln chmod chown chgrp patch apply_patch applypatch "
    "truncate install unzip tar dd shred rsync pip pip3 uv npm yarn pnpm apt apt-get brew "
    "cargo go make mkfs dropdb createdb"
)
GIT_READ_SUBCOMMANDS = word_set(
    "status log diff show blame grep ls-files ls-tree rev-parse describe shortlog reflog "
    "cat-file whatchanged help --version version"
)
EXECUTING_PROGRAMS = word_set(
    "node deno bun ruby perl php java go cargo rustc gcc g++ clang make npm yarn pnpm "
    "ts-node tsx tsc dotnet Rscript julia lua swift kotlin scala mvn gradle docker"
)
"""Programs that run code (a claim of having executed something can rest on them)."""
