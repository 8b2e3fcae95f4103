"""``understudy serve-scripted``: the scripted model server as a command of its own.

It serves an OpenAI-compatible chat-completions endpoint that answers from a built-in policy or
a script file (see :mod:`understudy.testing.script_file`), so that ``understudy run`` can be
tried without an API key or any Python code. Registered on the main app by
:mod:`understudy.cli`.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from understudy.cli_common import console
from understudy.errors import ConfigError
from understudy.registry import Registry

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.testing import Policy, ScriptedServer, ScriptItem

POLICIES: Registry[Policy] = Registry(
    "policy",
    {
        "demo": "understudy.replay.demo:demo_policy",
        "echo": "understudy.testing.policies:echo_policy",
        "finish": "understudy.testing.policies:finish_policy",
    },
)
"""Built-in policies by short name (a dotted path to any other policy works too)."""

POLICY_HELP = (
    "A built-in policy: 'finish' answers 'done', 'echo' repeats the last user message (both "
    "without a tool call), 'demo' is the scripted agent of `understudy demo`, which fixes the "
    "demo sessions' bugs with tool calls; or module:function of a policy of your own."
)


def serve_scripted(
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            help="A YAML or JSON file of replies: 'order: requests|turns' and 'replies:', each "
            "an assistant turn (content, tool_calls: [{name, arguments}]), a 'fault' (status, "
            "retry_after, ...) or a 'raw' answer (e.g. truncated-json).",
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help=POLICY_HELP, show_default=False)
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback is open to others.")
    ] = "127.0.0.1",
    model: Annotated[str, typer.Option(help="Model id listed by GET /v1/models.")] = "scripted",
) -> None:
    """Serve a scripted model on an OpenAI-compatible endpoint until Ctrl-C.

    Give [bold]--policy NAME[/bold] or [bold]--script FILE[/bold]. The base URL to pass to
    [bold]understudy run --base-url[/bold] is printed on start; no API key is needed. Nothing
    about the requests is logged or kept.
    """
    from understudy.testing import ScriptedServer

    answers = _answers(script, policy)
    server = ScriptedServer(answers, models=[model], host=host, port=port, keep_requests=False)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        _announce(server, model, host)
        threading.Event().wait()  # until Ctrl-C (KeyboardInterrupt) or SIGTERM (SystemExit)
    except KeyboardInterrupt:
        console(stderr=True).print(f"stopped after {server.received} request(s)")
    finally:
        server.close()


def _answers(script: Path | None, policy: str | None) -> list[ScriptItem] | Policy:
    """The script of ``--script``, or the policy named by ``--policy`` (exactly one of them)."""
    from understudy.testing import load_script

    if (script is None) == (policy is None):
        names = ", ".join(POLICIES.names())
        raise typer.BadParameter(f"give either --script FILE or --policy NAME ({names})")
    if script is not None:
        loaded = load_script(script)
        return loaded if callable(loaded) else list(loaded)
    assert policy is not None
    found = POLICIES.get(policy)
    if not callable(found):
        raise ConfigError(f"policy {policy!r} is not a function of a chat request")
    return found


def _announce(server: ScriptedServer, model: str, host: str) -> None:
    from understudy.endpoints import is_loopback

    out = console()
    out.print(f"scripted model {escape(model)!r} serving at {server.base_url}")
    out.print(
        f"try: understudy run SESSIONS.jsonl --model {escape(model)} "
        f"--base-url {server.base_url} -o runs/scripted"
    )
    if not is_loopback(server.base_url):
        console(stderr=True).print(
            f"[yellow]warning[/yellow]: listening on {escape(host)}, not only on this machine; "
            "the endpoint has no authentication"
        )
    console(stderr=True).print("Ctrl-C stops it")
    sys.stdout.flush()
