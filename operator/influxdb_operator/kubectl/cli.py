"""`kubectl influxdb`: commands and their output."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import UTC, datetime

import yaml

from ..api import crds
from ..api.v1alpha1 import ConditionType, ValidationResult
from . import leaders, report, tree
from .api_calls import Kube, PluginError, connect, kind_of

PREFIX = "influxdb.replication.dev/"
VALIDATE, ROTATE, PAUSED = f"{PREFIX}validate", f"{PREFIX}rotate-token", f"{PREFIX}paused"

_STYLES = {"ok": "32", "bad": "31", "warn": "33", "dim": "2", "bold": "1"}

STATUS_HELP = """\
Draws InfluxDBInstance -> RemoteConnection -> Replication as a tree, with each
one's Ready state; for replications the backlog (queue, bytes still to sync),
the queue-full forecast and the heartbeat lag where known; and the reason and
message of anything not healthy. A ReplicationSet's healthy children are
folded into one node per set and connection. Colour on a terminal only (never
when piped, or with NO_COLOR set).

exit status: 0 all healthy, 1 something is not Ready or not Healthy, 2 error."""


def _parser() -> argparse.ArgumentParser:
    # Accepted before the command and after it, as kubectl does (SUPPRESS: the
    # command's parser must not overwrite a value given before it with None).
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    common.add_argument("--context", help="kubeconfig context (default: the current one)")
    common.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    common.add_argument(
        "--request-timeout",
        type=_duration,
        help="how long to wait for each API server request, as kubectl takes it (30s, 1m, 2; 0: no limit)",
    )
    parser = argparse.ArgumentParser(
        parents=[common],
        prog="kubectl influxdb",
        description="Day-2 commands for influxdb-replication-operator's resources. Reads through your kubeconfig "
        "and RBAC; writes only annotations.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status",
        parents=[common],
        help="instances, remotes and replications as a tree, with what is unhealthy and why",
        description=STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    status.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    status.add_argument(
        "-o", "--output", choices=("json", "yaml"), help="the tree as data (the README's Day 2 shows the shape)"
    )
    validate = commands.add_parser(
        "validate", parents=[common], help=f"ask the operator to validate a Replication once ({VALIDATE})"
    )
    validate.add_argument("name", metavar="NAME", help="the Replication")
    validate.add_argument("--wait", action="store_true", help="wait for the answer and print the Validated condition")
    validate.add_argument("--timeout", type=float, default=150, help="seconds --wait waits (default 150)")
    pause = commands.add_parser("pause", parents=[common], help=f"stop the operator writing to InfluxDB ({PAUSED})")
    pause.add_argument("target", metavar="KIND/NAME", help="e.g. replication/metrics, irc/cloud")
    resume = commands.add_parser("resume", parents=[common], help="remove the paused annotation")
    resume.add_argument("target", metavar="KIND/NAME")
    rotate = commands.add_parser(
        "rotate-token", parents=[common], help=f"rotate a RemoteConnection's minted token once ({ROTATE})"
    )
    rotate.add_argument("name", metavar="NAME", help="the RemoteConnection")
    commands.add_parser(
        "import",
        add_help=False,
        help="print manifests for an InfluxDB's existing remotes and replications (the operator's own "
        "`influxdb-replication-operator import`; `kubectl influxdb import --help` for its options)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "import":
        # Talks to InfluxDB, not Kubernetes: the operator's own command does it all, given
        # every argument after `import`; a -n before it names the manifests' namespace.
        namespace = ["--namespace", args.namespace] if getattr(args, "namespace", None) else []
        command = [sys.executable, "-m", "influxdb_operator", "import", *namespace, *rest]
        os.execv(sys.executable, command)  # noqa: S606 - argv as given, no shell
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        kube = connect(
            *(getattr(args, key, None) for key in ("kubeconfig", "context", "namespace")),
            timeout=getattr(args, "request_timeout", None),
        )
        if args.command == "status":
            return status(kube, all_namespaces=args.all_namespaces, colour=_colour(args.color), output=args.output)
        if args.command == "validate":
            return validate(kube, args.name, wait=args.wait, timeout=args.timeout)
        if args.command in ("pause", "resume"):
            kind, name = _target(args.target)
            value = "true" if args.command == "pause" else None
            return annotate(kube, kind, name, PAUSED, value, f"{args.command}d")
        return annotate(kube, kind_of("remoteconnection"), args.name, ROTATE, now(), "token rotation requested")
    except PluginError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def now() -> str:
    """A new value for the request-once annotations: the current UTC time."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float | None:
    """kubectl's --request-timeout: a Go duration (1m30s) or whole seconds; 0 is no limit."""
    if text.isdigit():
        seconds = float(text)
    elif re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        seconds = sum(float(n) * _SECONDS[unit] for n, unit in _DURATION.findall(text))
    else:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 30s, 1m, 2)")
    return seconds or None


def _colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _paint(text: str, style: str) -> str:
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def _target(text: str) -> tuple[crds.Kind, str]:
    kind, _, name = text.partition("/")
    if not name:
        raise PluginError(f"expected KIND/NAME, e.g. replication/{text}")
    return kind_of(kind), name


def status(kube: Kube, *, all_namespaces: bool, colour: bool, output: str | None = None) -> int:
    instances, remotes, replications, sets = (kube.items(kind, all_namespaces=all_namespaces) for kind in crds.KINDS)
    trees = tree.build(instances, remotes, replications, sets)
    if output is not None:
        data = report.build(trees)
        print(json.dumps(data, indent=2) if output == "json" else yaml.safe_dump(data, sort_keys=False), end="\n")
        return 0 if data["healthy"] else 1
    for line in leaders.lines(kube.leases(), None if all_namespaces else kube.namespace, datetime.now(UTC)):
        print(line)
    if not trees:
        where = "any namespace" if all_namespaces else f"namespace {kube.namespace}"
        print(f"no InfluxDBInstance, RemoteConnection or Replication in {where}")
        return 0
    lines, unhealthy = tree.render(trees, _paint if colour else tree.plain)
    print("\n".join(lines))
    return 1 if unhealthy else 0


def annotate(kube: Kube, kind: crds.Kind, name: str, key: str, value: str | None, done: str) -> int:
    kube.annotate(kind, name, {key: value})
    shown = f"{key}={value}" if value is not None else f"{key} removed"
    print(f"{kind.singular}/{name} {done} ({shown})")
    return 0


def validate(kube: Kube, name: str, *, wait: bool, timeout: float) -> int:
    kind, value = kind_of("replication"), now()
    annotate(kube, kind, name, VALIDATE, value, "validation requested")
    if not wait:
        return 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = answered(kube.get(kind, name), value)
        if answer is not None:
            print(f"Validated={answer.get('status')} {answer.get('reason', '')}: {answer.get('message', '')}")
            return 0 if answer.get("status") == "True" else 1
        time.sleep(1)
    raise PluginError(f"no answer to the validation within {timeout:g}s (is the operator running?)")


def answered(obj: tree.Obj, value: str) -> tree.Obj | None:
    """The Validated condition once `status.validation` records a result for
    the request `value` (not just that it is Validating)."""
    found = tree.condition(obj, ConditionType.VALIDATED)
    shown = (obj.get("status") or {}).get("validation") or {}
    if found is None or shown.get("requested") != value or shown.get("result") in (None, ValidationResult.VALIDATING):
        return None
    return found
