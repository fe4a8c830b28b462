"""`influxdb-replication-operator` / `python -m influxdb_operator`: run the operator.

A thin front for `kopf run` with this package's handlers, so that the image,
`make run` and the tests start it the same way. With no subcommand it runs
the operator; `import` prints manifests for an InfluxDB's existing streams.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

import kopf

from . import allocator, importer

DISTRIBUTION = "influxdb-replication-operator"


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
    parser.add_argument("--standalone", action="store_true", help="do not coordinate with other instances (peering)")
    parser.add_argument("--verbose", action="store_true")
    subcommands = parser.add_subparsers(dest="command", metavar="{import}")
    importer.add_parser(subcommands)
    return parser.parse_args(argv)


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

    kopf.run(
        # Every handler of a cause in one cycle: on a restart, a changed object's
        # update and resume handlers then end in one patch (status and diff-base),
        # not one patch each and a third that purges their progress.
        lifecycle=kopf.lifecycles.all_at_once,
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
        standalone=args.standalone,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
