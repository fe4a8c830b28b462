"""The per-Replication series as Prometheus reads them: one row per
Replication, exposed in the text format and parsed back by prometheus_client."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from influxdb_operator import metrics

LABELS = ("ns", 'odd"name\\', "edge")


def families(table: metrics.PerReplication) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(table.exposition())
    }


def test_values_labels_and_counters_parse_back() -> None:
    table = metrics.PerReplication()
    table.update(LABELS, {metrics.QUEUE_BYTES: 1024, metrics.QUEUE_FULL_IN: math.inf, metrics.FILL_RATE: None})
    table.update(LABELS, {}, {metrics.DROPPED_BYTES: {"queue_full": 5, "non_retryable": 0}})
    table.update(LABELS, {}, {metrics.DROPPED_BYTES: {"queue_full": 2}})
    labels = {"namespace": "ns", "name": 'odd"name\\', "instance": "edge"}
    seen = families(table)
    assert seen["influxdb_replication_queue_bytes"] == [(labels, 1024.0)]
    assert seen["influxdb_replication_queue_full_in_seconds"] == [(labels, math.inf)]
    assert seen["influxdb_replication_fill_rate_bytes"] == []  # never known: not exposed
    assert seen["influxdb_replication_dropped_bytes"] == [
        (labels | {"cause": "queue_full"}, 7.0),
        (labels | {"cause": "non_retryable"}, 0.0),
    ]
    assert {family.name for family in text_string_to_metric_families(table.exposition())} == {
        series.name for series in metrics._SERIES
    }


def test_lines_are_written_as_prometheus_client_wrote_them() -> None:
    """Labels sorted by name: what dashboards, alerts and scripts matched before."""
    table = metrics.PerReplication()
    table.update(("ns", "r", "edge"), {metrics.QUEUE_BYTES: 5}, {metrics.DROPPED_POINTS: {"queue_full": 0}})
    lines = table.exposition().splitlines()
    assert 'influxdb_replication_queue_bytes{instance="edge",name="r",namespace="ns"} 5.0' in lines
    assert (
        'influxdb_replication_dropped_points_total{cause="queue_full",instance="edge",name="r",namespace="ns"} 0.0'
        in lines
    )


def test_an_unchanged_update_keeps_the_row_and_forget_drops_it() -> None:
    table = metrics.PerReplication()
    table.update(LABELS, {metrics.READY: 1})
    row = table._rows[LABELS]
    table.update(LABELS, {metrics.READY: 1, metrics.STALLED: None})
    assert table._rows[LABELS] is row, "nothing changed: no new lines made"
    table.update(LABELS, {metrics.READY: 0})
    assert families(table)["influxdb_replication_ready"][0][1] == 0.0
    table.forget(LABELS)
    assert all(samples == [] for samples in families(table).values())
