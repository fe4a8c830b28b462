"""The health endpoint while standing by. kopf serves it once it runs; until
then a standby answers it itself, so that the kubelet's probes pass for leader
and standby alike (a Deployment's rollout, and a PodDisruptionBudget, count a
standby as available: it is ready to lead)."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"standby": true}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """A probe is not worth a log line."""


class StandbyProbe:
    """Answers 200 on the liveness endpoint's host and port until closed,
    which must come before kopf binds the same port."""

    def __init__(self, endpoint: str) -> None:
        url = urllib.parse.urlsplit(endpoint)
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((url.hostname or "0.0.0.0", url.port or 80), _Handler)  # noqa: S104
        self._thread = threading.Thread(target=self._server.serve_forever, name="standby-probe", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
