"""Reproducing one trajectory: the target (:mod:`~understudy.replay.reproduce.target`) and the
sandbox standing at any step of it (:mod:`~understudy.replay.reproduce.workbench`)."""

from understudy.replay.reproduce.target import Trajectory, of_rollout, of_session
from understudy.replay.reproduce.workbench import Reproduction, SteppedCall

__all__ = ["Reproduction", "SteppedCall", "Trajectory", "of_rollout", "of_session"]
