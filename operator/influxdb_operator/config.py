"""Operator-wide settings, read once from the environment.

Each has a command-line flag in `__main__`, which sets the variable, so the
Helm chart, `make run` and tests all configure the operator the same way.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    # Longest wait between retries of a blocked reconcile (missing Secret,
    # unreachable server, ...). Short enough that a fix is picked up soon,
    # long enough not to hammer a server that is down.
    max_backoff: float
    # How soon a forecast full queue is worth a QueueFillingUp, unless a
    # Replication says otherwise (spec.health.queueFullWarning).
    queue_full_warning: float = 3600.0
    # A validate waits on the remote (influxd allows it two minutes); it runs
    # in the background, this many at once, each given up after this long.
    validate_timeout: float = 150.0
    validate_concurrency: int = 4


@functools.cache
def settings() -> Settings:
    return Settings(
        max_backoff=float(os.environ.get("INFLUXDB_OPERATOR_MAX_BACKOFF", "60")),
        queue_full_warning=float(os.environ.get("INFLUXDB_OPERATOR_QUEUE_FULL_WARNING", "3600")),
        validate_timeout=float(os.environ.get("INFLUXDB_OPERATOR_VALIDATE_TIMEOUT", "150")),
        validate_concurrency=int(os.environ.get("INFLUXDB_OPERATOR_VALIDATE_CONCURRENCY", "4")),
    )
