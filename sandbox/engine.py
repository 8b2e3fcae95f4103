"""The connection to the Docker engine."""

from __future__ import annotations

import threading

import docker
import docker.errors
from docker.transport.unixconn import UnixHTTPAdapter, UnixHTTPConnectionPool

from understudy.errors import EngineUnavailableError

_client: docker.DockerClient | None = None
_lock = threading.Lock()

ENGINE_CONNECTIONS = 64
"""Connections to a local engine's socket kept open for reuse: one per thread that may talk to
the engine at once (the sandboxes' thread pool)."""

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
                    share_one_connection_pool(client)
                client.ping()
            except (docker.errors.DockerException, OSError) as exc:
                raise EngineUnavailableError(f"{ENGINE_HELP} ({exc})") from exc
            _client = client
        return _client


def engine_connected() -> bool:
    """Whether :func:`docker_client` has connected already (it then returns without blocking)."""
    return _client is not None


class _OnePoolUnixAdapter(UnixHTTPAdapter):
    """The docker SDK's adapter for a local socket, with one pool of connections for all URLs.

    The SDK keys its pools by URL, and keeps 25: every container's and exec's own paths
    (``/containers/ID/start``, ``/exec/ID/json``) opened a pool and a connection of their own,
    used once. Every URL here goes to the same socket, so they share one pool.
    """

    def get_connection(self, url: bytes | str, proxies: object = None) -> UnixHTTPConnectionPool:
        return super().get_connection(self.socket_path, proxies)


def share_one_connection_pool(client: docker.DockerClient) -> None:
    """Make a client of a local socket reuse its connections whatever the URL."""
    adapter = client.api.get_adapter(client.api.base_url)
    if isinstance(adapter, UnixHTTPAdapter) and not isinstance(adapter, _OnePoolUnixAdapter):
        shared = _OnePoolUnixAdapter(
            "http+unix://" + adapter.socket_path,
            timeout=adapter.timeout,
            pool_connections=1,
            max_pool_size=ENGINE_CONNECTIONS,
        )
        client.api.mount("http+docker://", shared)
        adapter.close()


def local_socket_path(client: docker.DockerClient) -> str | None:
    """The path of the engine's unix socket, if the client reaches it through one."""
    if not client.api.base_url.startswith("http+docker://"):
        return None
    adapter = client.api.get_adapter(client.api.base_url)
    return adapter.socket_path if isinstance(adapter, UnixHTTPAdapter) else None


def engine_available() -> bool:
    """Whether a Docker engine answers."""
    try:
        docker_client()
    except EngineUnavailableError:
        return False
    return True
