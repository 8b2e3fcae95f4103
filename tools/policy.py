"""Which way each tool call is served: a chain of steps tried in order.

Steps: ``live`` (run it in the sandbox), ``replay`` (serve a matching recorded result),
``simulate`` (ask a tool simulator), ``unavailable`` (tell the model the tool cannot be used).
A spec string sets a default chain and per-tool overrides, e.g.
``replay>live,browser=replay>simulate>unavailable,Bash=live``. Without a default, tools with a
live implementation are ``live`` and the rest (browser, opaque tools) ``replay>unavailable``.

A sandbox has no network, so a shell command that needs one (``pip install requests``, ``git
clone https://...``; :func:`~understudy.tools.network.network_need`) cannot run live as it did
when it was logged: such calls take the chain of the pseudo-tool ``network``
(``live,network=replay>simulate>unavailable``), ``replay>simulate>unavailable`` when the spec
names none. The order of precedence: an override for the logged tool name, then the ``network``
chain (for a call that needs the network), an override for the canonical tool, the default
chain, the built-in defaults.
"""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, Field

from understudy.errors import ConfigError

Step = Literal["live", "replay", "simulate", "unavailable"]
STEPS: tuple[Step, ...] = ("live", "replay", "simulate", "unavailable")
LIVE_DEFAULT: list[Step] = ["live"]
REPLAY_DEFAULT: list[Step] = ["replay", "unavailable"]
NETWORK_DEFAULT: list[Step] = ["replay", "simulate", "unavailable"]
NETWORK = "network"
"""The pseudo-tool name of the chain for calls that need the network."""


def parse_chain(text: str) -> list[Step]:
    """``replay>live`` -> ["replay", "live"]; unknown steps are a ConfigError."""
    steps = [part.strip() for part in text.split(">") if part.strip()]
    if not steps:
        raise ConfigError(f"empty tool policy chain {text!r}")
    for step in steps:
        if step not in STEPS:
            raise ConfigError(
                f"unknown tool policy step {step!r} in {text!r}; valid steps: {', '.join(STEPS)}"
            )
    return cast(list[Step], steps)


class ToolPolicy(BaseModel):
    """Policy chains: a default and per-tool overrides (by the tool name the model calls)."""

    default: list[Step] | None = None
    """Chain for every tool without an override; None picks by kind (see module docstring)."""
    overrides: dict[str, list[Step]] = Field(default_factory=dict)
    """Chains for single tools, by the name the model calls them (or a canonical name)."""
    network: list[Step] | None = None
    """Chain for calls that need the network (spec entry ``network=CHAIN``); None:
    ``NETWORK_DEFAULT``."""

    @classmethod
    def parse(cls, spec: str | None) -> ToolPolicy:
        """Parse ``[CHAIN][,TOOL=CHAIN...]``."""
        policy = cls()
        for entry in (spec or "").split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, chain = entry.partition("=")
            if sep:
                if not name.strip():
                    raise ConfigError(f"tool policy entry {entry!r} names no tool")
                if name.strip() == NETWORK:
                    policy.network = parse_chain(chain)
                else:
                    policy.overrides[name.strip()] = parse_chain(chain)
            elif policy.default is not None:
                raise ConfigError(f"tool policy {spec!r} gives two default chains")
            else:
                policy.default = parse_chain(entry)
        return policy

    def chain_for(
        self, name: str, canonical: str | None, live_capable: bool, needs_network: bool = False
    ) -> list[Step]:
        """The chain for a call to ``name`` (which maps to ``canonical``, if anything);
        ``needs_network``: the call runs a command that needs the network."""
        if name in self.overrides:
            return self.overrides[name]
        if needs_network:
            return self.network or NETWORK_DEFAULT
        if canonical is not None and canonical in self.overrides:
            return self.overrides[canonical]
        if self.default is not None:
            return self.default
        return LIVE_DEFAULT if live_capable else REPLAY_DEFAULT

    def with_network(self, chain: list[Step]) -> ToolPolicy:
        """This policy with ``chain`` for calls that need the network, unless it names one."""
        if self.network is not None:
            return self
        return self.model_copy(update={"network": list(chain)}, deep=True)

    def describe(self) -> str:
        """The policy as a spec string (recorded in run.json); the ``network`` chain is given
        only when the spec set it."""
        parts = [">".join(self.default)] if self.default else []
        parts += [f"{name}={'>'.join(chain)}" for name, chain in sorted(self.overrides.items())]
        parts += [f"{NETWORK}={'>'.join(self.network)}"] if self.network else []
        return ",".join(parts) or "(defaults)"
