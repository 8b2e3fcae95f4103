"""The state at a cut as an image: re-executed once per prefix, shared by every sample.

:func:`snapshot_prefix` asks the run's prefix store for the image of ``(env hash, session, cut,
recipe)``. With docker, that is the :class:`~understudy.sandbox.snapshots.PrefixCache`: when the
image is missing, a sandbox from the env image runs
:func:`~understudy.replay.prefix.restore_prefix` and is committed with the resulting
:class:`~understudy.replay.prefix.PrefixState` on it. Per-call mismatch events are logged while
the prefix is built; a sample that reuses the image logs one event with the stored counts. The
local backend's store (:class:`~understudy.sandbox.local_env.LocalPrefixes`) re-executes the
prefix for every rollout and caches nothing.
"""

from __future__ import annotations

import time
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.replay.prefix import (
    PrefixErrors,
    PrefixState,
    mismatch_fields,
    prefix_recipe,
    restore_prefix,
)
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.snapshots import PrefixKey, PrefixStateError, PrefixStore
from understudy.trajectory import Rollout, Session

log = get_logger("replay.prefix")


class PrefixSnapshot(BaseModel):
    """The image holding the state at a cut, and how that state was reached."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    image: str
    """Tag of the prefix image; the samples start from it."""
    state: PrefixState
    """Counts, fidelity and the calls that did not match (as stored on the image)."""
    cached: bool
    """The image already existed (built by another sample or an earlier run)."""
    build_s: float
    """Seconds spent re-executing and committing (0 when cached)."""
    seconds: float
    """Seconds this rollout spent getting the image, waiting for a shared build included."""

    def meta(self) -> dict[str, Any]:
        """What a rollout records about its prefix (``Rollout.meta["prefix"]``)."""
        state = self.state
        return {
            "compared": state.compared,
            "matched": state.matched,
            "skipped": state.skipped,
            "fidelity": state.fidelity,
            "aborted": state.aborted,
            "failed_call": state.failed_call.model_dump(exclude_none=True)
            if state.failed_call
            else None,
            "mismatches": [call.model_dump(exclude_none=True) for call in state.mismatches()],
            "cached": self.cached,
            "build_s": round(self.build_s, 4),
            "image": self.image,
        }

    def applied_to(self, rollout: Rollout) -> Rollout:
        """``rollout`` with its env fidelity, prefix record and prefix time filled in."""
        rollout.env_fidelity = self.state.fidelity
        rollout.meta["prefix"] = self.meta()
        rollout.timing["prefix_s"] = round(self.seconds, 4)
        return rollout


async def snapshot_prefix(
    cache: PrefixStore,
    session: Session,
    cut: int,
    env_hash: str,
    config: SandboxConfig,
    on_error: PrefixErrors = "continue",
) -> PrefixSnapshot:
    """The prefix image of ``(session, cut)`` on the env image of ``config``, built if missing.

    An aborted prefix (``on_error="abort"`` and a call that failed) is never started from: the
    rollout is an error without a sandbox, so the store may drop what it made for it.
    """
    started = time.monotonic()
    key = PrefixKey(
        env_hash=env_hash,
        session_id=session.id,
        cut=cut,
        recipe=prefix_recipe(session, cut, on_error),
    )

    async def build(sandbox: Sandbox) -> dict[str, Any]:
        state = await restore_prefix(session, cut, sandbox, on_error)
        return state.stored()

    found = await cache.get_or_build(key, config, build)
    try:
        state = PrefixState.model_validate(found.state)
    except pydantic.ValidationError as exc:
        await cache.discard(found.image)
        raise PrefixStateError(
            f"the prefix image {found.image} of {key.describe()} holds a state record this "
            f"version cannot read ({exc.error_count()} problem(s)); remove it with "
            "`understudy sandbox gc --images`"
        ) from None
    if state.aborted:
        await cache.discard(found.image)
    if found.cached:
        log.info(
            "prefix snapshot reused",
            session=session.id,
            cut=cut,
            image=found.image,
            compared=state.compared,
            matched=state.matched,
            fidelity=state.fidelity,
            aborted=state.aborted,
            # Built by this run or an earlier one: either way this run's events name them.
            mismatches=[mismatch_fields(call) for call in state.mismatches()],
        )
    return PrefixSnapshot(
        image=found.image,
        state=state,
        cached=found.cached,
        build_s=found.build_s,
        seconds=time.monotonic() - started,
    )
