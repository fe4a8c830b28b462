"""kubectl, as the user runs it: the tests drive the operator only through it."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sandbox import binaries

# Called with every object `Kubectl.get` returns: the integration suite's
# health recorder (conftest's `health_judged`) listens here.
OBSERVERS: list[Callable[[dict[str, Any]], None]] = []


class KubectlError(Exception):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.stderr = stderr


class Kubectl:
    def __init__(self, kubeconfig: Path, namespace: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def in_namespace(self, namespace: str) -> Kubectl:
        return Kubectl(self.kubeconfig, namespace)

    def __call__(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str:
        argv = [binaries.path("kubectl"), f"--kubeconfig={self.kubeconfig}"]
        if self.namespace:
            argv.append(f"--namespace={self.namespace}")
        done = subprocess.run([*argv, *args], input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise KubectlError(list(args), done.returncode, done.stderr)
        return done.stdout if done.returncode == 0 else done.stdout + done.stderr

    def apply(self, *docs: dict[str, Any] | str) -> str:
        text = "\n---\n".join(d if isinstance(d, str) else yaml.safe_dump(d) for d in docs)
        return self("apply", "-f", "-", input=text)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """The object, or None if the server says it does not exist."""
        try:
            obj = dict(json.loads(self("get", kind, name, "-o", "json")))
        except KubectlError as error:
            if "(NotFound)" in error.stderr:
                return None
            raise
        for observe in OBSERVERS:
            observe(obj)
        return obj

    def exists(self, kind: str, name: str) -> bool:
        return self.get(kind, name) is not None

    def wait_ready(self, kind: str, name: str, *, timeout: float = 60) -> dict[str, Any]:
        """The object once its Ready condition is True; a timeout names the last condition seen."""
        last: dict[str, Any] = {}

        def check() -> dict[str, Any] | None:
            nonlocal last
            obj = self.get(kind, name)
            last = condition(obj, "Ready")
            return obj if last.get("status") == "True" else None

        try:
            return dict(eventually(check, timeout=timeout, what=f"{kind}/{name} Ready"))
        except AssertionError as error:
            raise AssertionError(f"{kind}/{name} not Ready within {timeout}s; its Ready condition: {last}") from error

    def wait_reason(self, kind: str, name: str, reason: str, *, timeout: float = 60) -> dict[str, Any]:
        """The Ready condition once it carries `reason`."""
        return dict(
            eventually(
                lambda: (c := condition(self.get(kind, name), "Ready")).get("reason") == reason and c,
                timeout=timeout,
                what=f"{kind}/{name} {reason}",
            )
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        out = self("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
        return list(json.loads(out)["items"])


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return {}


def eventually(check: Callable[[], Any], *, timeout: float = 60, interval: float = 0.5, what: str = "condition") -> Any:
    """Poll until `check()` returns something truthy; its last value explains a timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s; last seen: {last!r}")
