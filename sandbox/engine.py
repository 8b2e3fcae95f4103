"""The connection to the Docker engine."""

from __future__ import annotations

import threading

import docker
import docker.errors

from understudy.errors import EngineUnavailableError

_client: docker.DockerClient | None = None
_lock = threading.Lock()

ENGINE_HELP = (
    "no Docker engine answers (is dockerd running and DOCKER_HOST right?). Start one. "
    "Without one, `understudy run` and `understudy fidelity` take `--sandbox local`, a backend "
    "with no isolation; their default `--sandbox auto`, and `understudy demo`, fall back to it "
    "by themselves."
)


def docker_client() -> docker.DockerClient:
    """A shared client for the engine named by the environment (DOCKER_HOST etc.)."""
    global _client
    with _lock:
        if _client is None:
            try:
                client = docker.from_env(version="auto", timeout=120)
                if client.api.base_url.startswith("http+docker://"):
                    # A local socket, which no proxy serves: requests would otherwise read the
                    # whole environment for proxy settings at every call (a quarter of its CPU).
                    client.api.trust_env = False
                client.ping()
            except (docker.errors.DockerException, OSError) as exc:
                raise EngineUnavailableError(f"{ENGINE_HELP} ({exc})") from exc
            _client = client
        return _client


def engine_available() -> bool:
    """Whether a Docker engine answers."""
    try:
        docker_client()
    except EngineUnavailableError:
        return False
    return True
