"""influxd's `/metrics` read for the replication counters: only that section,
and not parsed again while it stays the same (every period at rest)."""

from __future__ import annotations

from influxdb_operator.influx.client import _Counters, parse_counters

A, B = "0a1b2c3d4e5f6071", "0fedcba987654321"


def exposition(queued_a: int) -> str:
    """The shape influxd writes: families sorted by name, replications' among others."""
    return f"""# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP replications_queue_remote_write_errors Errors returned from remote write requests
# TYPE replications_queue_remote_write_errors counter
replications_queue_remote_write_errors{{code="500",replicationID="{A}"}} 2
replications_queue_remote_write_errors{{code="503",replicationID="{A}"}} 3
# HELP replications_queue_total_bytes_queued Sum of all bytes that have been added to the replication stream queue
# TYPE replications_queue_total_bytes_queued counter
replications_queue_total_bytes_queued{{replicationID="{A}"}} {queued_a}
replications_queue_total_bytes_queued{{replicationID="{B}"}} 7
# HELP storage_writer_ok_points Number of points written OK
# TYPE storage_writer_ok_points counter
storage_writer_ok_points{{path="/var/lib/influxdb2/engine"}} 9
"""


def test_every_replication_line_is_read_and_the_rest_is_not() -> None:
    counters = _Counters().parse(exposition(100))
    assert counters == parse_counters(exposition(100))
    assert set(counters) == {A, B}
    assert (counters[A].bytes_queued, counters[A].write_errors) == (100, 5)  # errors summed over codes
    assert counters[B].bytes_queued == 7


def test_the_same_section_is_not_parsed_again_and_a_changed_one_is() -> None:
    memo = _Counters()
    first = memo.parse(exposition(100))
    other_metrics_moved = exposition(100).replace("go_goroutines 42", "go_goroutines 43")
    assert memo.parse(other_metrics_moved) is first
    changed = memo.parse(exposition(101))
    assert changed is not first
    assert changed[A].bytes_queued == 101


def test_no_replication_lines_is_no_counters() -> None:
    assert _Counters().parse("# HELP go_goroutines x\ngo_goroutines 1\n") == {}
