"""Where a session's code lives: ``--envs`` rows, ``--repo-mirror`` rules, ``HEAD`` resolved,
instance ids found by the importers, and sessions that cannot be built told what to pass."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import ConfigError, EnvBuildError
from understudy.jsonl import read_models, write_models
from understudy.replay.env_resolution import resolve_env
from understudy.replay.env_rows import load_env_rows
from understudy.replay.importers import import_paths
from understudy.replay.importers.instance_ids import instance_from_image, instance_from_path
from understudy.replay.rundir import RunDir
from understudy.replay.tree_evidence import tree_evidence
from understudy.sandbox import images, labels
from understudy.sandbox.engine import docker_client
from understudy.sandbox.head_commit import History, TreeEvidence
from understudy.sandbox.repo_source import apply_mirrors, normalise_url, parse_mirror_rules
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SWE_AGENT = SHARED / "trajectories" / "swe-agent"
BUNDLES = SHARED / "repos"
BUNDLE_MIRROR = f"https://github.com/{{owner}}/{{name}}={BUNDLES}/{{owner}}__{{name}}.bundle"
MARSHMALLOW_COMMIT = "bfd2593d4b416122e30cdefe0c72d322ef471611"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")


def load_sessions(path: Path) -> list[Session]:
    return [imported for _, imported in import_paths([path])]


def session(sid: str, instance_id: str | None = None, **env: object) -> Session:
    return Session(
        id=sid,
        source=SourceInfo(format="native", instance_id=instance_id),
        env=EnvSpec.model_validate(env),
    )


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# -- rows -----------------------------------------------------------------------------------


def test_rows_match_by_session_then_instance_then_the_first_glob(tmp_path: Path) -> None:
    rows = load_env_rows(
        write_rows(
            tmp_path / "envs.jsonl",
            [
                {"match": "legacy-*", "repo": "SWE-agent/test-repo", "commit": "HEAD"},
                {"match": "*", "image": "python:3.12"},
                {"instance_id": "o__n-1", "path": "/srv/git/n", "commit": "abc", "setup": ["x"]},
                {"session": "legacy-one", "repo": "git@host:o/n.git", "workdir": "/repo"},
            ],
        )
    )
    by_glob, by_instance, by_id, by_own_id, anything = rows.apply(
        [
            session("legacy-two"),
            session("s1", instance_id="o__n-1"),
            session("legacy-one"),
            session("o__n-1"),
            session("other", image="mine"),
        ]
    )
    assert by_glob.env.repo == RepoSpec(url="https://github.com/SWE-agent/test-repo", commit="HEAD")
    assert by_glob.meta["env_row"] == {
        "file": str(tmp_path / "envs.jsonl"),
        "line": 1,
        "by": "match",
        "match": "legacy-*",
    }
    assert by_instance.env.repo == RepoSpec(path="/srv/git/n", commit="abc")
    assert by_instance.env.setup == ["x"]
    assert by_instance.meta["env_row"]["by"] == "instance_id"
    assert by_own_id.meta["env_row"]["line"] == 3
    assert by_id.env.repo == RepoSpec(url="git@host:o/n.git")
    assert by_id.env.workdir == "/repo"
    assert by_id.meta["env_row"]["by"] == "session"
    assert anything.env.image == "python:3.12"


def test_swe_bench_rows_are_taken_as_they_are(tmp_path: Path) -> None:
    row = {
        "instance_id": "marshmallow-code__marshmallow-1867",
        "repo": "marshmallow-code/marshmallow",
        "base_commit": MARSHMALLOW_COMMIT,
        "version": "3.12",
        "environment_setup_commit": "b" * 40,
        "problem_statement": "TimeDelta rounds",
        "patch": "diff ...",
        "FAIL_TO_PASS": ["t"],
        "created_at": "2021-06-10T00:00:00Z",
    }
    rows = load_env_rows(write_rows(tmp_path / "swe.jsonl", [row]))
    (applied,) = rows.apply([session("s", instance_id="marshmallow-code__marshmallow-1867")])
    assert applied.env.repo == RepoSpec(
        url="https://github.com/marshmallow-code/marshmallow", commit=MARSHMALLOW_COMMIT
    )
    assert applied.meta["env_row"]["version"] == "3.12"


def test_a_row_with_only_a_commit_pins_the_sessions_own_repository(tmp_path: Path) -> None:
    rows = load_env_rows(write_rows(tmp_path / "e.jsonl", [{"session": "s", "commit": "c0ffee"}]))
    (applied,) = rows.apply([session("s", repo={"url": "https://x/o/n", "commit": "HEAD"})])
    assert applied.env.repo == RepoSpec(url="https://x/o/n", commit="c0ffee")


def test_json_and_yaml_rows_carry_their_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text('[\n  {"session": "a"},\n  {"session": "b", "repo": 3}\n]\n')
    with pytest.raises(ConfigError, match=r"e\.json:3: field 'repo'"):
        load_env_rows(tmp_path / "e.json")
    (tmp_path / "e.yaml").write_text("- session: a\n  repo: o/n\n- match: 'b*'\n  colour: red\n")
    with pytest.raises(ConfigError, match=r"e\.yaml:3: field 'colour' is not a row field"):
        load_env_rows(tmp_path / "e.yaml")
    (tmp_path / "ok.yaml").write_text("- session: a\n  repo: o/n\n  commit: HEAD\n")
    ((line, row),) = load_env_rows(tmp_path / "ok.yaml").rows
    assert (line, row.repo, row.commit) == (1, "o/n", "HEAD")


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([{"repo": "o/n"}], r"e\.jsonl:1: .*needs session, instance_id or match"),
        ([{"session": "a"}, {"sesion": "b"}], r"e\.jsonl:2: field 'sesion' is not a row field"),
        ([{"session": "a", "workdir": "repo"}], r"e\.jsonl:1: .*must be an absolute path"),
        ([{"session": "a", "setup": "make"}], r"e\.jsonl:1: field 'setup'"),
        (
            [{"session": "a"}, {"session": "a"}],
            r"e\.jsonl:2: session 'a' has a row already at line 1",
        ),
        ([["a"]], r"e\.jsonl:1: a row must be an object"),
    ],
)
def test_bad_rows_name_the_file_line_and_field(
    tmp_path: Path, rows: list[object], error: str
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(ConfigError, match=error):
        load_env_rows(path)


def test_a_row_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text('{"session": "a"}\n{"session": \n')
    with pytest.raises(ConfigError, match=r"e\.jsonl:2: not JSON"):
        load_env_rows(tmp_path / "e.jsonl")


# -- mirrors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/n",
        "https://github.com/o/n/",
        "https://github.com/o/n.git",
        "git@github.com:o/n.git",
        "ssh://git@github.com/o/n",
        "ssh://git@github.com:22/o/n.git/",
        "git://github.com/o/n",
    ],
)
def test_url_forms_are_normalised_before_mirroring(url: str) -> None:
    assert normalise_url(url) == "https://github.com/o/n"
    for written in ("https://github.com/{owner}/{name}", "git@github.com:{owner}/{name}.git/"):
        template = parse_mirror_rules([f"{written}=/srv/git/{{owner}}+{{name}}"])
        assert apply_mirrors(url, template)[0] == "/srv/git/o+n"
    prefix = parse_mirror_rules(["https://github.com/=/srv/git/"])
    assert apply_mirrors(url, prefix)[0] == "/srv/git/o/n"


def test_the_first_matching_rule_wins_and_others_pass_through() -> None:
    rules = parse_mirror_rules(
        [
            "https://gitlab.com/{owner}/{name}=/gl/{name}",
            "https://github.com/SWE-agent/=/mirror/swe/",
            "https://{host}/{owner}/{name}=/all/{host}/{owner}/{name}.git",
        ]
    )
    assert apply_mirrors("https://github.com/SWE-agent/test-repo", rules)[0] == (
        "/mirror/swe/test-repo"
    )
    target, rule = apply_mirrors("git@gitlab.com:g/p.git", rules)
    assert (target, rule and rule.given) == (
        "/gl/p",
        "https://gitlab.com/{owner}/{name}=/gl/{name}",
    )
    assert apply_mirrors("https://bitbucket.org/a/b", rules)[0] == "/all/bitbucket.org/a/b.git"
    assert apply_mirrors("/local/repo", rules) == ("/local/repo", None)


@pytest.mark.parametrize(
    ("value", "error"),
    [("/srv/git", "give URL=PATH"), ("https://h/{org}/{name}=/x/{org}", "unknown field")],
)
def test_bad_mirror_rules_say_how_to_write_one(value: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_mirror_rules([value])


# -- HEAD ---------------------------------------------------------------------------------------


def git(repo: Path, *args: str, when: str = "2024-01-01T00:00:00+00:00") -> str:
    environment = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=environment
    )
    return done.stdout.strip()


@pytest.fixture
def history_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A repository whose ``app.py`` changes in each of four commits, a month apart."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for month in range(1, 5):
        (repo / "app.py").write_text(f"VERSION = {month}\n\n\ndef main():\n    return {month}\n")
        if month >= 3:
            (repo / "extra.py").write_text("pass\n")
        when = f"2024-0{month}-01T12:00:00+00:00"
        git(repo, "add", ".", when=when)
        git(repo, "commit", "-qm", f"v{month}", when=when)
        commits.append(git(repo, "rev-parse", "HEAD"))
    return repo, commits


def reading_session(
    repo: Path, shown: str, listing: str, when: datetime | None = None, edit_first: bool = False
) -> Session:
    """A SWE-agent-like session that lists the repository and opens app.py."""
    calls = [
        ToolCall(id="ls", name="bash", arguments={"command": "ls"}),
        ToolCall(id="open", name="open", arguments={"path": "/repo/app.py"}),
    ]
    if edit_first:
        calls.insert(0, ToolCall(id="w", name="create", arguments={"filename": "app.py"}))
    results = {"ls": listing, "open": shown, "w": "[File: app.py (1 lines total)]"}
    messages = [Message(role="user", content="fix it", timestamp=when)]
    for call in calls:
        messages.append(Message(role="assistant", content="", tool_calls=[call]))
        messages.append(Message(role="tool", tool_call_id=call.id, content=results[call.id]))
    return Session(
        id="head",
        source=SourceInfo(format="swe-agent", agent="swe-agent"),
        env=EnvSpec(repo=RepoSpec(url=str(repo), commit="HEAD"), workdir="/repo"),
        messages=messages,
    )


def test_head_is_the_last_commit_before_the_session_started(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    started = datetime(2024, 2, 15, tzinfo=UTC)
    resolved, record = resolve_env(reading_session(repo, "", "", when=started), [])
    assert record["commit"] == commits[1]
    assert record["chosen_by"] == "session_time"
    assert resolved.env.repo is not None and resolved.env.repo.commit == commits[1]


def test_without_a_time_head_is_the_commit_the_log_agrees_with(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    shown = "[File: /repo/app.py (5 lines total)]\r\n1:VERSION = 2\r\n2:\r\n3:\r\n4:def main():"
    _, record = resolve_env(reading_session(repo, shown, "app.py\n(Open file: n/a)"), [])
    assert (record["commit"], record["chosen_by"]) == (commits[1], "log_consistency")
    # The listing shows extra.py, which came in the third commit; the content says 3.
    shown_three = shown.replace("VERSION = 2", "VERSION = 3")
    _, record = resolve_env(reading_session(repo, shown_three, "app.py  extra.py"), [])
    assert record["commit"] == commits[2]


def test_what_the_log_shows_after_a_write_is_not_evidence(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    shown = "1:VERSION = 1"
    _, record = resolve_env(reading_session(repo, shown, "app.py", edit_first=True), [])
    assert (record["commit"], record["chosen_by"]) == (commits[-1], "newest")


def test_the_search_reaches_back_through_the_changes_of_the_files_shown(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    history = History(str(repo))
    try:
        evidence = TreeEvidence(files={"app.py": [(1, "VERSION = 1")]})
        assert history.most_consistent(evidence) == commits[0]
        # Past the newest commit, through the commits that changed app.py.
        assert history.most_consistent(evidence, limit=1) == commits[0]
        # Names alone are looked for among the newest commits only; on a tie, the newest.
        names = TreeEvidence(names={"extra.py"})
        assert history.most_consistent(names, limit=2) == commits[-1]
        assert history.most_consistent(TreeEvidence(names={"app.py"}), limit=1) == commits[-1]
    finally:
        history.close()


def test_a_search_result_is_every_match_so_extra_matches_disagree(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    call = ToolCall(id="f", name="find_file", arguments={"file_name": "extra.py"})
    logged = Session(
        id="search",
        source=SourceInfo(format="swe-agent", agent="swe-agent"),
        env=EnvSpec(workdir="/repo"),
        messages=[
            Message(role="assistant", content="", tool_calls=[call]),
            Message(
                role="tool", tool_call_id="f", content='No matches found for "extra.py" in /repo'
            ),
        ],
    )
    evidence = tree_evidence(logged)
    assert evidence.searches == {("extra.py", "."): set()}
    history = History(str(repo))
    try:
        assert history.most_consistent(evidence) == commits[1]
        everything = TreeEvidence(searches={("*.py", "."): {"app.py", "extra.py"}})
        assert history.most_consistent(everything) == commits[-1]
    finally:
        history.close()


def test_a_commit_given_is_kept_and_the_url_is_mirrored(
    history_repo: tuple[Path, list[str]],
) -> None:
    repo, commits = history_repo
    logged = Session(
        id="s",
        source=SourceInfo(format="native"),
        env=EnvSpec(repo=RepoSpec(url="git@example.org:team/upstream.git", commit=commits[0])),
    )
    rules = parse_mirror_rules([f"https://example.org/{{owner}}/{{name}}={repo.parent}/{{name}}"])
    resolved, record = resolve_env(logged, rules)
    assert resolved.env.repo == RepoSpec(url=str(repo), commit=commits[0])
    assert record["chosen_by"] == "given"
    assert record["url"] == "git@example.org:team/upstream.git"


# -- sessions that cannot be built -----------------------------------------------------------


def test_a_repository_without_url_or_path_asks_for_envs() -> None:
    unnamed = session("cc", repo={"branch": "main"})
    with pytest.raises(EnvBuildError, match=r"session cc: .*only the branch 'main'.*--envs"):
        resolve_env(unnamed, [])


def test_a_clone_that_fails_asks_for_a_mirror(tmp_path: Path) -> None:
    unreachable = session("gone", repo={"url": str(tmp_path / "missing"), "commit": "HEAD"})
    with pytest.raises(EnvBuildError, match=r"session gone: cannot clone .*--repo-mirror"):
        resolve_env(unreachable, [])


def test_a_log_that_reads_files_it_was_not_given_asks_for_envs(tmp_path: Path) -> None:
    logged = reading_session(tmp_path, "1:VERSION = 1", "app.py")
    bare = logged.model_copy(update={"env": EnvSpec(workdir="/repo")})
    with pytest.raises(EnvBuildError, match=r"files already in /repo \(it shows app\.py\).*--envs"):
        resolve_env(bare, [])
    with_image = logged.model_copy(update={"env": EnvSpec(image="its-own", workdir="/repo")})
    assert resolve_env(with_image, [])[0] is with_image


# -- importers ----------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize(
    ("path", "instance_id"),
    [
        (
            SWE_AGENT / "marshmallow-1867-function-calling.traj",
            "marshmallow-code__marshmallow-1867",
        ),
        (SWE_AGENT / "sweagenttestrepo-1c2844.traj", "SWE-agent__test-repo-i1"),
        (SWE_AGENT / "legacy-test-repo-i1.traj", None),
        (
            SHARED / "trajectories" / "mini-swe-agent" / "django__django-11039.traj.json",
            "django__django-11039",
        ),
        (SHARED / "trajectories" / "inspect" / "log_message_deduplication.eval", "0"),
    ],
)
def test_importers_record_the_instance_the_log_ran(path: Path, instance_id: str | None) -> None:
    (imported, *_) = load_sessions(path)
    assert imported.source.instance_id == instance_id


def test_instance_ids_come_from_swe_bench_images_and_file_names() -> None:
    image = "swebench/sweb.eval.x86_64.marshmallow-code_1776_marshmallow-1867:latest"
    assert instance_from_image(image) == "marshmallow-code__marshmallow-1867"
    assert instance_from_image("python:3.12") is None
    assert instance_from_path("/x/replay__astropy__astropy-12907.traj") == "astropy__astropy-12907"
    assert instance_from_path("6e44b9__sweagenttestrepo-1c2844.traj") is None


@needs_shared
def test_the_swe_agent_test_repo_head_is_resolved_from_its_bundle() -> None:
    (imported,) = load_sessions(SWE_AGENT / "sweagenttestrepo-1c2844.traj")
    resolved, record = resolve_env(imported, parse_mirror_rules([BUNDLE_MIRROR]))
    assert record["source"] == str(BUNDLES / "SWE-agent__test-repo.bundle")
    assert record["chosen_by"] == "log_consistency"
    # find_file found one missing_colon.py: the newest commit before a second one was added.
    assert record["commit"] == "57e59d00a4906c9c68ee368842f047d00b90eec8"
    assert resolved.env.repo is not None and resolved.env.repo.commit == record["commit"]


# -- end to end ---------------------------------------------------------------------------------


@needs_shared
@pytest.mark.docker
@pytest.mark.slow
def test_fidelity_builds_marshmallow_at_the_rows_commit_from_the_bundle(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, load_sessions(SWE_AGENT / "marshmallow-1867-function-calling.traj"))
    args = ["fidelity", str(sessions_file), "--json", "--run-id", run_id, "--sandbox", "docker"]
    args += ["--allow-base-image", "--envs", str(SHARED / "envs" / "swe-bench-style.jsonl")]
    result = CliRunner().invoke(app, [*args, "--repo-mirror", BUNDLE_MIRROR])
    assert result.exit_code == 0, result.output
    (measured,) = json.loads(result.stdout[result.stdout.index("{") :])["sessions"]
    assert measured["error"] is None
    assert measured["env"]["commit"] == MARSHMALLOW_COMMIT
    assert measured["env"]["chosen_by"] == "given"
    assert measured["env"]["source"] == str(BUNDLES / "marshmallow-code__marshmallow.bundle")
    assert measured["env"]["row"]["by"] == "instance_id"
    # The listing and the `python reproduce.py` runs see the repository at that commit.
    assert measured["compared"] > 0 and measured["matched"] >= 3


@needs_shared
@pytest.mark.docker
@pytest.mark.slow
def test_a_session_without_a_workspace_is_reported_apart_with_what_to_pass(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, load_sessions(SWE_AGENT / "legacy-test-repo-i1.traj"))
    command = ["fidelity", str(sessions_file), "--json", "--run-id", run_id, "--sandbox", "docker"]
    result = CliRunner().invoke(app, [*command, "--workspace", "repo"])
    document = json.loads(result.stdout[result.stdout.index("{") :])
    assert document["overall"]["errors"] == 1 and document["overall"]["compared"] == 0
    assert "--envs" in document["sessions"][0]["error"]
    # By default its workspace is rebuilt from what the log shows instead.
    result = CliRunner().invoke(app, command)
    document = json.loads(result.stdout[result.stdout.index("{") :])
    assert document["overall"]["errors"] == 0
    assert document["sessions"][0]["env"]["source"] == "log"
    read_back = list(read_models(sessions_file, Session))
    assert read_back[0].source.instance_id is None


# -- the base image -------------------------------------------------------------------------------


def test_the_base_recipe_hash_follows_its_package_list(monkeypatch: pytest.MonkeyPatch) -> None:
    current = images.recipe_digest()
    monkeypatch.setattr(images, "BASE_PACKAGES", (*images.BASE_PACKAGES, "jq"))
    assert images.recipe_digest() != current
    assert "python-is-python3" in images.BASE_PACKAGES


@pytest.mark.docker
def test_the_base_image_has_python_and_the_current_recipe_label(base_image: str) -> None:
    image = docker_client().images.get(base_image)
    assert image.labels.get(labels.RECIPE) == images.recipe_digest()
    output = docker_client().containers.run(
        base_image, ["python", "--version"], remove=True, network_mode="none"
    )
    assert output.decode().startswith("Python 3")


@pytest.mark.docker
@pytest.mark.slow
def test_run_rollouts_record_the_row_and_the_commit_head_was_resolved_to(
    history_repo: tuple[Path, list[str]], tmp_path: Path, base_image: str, run_id: str
) -> None:
    repo, commits = history_repo
    call = ToolCall(id="c1", name="bash", arguments={"command": "cat app.py"})
    logged = Session(
        id="acme-1",
        source=SourceInfo(format="native"),
        env=EnvSpec(workdir="/repo"),
        messages=[
            Message(role="user", content="show", timestamp=datetime(2024, 2, 15, tzinfo=UTC)),
            Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", tool_call_id="c1", name="bash", content="VERSION = 2\n"),
            Message(role="assistant", content="Version 2."),
        ],
    )
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, [logged])
    envs = tmp_path / "envs.yaml"
    envs.write_text("- session: acme-1\n  repo: acme/upstream\n  commit: HEAD\n")
    output = tmp_path / "run"
    arguments = ["run", str(sessions_file), "--original", "-o", str(output), "--run-id", run_id]
    arguments += ["--sandbox", "docker", "--envs", str(envs), "--repo-mirror"]
    result = CliRunner().invoke(app, [*arguments, f"https://github.com/acme/={repo.parent}/"])
    assert result.exit_code == 0, result.output
    (rollout,) = RunDir(output).rollouts()
    assert rollout.meta["env"]["commit"] == commits[1]
    assert rollout.meta["env"]["chosen_by"] == "session_time"
    assert rollout.meta["env"]["source"] == f"{repo.parent}/upstream"
    assert rollout.meta["env"]["row"]["line"] == 1
    assert "VERSION = 2" in rollout.messages[1].content


def test_a_session_without_repository_says_where_its_files_come_from() -> None:
    chat = Session(
        id="chat",
        source=SourceInfo(format="native"),
        messages=[Message(role="user", content="Say hello.")],
    )
    _, record = resolve_env(chat, [], workspace="auto")
    assert record["source"] == "empty workspace"
    assert "names no repository or image" in record["reason"]
    with_image = chat.model_copy(update={"env": EnvSpec(image="its-own")})
    _, record = resolve_env(with_image, [])
    assert record == {
        "source": "image",
        "reason": "the log names no repository: the image's own files",
    }


def test_a_repository_url_that_was_de_identified_is_named_as_the_reason(tmp_path: Path) -> None:
    redacted = {"url": "https://github.com/<USER_1>/proj", "commit": "HEAD"}
    with pytest.raises(EnvBuildError, match=r"URL was de-identified .*--no-redact.*--envs"):
        resolve_env(session("mine", repo=redacted), [])
    # With --workspace auto, the log's own files stand in, and the record says why.
    logged = reading_session(tmp_path, "1:VERSION = 1", "app.py")
    mine = logged.model_copy(update={"env": EnvSpec(repo=RepoSpec(**redacted), workdir="/repo")})
    _, record = resolve_env(mine, [], workspace="auto")
    assert record["url"] == redacted["url"]
    assert record["workspace"]["reason"].startswith("its repository URL was de-identified")
