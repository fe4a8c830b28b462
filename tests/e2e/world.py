"""What the end-to-end fixtures hand the tests (in a module of its own: pytest
imports conftest.py under its own name, so tests must not import from it)."""

from __future__ import annotations

from dataclasses import dataclass

from support.kubectl import Kubectl

# Figures the run reports at the end (image size, timings), in insertion order.
FIGURES: dict[str, str] = {}


class InfluxPod:
    """One InfluxDB Deployment, reached with `kubectl exec` of the image's own client."""

    def __init__(self, kubectl: Kubectl, name: str) -> None:
        self.kubectl = kubectl
        self.name = name

    def _exec(self, *argv: str, input: str | None = None) -> str:
        stdin = ("-i",) if input is not None else ()
        return self.kubectl(
            "exec", *stdin, f"deploy/{self.name}", "--", "python3", "/usr/local/lib/influxdb_e2e.py", *argv, input=input
        )

    def api(self, method: str, path: str, body: str | None = None) -> str:
        """Call this InfluxDB's API with its admin token (which never leaves the Pod)."""
        return self._exec("api", method, path, *(("-",) if body is not None else ()), input=body)

    def get(self, url: str) -> str:
        """GET any URL from inside this Pod (a Service of the cluster, say)."""
        return self._exec("get", url)


@dataclass(frozen=True)
class Influx:
    namespace: str
    edge: InfluxPod
    cloud: InfluxPod
    # Tokens go into Secrets only; they are never printed.
    edge_token: str
    cloud_token: str


INFLUXDB = """
apiVersion: v1
kind: Secret
metadata: {{name: {name}-influxdb, namespace: {namespace}}}
stringData: {{token: "{token}", password: "{password}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile: {{type: RuntimeDefault}}
      containers:
      - name: influxdb
        image: {image}
        imagePullPolicy: IfNotPresent
        env:
        - {{name: INFLUXDB_ORG, value: {name}-org}}
        - {{name: INFLUXDB_BUCKET, value: metrics}}
        - name: INFLUXDB_TOKEN
          valueFrom: {{secretKeyRef: {{name: {name}-influxdb, key: token}}}}
        - name: INFLUXDB_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {name}-influxdb, key: password}}}}
        ports: [{{containerPort: 8086}}]
        readinessProbe:
          exec: {{command: [test, -f, /var/lib/influxdb2/onboarded]}}
          periodSeconds: 1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
        volumeMounts: [{{name: data, mountPath: /var/lib/influxdb2}}]
      volumes: [{{name: data, emptyDir: {{}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 8086}}]
"""
