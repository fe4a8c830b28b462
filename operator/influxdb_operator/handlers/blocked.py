"""Why a reconcile could not finish, in words fit for a condition.

Every failure a user can act on becomes a `Blocked` with a CamelCase reason
and a message naming the thing to fix; `from_influx` does that for the
client's errors, so conditions and events never show a raw traceback.
"""

from __future__ import annotations

from ..influx import errors


class Blocked(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def from_influx(error: errors.InfluxError, *, doing: str) -> Blocked:
    if isinstance(error, errors.Unreachable):
        return Blocked("Unreachable", f"{doing}: {error.message}")
    if isinstance(error, errors.Unauthorized):
        return Blocked("Unauthorized", f"{doing}: the token was rejected or lacks permission ({error.message})")
    if isinstance(error, errors.BadRequest | errors.Unprocessable):
        return Blocked("Rejected", f"{doing}: InfluxDB rejected the request ({error.message})")
    return Blocked("InfluxDBError", f"{doing}: {error.message}")
