"""An instance's bucket listing is shared: readers arriving together (the
retention checks of a thousand Replications) cost one listing, and a fresh
one is reused, against a real influxd."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from prometheus_client import REGISTRY

import sandbox as sandbox_module
from influxdb_operator.config import Settings
from influxdb_operator.kinds import bucket_listings
from influxdb_operator.state.runtime import Runtime
from influxdb_operator.state.world import Refs

KEY = ("ns", "edge")


def listing_calls() -> float:
    labels = {"endpoint": "/api/v2/buckets", "method": "GET", "status": "200"}
    return REGISTRY.get_sample_value("influxdb_operator_influxdb_api_calls_total", labels) or 0.0


async def _nothing(*_: Any) -> None:
    raise AssertionError("nothing is written here")


async def test_readers_together_share_one_listing(sandbox: sandbox_module.Sandbox, unique: str) -> None:
    edge = sandbox.edge
    edge.create_bucket(f"shared-{unique}")
    instance = {
        "metadata": {"name": "edge", "namespace": "ns", "uid": f"uid-{unique}", "generation": 1},
        "spec": {"url": edge.url, "tokenSecretRef": {"name": "token", "key": "token"}},
        "status": {"orgID": edge.orgID},
    }
    token = {"token": base64.b64encode(edge.token.encode()).decode()}
    refs = Refs({KEY: [instance]}, {}, {("ns", "token"): [token]}, {})
    rt = Runtime(Settings(max_backoff=60), write_status=_nothing, post_events=lambda *_: None)
    try:
        before = listing_calls()
        together = await asyncio.gather(*(bucket_listings.listed(rt, refs, KEY, max_age=600) for _ in range(20)))
        shared = listing_calls() - before  # one listing's pages
        assert shared >= 1
        assert all(found == together[0] for found in together)
        assert f"shared-{unique}" in {b.name for b in together[0] or ()}

        # Fresh enough: reused; asked for anew (a refresh of a set's instance): listed again, once.
        assert await bucket_listings.listed(rt, refs, KEY, max_age=600) == together[0]
        assert listing_calls() - before == shared
        await bucket_listings.listed(rt, refs, KEY, max_age=0)
        assert listing_calls() - before == 2 * shared
    finally:
        await rt.close()
