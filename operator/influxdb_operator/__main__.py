"""`influxdb-replication-operator` / `python -m influxdb_operator`: run the operator.

A thin front for `kopf run` with this package's handlers, so that the image,
`make run` and the tests start it the same way. With no subcommand it runs
the operator; `import` prints manifests for an InfluxDB's existing streams.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

import kopf

from . import allocator, importer, metrics
from .leadership import election, elector, fencing, lease_store, standby_probe

DISTRIBUTION = "influxdb-replication-operator"
LEASE_NAME = "influxdb-replication-operator"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def version() -> str:
    """The installed package's version: pyproject.toml holds the one version,
    which the chart and the image tag follow (tests/unit/test_version.py)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="influxdb-replication-operator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "-n", "--namespace", action="append", default=[], help="watch only this namespace (repeatable); default: all"
    )
    parser.add_argument("--liveness", default=None, help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    parser.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    parser.add_argument("--max-backoff", type=float, default=None, help="longest retry delay in seconds (default 60)")
    parser.add_argument(
        "--queue-full-warning",
        type=float,
        default=None,
        help="QueueFillingUp when a queue is forecast full sooner than this many seconds (default 3600)",
    )
    parser.add_argument(
        "--validate-timeout",
        type=float,
        default=None,
        help="give up a validate of a replication's stream after this many seconds (default 150)",
    )
    parser.add_argument(
        "--validate-concurrency", type=int, default=None, help="validates run at once, at most (default 4)"
    )
    alone = parser.add_mutually_exclusive_group()
    alone.add_argument("--standalone", action="store_true", help="act at once, with no other instance (no election)")
    alone.add_argument(
        "--leader-elect", action="store_true", help="act only while holding a Lease (several replicas, one acts)"
    )
    defaults = election.Timing()
    parser.add_argument("--lease-name", default=LEASE_NAME, help=f"the election's Lease (default {LEASE_NAME})")
    parser.add_argument(
        "--lease-namespace", default=None, help="the Lease's namespace (default: the Pod's own, else default)"
    )
    parser.add_argument(
        "--lease-duration",
        type=int,
        default=defaults.lease_duration,
        help=f"seconds a standby waits on a Lease not renewed before taking it (default {defaults.lease_duration})",
    )
    parser.add_argument(
        "--renew-deadline",
        type=float,
        default=defaults.renew_deadline,
        help=f"seconds the leader keeps acting with no successful renewal (default {defaults.renew_deadline:g})",
    )
    parser.add_argument(
        "--retry-period",
        type=float,
        default=defaults.retry_period,
        help=f"seconds between renewals, and between a standby's tries (default {defaults.retry_period:g})",
    )
    parser.add_argument("--verbose", action="store_true")
    subcommands = parser.add_subparsers(dest="command", metavar="{import}")
    importer.add_parser(subcommands)
    args = parser.parse_args(argv)
    try:
        args.timing = election.Timing(args.lease_duration, args.renew_deadline, args.retry_period)
    except ValueError as error:
        parser.error(str(error))
    return args


def lead(args: argparse.Namespace) -> elector.Elector:
    """Blocks until this process holds the Lease; meanwhile serves metrics and
    the health endpoint, and nothing else."""
    if args.metrics_port is not None:
        metrics.serve(args.metrics_port, os.environ.get("INFLUXDB_OPERATOR_METRICS_ADDR", "0.0.0.0"))  # noqa: S104
    probe = standby_probe.StandbyProbe(args.liveness) if args.liveness else None
    fence = fencing.Fence()
    fencing.install(fence)
    namespace = args.lease_namespace or _own_namespace()
    store = lease_store.LeaseStore(args.lease_name, namespace, args.timing.renew_deadline / 2, args.namespace)
    candidate = elector.Elector(store, elector.identity(os.environ.get("POD_ID")), args.timing, fence)
    candidate.campaign()
    if probe is not None:
        probe.close()
    return candidate


def _stop_before_kopf(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def _own_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except OSError:
        return "default"


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "import":
        return importer.run(args)
    if args.metrics_port is not None:
        os.environ["INFLUXDB_OPERATOR_METRICS_PORT"] = str(args.metrics_port)
    if args.max_backoff is not None:
        os.environ["INFLUXDB_OPERATOR_MAX_BACKOFF"] = str(args.max_backoff)
    if args.queue_full_warning is not None:
        os.environ["INFLUXDB_OPERATOR_QUEUE_FULL_WARNING"] = str(args.queue_full_warning)
    if args.validate_timeout is not None:
        os.environ["INFLUXDB_OPERATOR_VALIDATE_TIMEOUT"] = str(args.validate_timeout)
    if args.validate_concurrency is not None:
        os.environ["INFLUXDB_OPERATOR_VALIDATE_CONCURRENCY"] = str(args.validate_concurrency)
    allocator.tune()
    kopf.configure(verbose=args.verbose)
    from . import handlers  # noqa: F401 - registers the handlers

    # Started from a script (`make run &`), SIGINT arrives ignored, and a process
    # that starts with it ignored never hears Ctrl-C: kopf's own handler is not
    # reached. Python's default first, which kopf then takes over, as at a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    candidate = lead(args) if args.leader_elect else None
    if candidate is None:
        metrics.leader.set(1)
    else:
        # Until kopf takes SIGTERM over (before any handler runs), a stop must
        # still end in the `finally` below, which hands the Lease back.
        signal.signal(signal.SIGTERM, _stop_before_kopf)
    try:
        kopf.run(
            # Every handler of a cause in one cycle: on a restart, a changed object's
            # update and resume handlers then end in one patch (status and diff-base),
            # not one patch each and a third that purges their progress.
            lifecycle=kopf.lifecycles.all_at_once,
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            liveness_endpoint=args.liveness,
            # The election replaces kopf's peering, which only pauses operators.
            standalone=args.standalone or args.leader_elect,
        )
    finally:
        # kopf has stopped acting: the Lease is handed over at once.
        if candidate is not None:
            candidate.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
