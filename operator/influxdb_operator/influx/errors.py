"""The client's own errors, so callers never see aiohttp's.

InfluxDB answers errors as JSON `{code, message}`; the HTTP status picks the
class here, and the message is kept. Nothing here ever carries a token: the
request's headers are not part of any error.
"""

from __future__ import annotations


class InfluxError(Exception):
    """Any failure talking to InfluxDB."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class Unreachable(InfluxError):
    """No HTTP answer at all: refused, reset, DNS, TLS or a timeout (`TimedOut`)."""


class TimedOut(Unreachable):
    """Connected (or trying to), but no answer within the call's timeout."""


class BadAnswer(InfluxError):
    """A 2xx answer that is not what InfluxDB sends (a proxy's page?): never
    taken for an empty list, which would make every object look gone."""


class APIError(InfluxError):
    """InfluxDB answered with a non-2xx status."""


class BadRequest(APIError):
    """400: the request was invalid (e.g. a queue size below the minimum)."""


class Unauthorized(APIError):
    """401/403: the token is wrong, or lacks a permission."""


class NotFound(APIError):
    """404."""


class Unprocessable(APIError):
    """422: conflict or unprocessable entity."""


class Unavailable(APIError):
    """503: not serving (a failing health check; a proxy in front with no server): temporary."""


class Starting(Unavailable):
    """503 `{"status": "starting"}`: influxd 2.10 answers every call so while it starts."""


class ServerError(APIError):
    """500 and anything else; InfluxDB also answers a duplicate name this way."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Unprocessable,
    422: Unprocessable,
    503: Unavailable,
}


def from_response(status: int, body: object, *, what: str) -> APIError:
    """The error for a non-2xx answer, its message taken from the `{code, message}` body."""
    code = message = None
    starting = status == 503 and isinstance(body, dict) and body.get("status") == "starting"
    if isinstance(body, dict):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = body.get("message") if isinstance(body.get("message"), str) else None
        if message is None and starting:
            message = "InfluxDB is still starting"
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    text = f"{what}: HTTP {status}" + (f" ({code})" if code else "") + (f": {message}" if message else "")
    return (Starting if starting else _BY_STATUS.get(status, ServerError))(text, status=status, code=code)
