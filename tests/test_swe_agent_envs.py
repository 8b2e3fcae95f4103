"""The environments of SWE-agent logs that say little about them: the version whose tools made
the observations, the repository at ``/owner__name``, the install the harness or the log ran,
and ``HEAD`` found far back in a long history.

The two demonstrations in tests/data/trajectories/swe-agent (``demo-*``) are SWE-agent's own:
one recorded by 0.x and later given a 1.x ``replay_config``, one a bare ``history`` of 1.x
function calls. The marshmallow bundle in ../shared holds the repository behind them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import git
import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.replay.env_resolution import resolve_env
from understudy.replay.env_rows import EnvRow
from understudy.replay.importers import import_paths
from understudy.replay.logged_installs import logged_pip_install
from understudy.replay.tree_evidence import tree_evidence
from understudy.replay.workspace import log_workspace
from understudy.sandbox.head_commit import History
from understudy.sandbox.repo_source import parse_mirror_rules
from understudy.trajectory import EnvSpec, Message, Session, SourceInfo, ToolCall

ROOT = Path(__file__).resolve().parents[1]
SWE_AGENT_DATA = ROOT / "tests" / "data" / "trajectories" / "swe-agent"
DEMOS = sorted(SWE_AGENT_DATA.glob("demo-*.traj"))
SHARED = ROOT.parent / "shared"
SWE_AGENT_LOGS = SHARED / "trajectories" / "swe-agent"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")
RESAVED = "marshmallow-code__marshmallow-1867"
SIMPLE = "demo-function-calling-simple"
BASE_1867 = "bfd2593d4b416122e30cdefe0c72d322ef471611"


def demos() -> dict[str, Session]:
    return {session.id: session for _, session in import_paths(DEMOS)}


def shared_session(name: str) -> Session:
    ((_, session),) = import_paths([SWE_AGENT_LOGS / name])
    return session


# -- what the importer reads ------------------------------------------------------------------


def test_a_0x_history_in_a_1x_file_is_read_as_0x() -> None:
    session = demos()[RESAVED]
    assert session.source.version == "0.x (legacy)"  # its observations are 0.x's
    assert session.source.instance_id == RESAVED
    assert session.env.workdir == "/marshmallow-code__marshmallow"


def test_a_history_alone_of_function_calls_is_1x_at_the_directory_its_footer_shows() -> None:
    session = demos()[SIMPLE]
    assert session.source.version == "1.x"  # its submit shows the state footer, as 1.0.0's
    assert session.env.workdir == "/SWE-agent__test-repo"
    assert session.env.repo is not None
    assert (session.env.repo.url, session.env.repo.commit) == (
        "https://github.com/SWE-agent/test-repo",
        "HEAD",
    )


@needs_shared
def test_a_0x_log_naming_nothing_works_in_the_repository_of_its_directory() -> None:
    session = shared_session("marshmallow-1867-legacy-from-source.traj")
    assert session.env.repo is not None
    assert session.env.repo.url == "https://github.com/marshmallow-code/marshmallow"


# -- installs ---------------------------------------------------------------------------------


def test_a_swe_bench_row_installs_as_the_harness_did() -> None:
    row = EnvRow.model_validate(
        {"instance_id": RESAVED, "repo": "marshmallow-code/marshmallow", "base_commit": "abc"}
    )
    assert row.applied_to(EnvSpec()).pip_install == ["-e", ".[dev]"]
    own = row.model_copy(update={"pip_install": ["."]})
    assert own.applied_to(EnvSpec()).pip_install == ["."]  # the row's own wins
    unknown = EnvRow.model_validate({"instance_id": "x", "repo": "a/b", "base_commit": "abc"})
    assert unknown.applied_to(EnvSpec()).pip_install == []


def bash_session(*steps: tuple[str, str]) -> Session:
    messages = [Message(role="user", content="go")]
    for number, (command, shown) in enumerate(steps):
        call = ToolCall(id=f"c{number}", name="bash", arguments={"command": command})
        messages += [
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id=call.id, name="bash", content=shown),
        ]
    return Session(
        id="s", source=SourceInfo(format="swe-agent", agent="swe-agent"), messages=messages
    )


def test_the_first_pip_install_that_worked_is_the_logs_own_install() -> None:
    failed = ("pip install -e .", "ERROR: Could not find a version that satisfies requirement")
    done = ("pip install -q -e .[dev] --upgrade", "Successfully installed marshmallow-3.13.0")
    assert logged_pip_install(bash_session(failed, done)) == (["-e", ".[dev]"], 3)
    python_m = ("python -m pip install -r requirements.txt", "Successfully installed six")
    assert logged_pip_install(bash_session(python_m)) == (["-r", "requirements.txt"], 1)
    assert logged_pip_install(bash_session(("pip list", "six 1.0"))) is None


@needs_shared
def test_the_legacy_marshmallow_log_gets_its_own_install_and_its_base_commit(
    tmp_path: Path,
) -> None:
    session = shared_session("marshmallow-1867-legacy-from-source.traj")
    bundle = SHARED / "repos" / "marshmallow-code__marshmallow.bundle"
    mirror = f"https://github.com/{{owner}}/{{name}}={SHARED / 'repos'}/{{owner}}__{{name}}.bundle"
    resolved, record = resolve_env(session, parse_mirror_rules([mirror]), "auto")
    assert resolved.env.pip_install == ["-e", ".[dev]"]
    assert record["pip_install_from"].startswith("the log's own pip install")
    # Its HEAD is 390 commits behind the bundle's: found through the changes of the files
    # the log reads after its first change (setup.py and src/marshmallow/fields.py).
    assert record["commit"] == BASE_1867 and record["chosen_by"] == "log_consistency"
    assert set(tree_evidence(session).files) == {"setup.py", "src/marshmallow/fields.py"}
    history = History(str(bundle))
    try:
        newest = str(history.repo.git.rev_list("--max-count=200", "HEAD")).split()
    finally:
        history.close()
    assert BASE_1867 not in newest


def test_the_history_search_finds_a_commit_before_the_newest_ones(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "repo")
    path = Path(repo.working_tree_dir or "") / "app.py"
    with repo.config_writer() as config:
        config.set_value("user", "name", "t").set_value("user", "email", "t@localhost")
    path.write_text("version = 1\n")
    repo.index.add(["app.py"])
    base = repo.index.commit("base").hexsha
    path.write_text("version = 2\n")
    repo.index.add(["app.py"])
    repo.index.commit("change")
    for number in range(5):
        (path.parent / "notes.txt").write_text(f"{number}\n")
        repo.index.add(["notes.txt"])
        repo.index.commit(f"notes {number}")
    session = bash_session(("cat app.py", "version = 1\n"))
    session = session.model_copy(update={"env": EnvSpec(workdir="/repo")})
    evidence = tree_evidence(session)
    history = History(str(repo.working_tree_dir))
    try:
        assert history.most_consistent(evidence, limit=3) == base
    finally:
        history.close()


# -- log workspaces of SWE-agent logs ---------------------------------------------------------


def test_a_viewer_window_that_holds_the_whole_file_is_the_file() -> None:
    shown = (
        "[File: /repo/app.py (2 lines total)]\n1:x = 1\n2:y = 2\n"
        "(Open file: /repo/app.py)\n(Current directory: /repo)\nbash-$"
    )
    call = ToolCall(id="c0", name="open", arguments={"path": "app.py"})
    session = Session(
        id="s",
        source=SourceInfo(format="swe-agent", agent="swe-agent", version="0.x (legacy)"),
        env=EnvSpec(workdir="/repo"),
        messages=[
            Message(role="user", content="go"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id="c0", name="open", content=shown),
        ],
    )
    files, coverage = log_workspace(session)
    assert coverage.full == ["/repo/app.py"]
    assert [f.content for f in files if not f.directory] == ["x = 1\ny = 2\n"]


# -- replayed -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there")
    sessions = tmp_path_factory.mktemp("demos") / "demos.jsonl"
    runner = CliRunner()
    command = ["import", "auto", *map(str, DEMOS), "-o", str(sessions)]
    assert runner.invoke(app, command).exit_code == 0
    mirror = f"https://github.com/{{owner}}/{{name}}={SHARED / 'repos'}/{{owner}}__{{name}}.bundle"
    done = runner.invoke(
        app,
        [
            "fidelity",
            str(sessions),
            "--envs",
            str(SHARED / "envs" / "swe-bench-style.jsonl"),
            "--repo-mirror",
            mirror,
            "--allow-base-image",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    result: dict[str, Any] = json.loads(done.stdout)
    return {session["session_id"]: session for session in result["sessions"]}


@pytest.mark.docker
@pytest.mark.slow
def test_the_resaved_0x_demonstration_reproduces_with_the_published_row(
    measured: dict[str, Any],
) -> None:
    session = measured[RESAVED]
    assert (session["compared"], session["matched"]) == (11, 11), session["mismatches"]
    assert session["env"]["commit"] == BASE_1867
    assert session["env"]["pip_install"] == ["-e", ".[dev]"]
    assert session["env"]["row"]["pip_install_from"].startswith("the SWE-bench harness")


@pytest.mark.docker
@pytest.mark.slow
def test_the_bare_history_demonstration_finds_its_repository(measured: dict[str, Any]) -> None:
    session = measured[SIMPLE]
    assert session["env"]["chosen_by"] == "log_consistency"
    assert (session["compared"], session["matched"]) == (5, 5), session["mismatches"]


def test_a_logged_diff_names_the_blob_the_session_started_from(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "repo")
    path = Path(repo.working_tree_dir or "") / "app.py"
    with repo.config_writer() as config:
        config.set_value("user", "name", "t").set_value("user", "email", "t@localhost")
    commits = []
    for version in range(3):
        path.write_text(f"version = {version}\n")
        repo.index.add(["app.py"])
        commits.append(repo.index.commit(f"v{version}").hexsha)
    before = repo.git.rev_parse(f"{commits[1]}:app.py")[:7]
    diff = f"diff --git a/app.py b/app.py\nindex {before}..1234567 100644\n--- a/app.py\n"
    session = bash_session(("echo x > app.py", ""), ("git diff", diff))
    evidence = tree_evidence(session)
    assert evidence.blobs == {"app.py": before}
    history = History(str(repo.working_tree_dir))
    try:
        assert history.most_consistent(evidence) == commits[1]
    finally:
        history.close()
