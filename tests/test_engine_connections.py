"""The client of a local engine reuses its connections whatever the URL: the docker SDK keys its
connection pools by URL, so every container's own paths used to open a connection of their own."""

from __future__ import annotations

import pytest

from understudy.sandbox.engine import docker_client, share_one_connection_pool

pytestmark = pytest.mark.docker


def test_calls_on_different_urls_share_one_connection(base_image: str) -> None:
    client = docker_client()
    if not client.api.base_url.startswith("http+docker://"):
        pytest.skip("the engine is not on a local socket")
    adapter = client.api.get_adapter(client.api.base_url)
    share_one_connection_pool(client)  # a second time changes nothing
    assert client.api.get_adapter(client.api.base_url) is adapter
    before = len(adapter.pools)
    pool = adapter.get_connection("http+docker://localhost/v1.41/anything")
    opened = pool.num_connections
    for _ in range(3):  # different paths, one after the other
        client.api.inspect_image(base_image)
        client.api.version()
        client.api.containers(filters={"label": "understudy.nothing"})
    assert len(adapter.pools) == max(before, 1)
    assert pool.num_connections - opened <= 1
