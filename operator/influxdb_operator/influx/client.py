"""The async InfluxDB v2 client: replications, remotes, buckets, orgs, health.

One method per call the operator makes. All transport failures and non-2xx
answers leave as the client's own errors (`errors.py`); the token lives in a
`SecretStr` and in the session's default headers, never in a message.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr, TypeAdapter

from . import errors, models

# Plain calls answer in milliseconds; anything slower is a sick server.
DEFAULT_TIMEOUT = 30.0
# `?validate=true` and `/validate` make InfluxDB write to the remote, which
# it allows up to two minutes; give it that plus a margin.
VALIDATE_TIMEOUT = 150.0

# Called once per request as (endpoint, method, status or error class name, seconds).
CallObserver = Callable[[str, str, str, float], None]

M = TypeVar("M", bound=BaseModel)


class InfluxClient:
    def __init__(
        self,
        url: str,
        token: SecretStr,
        *,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        observer: CallObserver | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._ssl = ssl_context
        self._timeout = timeout
        self._observer = observer
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- transport ---------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
        auth: bool = True,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Authorization": f"Token {self._token.get_secret_value()}"} if auth else {}
        what = f"{method} {endpoint}"
        started = time.monotonic()
        outcome = "error"
        try:
            async with self._session.request(
                method,
                self.url + path,
                params=params,
                json=json,
                headers=headers,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=timeout or self._timeout),
            ) as response:
                outcome = str(response.status)
                body: Any = None
                if response.content_length != 0:
                    text = await response.text()
                    try:
                        body = await response.json(content_type=None) if text else None
                    except ValueError:
                        body = text
                if response.status >= 300:
                    raise errors.from_response(response.status, body, what=what)
                return body
        except aiohttp.ClientSSLError as error:
            outcome = "tls"
            # aiohttp's text names the host and the verification failure only.
            raise errors.Unreachable(f"{what}: TLS failure talking to {self.url}: {_describe(error)}") from None
        except (aiohttp.ClientError, OSError) as error:
            outcome = "unreachable"
            raise errors.Unreachable(f"{what}: cannot reach {self.url}: {_describe(error)}") from None
        except TimeoutError:
            outcome = "timeout"
            raise errors.Unreachable(
                f"{what}: no answer from {self.url} within {timeout or self._timeout:.0f}s"
            ) from None
        finally:
            if self._observer is not None:
                self._observer(endpoint, method, outcome, time.monotonic() - started)

    # --- server ------------------------------------------------------------

    async def health(self) -> models.Health:
        """`/health` needs no token: it tells "up" apart from "token rejected"."""
        try:
            body = await self._call("GET", "/health", endpoint="/health", auth=False)
        except errors.APIError as error:
            # A failing health check answers 503 with the same body shape.
            raise errors.Unreachable(f"InfluxDB at {self.url} is unhealthy: {error.message}") from None
        return models.Health.model_validate(body)

    async def find_org(self, name: str) -> models.Organization | None:
        try:
            body = await self._call("GET", "/api/v2/orgs", endpoint="/api/v2/orgs", params={"org": name})
        except errors.NotFound:
            return None
        orgs = _parse_list(body, "orgs", models.Organization)
        return next((o for o in orgs if o.name == name), None)

    async def get_org(self, org_id: str) -> models.Organization | None:
        try:
            body = await self._call("GET", f"/api/v2/orgs/{org_id}", endpoint="/api/v2/orgs/{id}")
        except errors.NotFound:
            return None
        return models.Organization.model_validate(body)

    async def find_bucket(self, org_id: str, name: str) -> models.Bucket | None:
        try:
            body = await self._call(
                "GET", "/api/v2/buckets", endpoint="/api/v2/buckets", params={"orgID": org_id, "name": name}
            )
        except errors.NotFound:
            return None
        return next((b for b in _parse_list(body, "buckets", models.Bucket) if b.name == name), None)

    async def get_bucket(self, bucket_id: str) -> models.Bucket | None:
        try:
            body = await self._call("GET", f"/api/v2/buckets/{bucket_id}", endpoint="/api/v2/buckets/{id}")
        except errors.NotFound:
            return None
        return models.Bucket.model_validate(body)

    # --- replications ------------------------------------------------------

    async def list_replications(self, org_id: str, *, name: str | None = None) -> list[models.Replication]:
        params = {"orgID": org_id} | ({"name": name} if name is not None else {})
        body = await self._call("GET", "/api/v2/replications", endpoint="/api/v2/replications", params=params)
        return _parse_list(body, "replications", models.Replication)

    async def get_replication(self, replication_id: str) -> models.Replication | None:
        try:
            body = await self._call(
                "GET", f"/api/v2/replications/{replication_id}", endpoint="/api/v2/replications/{id}"
            )
        except errors.NotFound:
            return None
        return models.Replication.model_validate(body)

    async def create_replication(self, request: models.ReplicationCreate) -> models.Replication:
        body = await self._call("POST", "/api/v2/replications", endpoint="/api/v2/replications", json=request.wire())
        return models.Replication.model_validate(body)

    async def update_replication(self, replication_id: str, request: models.ReplicationUpdate) -> models.Replication:
        body = await self._call(
            "PATCH",
            f"/api/v2/replications/{replication_id}",
            endpoint="/api/v2/replications/{id}",
            json=request.wire(),
        )
        return models.Replication.model_validate(body)

    async def delete_replication(self, replication_id: str) -> bool:
        """True if deleted now, False if it was already gone."""
        try:
            await self._call("DELETE", f"/api/v2/replications/{replication_id}", endpoint="/api/v2/replications/{id}")
        except errors.NotFound:
            return False
        return True

    async def validate_replication(self, replication_id: str) -> None:
        """Have InfluxDB write an empty batch to the remote; raises if it fails."""
        await self._call(
            "POST",
            f"/api/v2/replications/{replication_id}/validate",
            endpoint="/api/v2/replications/{id}/validate",
            timeout=VALIDATE_TIMEOUT,
        )

    # --- remotes -----------------------------------------------------------

    async def list_remotes(self, org_id: str, *, name: str | None = None) -> list[models.Remote]:
        params = {"orgID": org_id} | ({"name": name} if name is not None else {})
        body = await self._call("GET", "/api/v2/remotes", endpoint="/api/v2/remotes", params=params)
        return _parse_list(body, "remotes", models.Remote)

    async def get_remote(self, remote_id: str) -> models.Remote | None:
        try:
            body = await self._call("GET", f"/api/v2/remotes/{remote_id}", endpoint="/api/v2/remotes/{id}")
        except errors.NotFound:
            return None
        return models.Remote.model_validate(body)

    async def create_remote(self, request: models.RemoteCreate) -> models.Remote:
        body = await self._call("POST", "/api/v2/remotes", endpoint="/api/v2/remotes", json=request.wire())
        return models.Remote.model_validate(body)

    async def update_remote(self, remote_id: str, request: models.RemoteUpdate) -> models.Remote:
        body = await self._call(
            "PATCH", f"/api/v2/remotes/{remote_id}", endpoint="/api/v2/remotes/{id}", json=request.wire()
        )
        return models.Remote.model_validate(body)

    async def delete_remote(self, remote_id: str) -> bool:
        """True if deleted now, False if it was already gone."""
        try:
            await self._call("DELETE", f"/api/v2/remotes/{remote_id}", endpoint="/api/v2/remotes/{id}")
        except errors.NotFound:
            return False
        return True


def _parse_list(body: Any, key: str, model: type[M]) -> list[M]:
    # An empty list may come back as `{"<key>": null}`.
    items = body.get(key) if isinstance(body, dict) else None
    return TypeAdapter(list[model]).validate_python(items or [])  # type: ignore[valid-type]


def _describe(error: BaseException) -> str:
    # aiohttp's messages name the host and the OS error, never headers.
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return str(error) or error.__class__.__name__
