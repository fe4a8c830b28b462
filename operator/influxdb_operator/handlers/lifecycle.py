"""Operator start-up and clean-up: kopf settings, the operator's `Runtime`
(kept in kopf's memo, which every handler receives), the metrics endpoint."""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf
import prometheus_client

from .. import config
from ..api import v1alpha1
from ..managed.runtime import Runtime
from . import kube


def runtime(memo: kopf.Memo) -> Runtime:
    """The operator's state, set up at start-up."""
    rt = memo.runtime
    assert isinstance(rt, Runtime)
    return rt


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Progress and diff-base live in annotations of our own group, so the
    # status subresource holds only fields the CRD schema declares.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=v1alpha1.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=v1alpha1.GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{v1alpha1.GROUP}/finalizer"
    settings.peering.name = "influxdb-replication-operator"
    settings.peering.mandatory = False
    # Events are for people; kopf's own per-handler chatter is left to logs.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10]
    memo.runtime = Runtime(config.settings(), kube.StatusWriter(), kube.post_events, kube.SecretStore())
    port = os.environ.get("INFLUXDB_OPERATOR_METRICS_PORT")
    if port:
        # All interfaces: in a pod, Prometheus scrapes the pod IP.
        address = os.environ.get("INFLUXDB_OPERATOR_METRICS_ADDR", "0.0.0.0")  # noqa: S104
        prometheus_client.start_http_server(int(port), addr=address)


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    await runtime(memo).close()
