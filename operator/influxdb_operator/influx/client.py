"""The async InfluxDB v2 client: replications, remotes, authorizations, buckets, orgs, health.

One method per call the operator makes. All transport failures and non-2xx
answers leave as the client's own errors (`errors.py`); the token lives in a
`SecretStr` and in the session's default headers, never in a message.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr, TypeAdapter

from .. import sharing
from . import errors, models

# Plain calls answer in milliseconds; anything slower is a sick server.
DEFAULT_TIMEOUT = 30.0
# A validate makes InfluxDB write to the remote, which it allows up to two
# minutes; give it that plus a margin.
VALIDATE_TIMEOUT = 150.0
# influxd answers at most 100 buckets per call (a larger limit is a 400).
BUCKET_PAGE = 100
# A bucket listing that changed under it is taken again, at most this many times in all.
LISTING_ATTEMPTS = 3

# Called once per request as (endpoint, method, status or error class name, seconds).
CallObserver = Callable[[str, str, str, float], None]

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=models.Wire)
U = TypeVar("U", bound=models.Wire)


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
        self._counters = _Counters()
        self.replications: Collection[models.Replication, models.ReplicationCreate, models.ReplicationSettings] = (
            Collection(self, "/api/v2/replications", "replications", models.Replication)
        )
        self.remotes: Collection[models.Remote, models.RemoteCreate, models.RemoteUpdate] = Collection(
            self, "/api/v2/remotes", "remotes", models.Remote
        )
        # Only the org's own listing (InfluxDB ignores `name` here); used for minted remote tokens.
        self.authorizations: Collection[
            models.Authorization, models.AuthorizationCreate, models.AuthorizationUpdate
        ] = Collection(self, "/api/v2/authorizations", "authorizations", models.Authorization)

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
        data: str | None = None,
        auth: bool = True,
        timeout: float | None = None,
        raw: bool = False,
    ) -> Any:
        """The decoded answer, or with `raw` a success's text as it came."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Authorization": f"Token {self._token.get_secret_value()}"} if auth else {}
        what = f"{method} {endpoint}"
        limit = self._timeout if timeout is None else timeout
        started = time.monotonic()
        outcome = "error"
        try:
            async with self._session.request(
                method,
                self.url + path,
                params=params,
                json=json,
                data=data,
                headers=headers,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as response:
                outcome = str(response.status)
                if raw and response.status < 300:
                    return await response.text()
                body = await _read(response)
                if response.status >= 300:
                    raise errors.from_response(response.status, body, what=what)
                return body
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            outcome, failure = self._failure(error, what, limit)
            # Not chained when the cause may hold the request's headers, and so the token.
            raise failure from (error if _safe_cause(error) else None)
        finally:
            if self._observer is not None:
                self._observer(endpoint, method, outcome, time.monotonic() - started)

    def _failure(self, error: BaseException, what: str, limit: float) -> tuple[str, errors.InfluxError]:
        """(the metrics outcome, the client's error) for a call that got no answer."""
        if isinstance(error, TimeoutError):  # before OSError, its base; aiohttp's timeouts are ones too
            return "timeout", errors.TimedOut(f"{what}: no answer from {self.url} within {limit:g}s")
        if isinstance(error, aiohttp.ClientSSLError):
            return "tls", errors.Unreachable(f"{what}: TLS failure talking to {self.url}: {_describe(error)}")
        if _safe_cause(error):
            return "unreachable", errors.Unreachable(f"{what}: cannot reach {self.url}: {_describe(error)}")
        return "unreachable", errors.Unreachable(f"{what}: failed talking to {self.url}: {type(error).__name__}")

    # --- server ------------------------------------------------------------

    async def health(self) -> models.Health:
        """`/health` needs no token: it tells "up" apart from "token rejected"."""
        try:
            body = await self._call("GET", "/health", endpoint="/health", auth=False)
        except errors.Starting:
            raise  # not up yet: said as such
        except errors.APIError as error:
            # A failing health check answers 503 with the same body shape.
            raise errors.Unreachable(f"InfluxDB at {self.url} is unhealthy: {error.message}") from None
        return models.Health.model_validate(body)

    async def replication_counters(self) -> dict[str, models.QueueCounters] | None:
        """Per replication ID, influxd's queue counters from `/metrics` (no token
        needed); None where influxd runs with its metrics disabled."""
        try:
            text = await self._call("GET", "/metrics", endpoint="/metrics", auth=False, raw=True)
        except errors.NotFound:
            return None
        return self._counters.parse(text)

    async def write(self, org_id: str, bucket_id: str, lines: str) -> None:
        """Line protocol into a bucket, nanosecond timestamps."""
        params = {"orgID": org_id, "bucket": bucket_id, "precision": "ns"}
        await self._call("POST", "/api/v2/write", endpoint="/api/v2/write", params=params, data=lines)

    async def newest(
        self, org_id: str, bucket: tuple[str, str], measurement: str, tag: tuple[str, str]
    ) -> datetime | None:
        """The time of the newest point of `measurement` with `tag` within the
        last day in a bucket, given as ("bucket", name) or ("bucketID", id)."""
        flux = (
            f"from({bucket[0]}: {json.dumps(bucket[1])}) |> range(start: -1d)"
            f" |> filter(fn: (r) => r._measurement == {json.dumps(measurement)} and r[{json.dumps(tag[0])}] == "
            f'{json.dumps(tag[1])}) |> group() |> last() |> keep(columns: ["_time"])'
        )
        body = {"query": flux, "type": "flux", "dialect": {"header": True, "annotations": []}}
        text = await self._call("POST", "/api/v2/query", endpoint="/api/v2/query", params={"orgID": org_id}, json=body)
        rows = [line.split(",") for line in str(text or "").splitlines() if line.strip()]
        if len(rows) < 2 or "_time" not in rows[0]:
            return None
        return datetime.fromisoformat(rows[1][rows[0].index("_time")].strip().replace("Z", "+00:00"))

    # --- validate: InfluxDB writes an empty batch through the stream -------

    async def validate_replication(self, replication_id: str, *, timeout: float = VALIDATE_TIMEOUT) -> None:
        """Have InfluxDB prove an existing replication's remote URL, org,
        bucket and token work end to end; raises (`APIError`) if they do not."""
        path = f"/api/v2/replications/{replication_id}/validate"
        await self._call("POST", path, endpoint="/api/v2/replications/{id}/validate", timeout=timeout)

    async def validate_new_replication(
        self, request: models.ReplicationCreate, *, timeout: float = VALIDATE_TIMEOUT
    ) -> None:
        """The same proof for a replication not created yet (`?validate=true`:
        InfluxDB checks it and saves nothing)."""
        path = "/api/v2/replications"
        params = {"validate": "true"}
        endpoint = "/api/v2/replications?validate=true"
        await self._call("POST", path, endpoint=endpoint, params=params, json=request.wire(), timeout=timeout)

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

    async def list_buckets(self, org_id: str, *, page: int = BUCKET_PAGE) -> list[models.Bucket]:
        """Every bucket of the org, `page` at a time. Each page after the first
        starts on the last bucket of the one before: a bucket created or
        deleted ahead of it shifts that overlap (offset paging would then skip
        a bucket, and a ReplicationSet delete the child of a bucket it did not
        see), and the listing starts again; influxd's `after` cursor is no way
        out, it loses its place when its bucket is deleted."""
        for _ in range(LISTING_ATTEMPTS):
            found = await self._bucket_pages(org_id, page)
            if found is not None:
                return found
        raise errors.BadAnswer(f"the buckets of org {org_id} changed under every one of {LISTING_ATTEMPTS} listings")

    async def _bucket_pages(self, org_id: str, page: int) -> list[models.Bucket] | None:
        """One listing, or None if the buckets changed under it."""
        found: list[models.Bucket] = []
        while True:
            offset = max(len(found) - 1, 0)
            params = {"orgID": org_id, "limit": str(page), "offset": str(offset)}
            body = await self._call("GET", "/api/v2/buckets", endpoint="/api/v2/buckets", params=params)
            listed = _parse_list(body, "buckets", models.Bucket)
            if found:
                if not listed or listed[0].id != found[-1].id:
                    return None
                listed = listed[1:]
            found += listed
            if len(listed) < page - (offset > 0):
                return found

    async def create_bucket(self, org_id: str, name: str, retention_seconds: int) -> models.Bucket | None:
        """A new bucket (retention 0: forever); None if one of that name exists (InfluxDB's 422)."""
        rules = [{"type": "expire", "everySeconds": retention_seconds}] if retention_seconds else []
        body = {"orgID": org_id, "name": name, "retentionRules": rules}
        try:
            created = await self._call("POST", "/api/v2/buckets", endpoint="/api/v2/buckets", json=body)
        except errors.Unprocessable:
            return None
        return models.Bucket.model_validate(created)

    async def get_bucket(self, bucket_id: str) -> models.Bucket | None:
        try:
            body = await self._call("GET", f"/api/v2/buckets/{bucket_id}", endpoint="/api/v2/buckets/{id}")
        except errors.NotFound:
            return None
        return models.Bucket.model_validate(body)


class Collection(Generic[M, C, U]):
    """One kind of org-scoped object (`/api/v2/replications`, `/api/v2/remotes`):
    the same five calls, and InfluxDB's same answers, for each."""

    def __init__(self, client: InfluxClient, path: str, key: str, model: type[M]) -> None:
        self._client, self._path, self._key, self._model = client, path, key, model
        self._last: tuple[str, str, list[M]] | None = None  # org, answer, its objects

    async def list(self, org_id: str, *, name: str | None = None) -> list[M]:
        """The org's objects (InfluxDB may ignore `name`). An answer the same as the
        last one of the whole org's is not parsed again: a refresh asks every period,
        and at rest it is the same, ten thousand objects of it at a time."""
        params = {"orgID": org_id} | ({"name": name} if name is not None else {})
        text = await self._client._call("GET", self._path, endpoint=self._path, params=params, raw=True)
        if name is None and self._last is not None and self._last[:2] == (org_id, text):
            return list(self._last[2])
        try:
            body = json.loads(text)
        except ValueError:
            raise errors.BadAnswer(f"GET {self._path}: the answer is not JSON") from None
        items = _parse_list(body, self._key, self._model)
        if name is None:
            self._last = (org_id, text, items)
        return list(items)

    async def get(self, object_id: str) -> M | None:
        try:
            body = await self._client._call("GET", f"{self._path}/{object_id}", endpoint=f"{self._path}/{{id}}")
        except errors.NotFound:
            return None
        return self._model.model_validate(body)

    async def create(self, request: C) -> M:
        body = await self._client._call("POST", self._path, endpoint=self._path, json=request.wire())
        return self._model.model_validate(body)

    async def update(self, object_id: str, request: U) -> M:
        path = f"{self._path}/{object_id}"
        body = await self._client._call("PATCH", path, endpoint=f"{self._path}/{{id}}", json=request.wire())
        return self._model.model_validate(body)

    async def delete(self, object_id: str) -> bool:
        """True if deleted now, False if it was already gone."""
        try:
            await self._client._call("DELETE", f"{self._path}/{object_id}", endpoint=f"{self._path}/{{id}}")
        except errors.NotFound:
            return False
        return True


def _parse_list(body: Any, key: str, model: type[M]) -> list[M]:
    # An empty list may come back as `{"<key>": null}`.
    items = body.get(key) if isinstance(body, dict) else None
    for item in items or []:  # each holds its org's, buckets' and remote's IDs: shared
        for field, value in item.items() if isinstance(item, dict) else ():
            if type(value) is str and field not in _OWN:
                item[field] = sharing.share(value)
    parsed = _list_of(model).validate_python(items or [])
    for each in parsed:
        sharing.share_fields_set(each)
    return parsed


# Each object's own, unlike its other strings: shared, ten thousand of them
# would only push what is alike out of the table at every listing parsed.
_OWN = frozenset({"id", "name"})


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


_COUNTER_FIELDS = {
    "replications_queue_total_bytes_queued": "bytes_queued",
    "replications_queue_total_points_queued": "points_queued",
    "replications_queue_remote_write_bytes_sent": "bytes_sent",
    "replications_queue_remote_write_bytes_dropped": "bytes_dropped",
    "replications_queue_bytes_failed_to_queue": "bytes_failed_to_queue",
    "replications_queue_points_failed_to_queue": "points_failed_to_queue",
    "replications_queue_remote_write_errors": "write_errors",
}
_PREFIX = "replications_queue_"
_SAMPLE = re.compile(r'^(replications_queue_\w+)\{[^}]*replicationID="([0-9a-f]+)"[^}]*\} (\S+)$', re.MULTILINE)


class _Counters:
    """The last `/metrics` parse: at rest influxd's replication lines are the same
    every period, and parsing them costs ~15 ms per thousand replications."""

    def __init__(self) -> None:
        self._section = ""
        self._counters: dict[str, models.QueueCounters] = {}

    def parse(self, text: str) -> dict[str, models.QueueCounters]:
        section = _section(text)
        if section != self._section:
            self._section, self._counters = section, parse_counters(section)
        return self._counters


def _section(text: str) -> str:
    """From the first replication counter's line to the last one's: influxd writes
    its metric families sorted by name, so all of them and little else."""
    first = text.find(_PREFIX)
    if first < 0:
        return ""
    first = text.rfind("\n", 0, first) + 1
    end = text.find("\n", text.rfind(_PREFIX) + 1)
    return text[first : end if end >= 0 else len(text)]


def parse_counters(text: str) -> dict[str, models.QueueCounters]:
    """The replication counters of a Prometheus text exposition; only those
    lines are read, the rest of influxd's metrics (most of it) is skipped."""
    found: dict[str, dict[str, float]] = {}
    for match in _SAMPLE.finditer(text):
        name, replication_id, value = match.groups()
        field = _COUNTER_FIELDS.get(name)
        if field is not None:
            fields = found.setdefault(replication_id, {})
            fields[field] = fields.get(field, 0.0) + float(value)  # summed over other labels (codes)
    return {rid: models.QueueCounters.model_validate(fields) for rid, fields in found.items()}


async def _read(response: aiohttp.ClientResponse) -> Any:
    """The decoded JSON body, else its text, else None."""
    if response.content_length == 0:
        return None
    text = await response.text()
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _safe_cause(error: BaseException) -> bool:
    """Connection errors and timeouts carry the host and the OS error only;
    other aiohttp errors (ClientResponseError) hold the request's headers."""
    return isinstance(error, TimeoutError | OSError | aiohttp.ClientConnectionError)


def _describe(error: BaseException) -> str:
    # aiohttp's messages name the host and the OS error, never headers.
    return str(error) or error.__class__.__name__
