"""A receiver's stream configuration, read and checked (SSF §8.1.1), and shown back.

The receiver supplies ``events_requested``, ``delivery`` and ``description``; the transmitter
``stream_id``, ``iss``, ``aud``, ``events_supported``, ``events_delivered`` and
``min_verification_interval``, which a request may repeat only with their current values (§8.1.1.3
and §8.1.1.4). Event types this transmitter does not know are ignored (§8.1.1: "MUST ignore"),
and the answer's ``events_delivered`` says what will be delivered. Push endpoints are https (SSF
§6.1.1, RFC 8935 §4.1); plain http only on loopback and only with ``events.allow_http_loopback``.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from idp.events.context import POLL, PUSH, EventsContext
from idp.events.errors import EventsError
from idp.events.models import Stream
from idp.events.vocabulary import SUPPORTED

TRANSMITTER_SUPPLIED = ("iss", "aud", "events_supported", "events_delivered",
                        "min_verification_interval")
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class Requested:
    """What the receiver asked for: the receiver-supplied members, checked."""

    events_requested: list[str] | None
    method: str
    endpoint_url: str | None
    authorization_header: str | None
    description: str | None

    @property
    def events_delivered(self) -> list[str]:
        """The supported events the receiver asked for (all of them when it named none)."""
        wanted = set(self.events_requested) if self.events_requested is not None else None
        return [event for event in SUPPORTED if wanted is None or event in wanted]


def requested(ctx: EventsContext, body: dict[str, Any], *, current: Stream | None = None,
              keep: bool = False) -> Requested:
    """The receiver-supplied members of ``body``. ``current``: the stream an update or a
    replacement changes (the transmitter-supplied members must match it); with ``keep`` (an
    update) members left out stay as they are, otherwise they are defaulted (no delivery means
    poll: SSF §8.1.1.1)."""
    if current is not None:
        _same_as_shown(ctx, body, current)
    base = current if keep else None
    events = _events(body["events_requested"]) if "events_requested" in body else (
        base.events_requested if base else None)
    if "delivery" in body:
        method, endpoint, header = _delivery(ctx, body["delivery"])
    elif base is not None:
        method, endpoint, header = base.method, base.endpoint_url, base.authorization_header
    else:
        method, endpoint, header = POLL, None, None
    description = body.get("description", base.description if base else None)
    if description is not None and not isinstance(description, str):
        raise EventsError("description must be a string")
    return Requested(events, method, endpoint, header,
                     description[:MAX_DESCRIPTION] if description else None)


def shown(ctx: EventsContext, stream: Stream) -> dict[str, Any]:
    """The stream's configuration as the receiver reads it."""
    delivery: dict[str, Any] = {"method": stream.method}
    if stream.method == POLL:
        delivery["endpoint_url"] = ctx.poll_url(stream.stream_id)
    else:
        delivery["endpoint_url"] = stream.endpoint_url
        if stream.authorization_header:
            delivery["authorization_header"] = stream.authorization_header
    found: dict[str, Any] = {
        "stream_id": stream.stream_id, "iss": ctx.issuer, "aud": stream.client_id,
        "events_supported": list(SUPPORTED), "events_delivered": list(stream.events_delivered),
        "delivery": delivery,
        "min_verification_interval": ctx.settings.min_verification_interval_seconds}
    if stream.events_requested is not None:
        found["events_requested"] = list(stream.events_requested)
    if stream.description:
        found["description"] = stream.description
    return found


def _same_as_shown(ctx: EventsContext, body: dict[str, Any], current: Stream) -> None:
    expected = shown(ctx, current)
    for name in TRANSMITTER_SUPPLIED:
        if name in body and body[name] != expected[name]:
            raise EventsError(f"{name} is set by the transmitter and is {expected[name]!r}")


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EventsError("events_requested must be an array of event type URIs")
    if not value:
        raise EventsError("events_requested must not be empty; leave it out to receive every "
                          "supported event")
    return value


def _delivery(ctx: EventsContext, value: Any) -> tuple[str, str | None, str | None]:
    if not isinstance(value, dict):
        raise EventsError("delivery must be an object with a method")
    method = value.get("method")
    if method == POLL:
        endpoint = value.get("endpoint_url")
        if endpoint is not None:
            raise EventsError("for poll delivery the transmitter sets endpoint_url; leave it out")
        return POLL, None, None
    if method != PUSH:
        raise EventsError(f"delivery method {method!r} is not supported; use {PUSH} (push) or "
                          f"{POLL} (poll)")
    header = value.get("authorization_header")
    if header is not None and (not isinstance(header, str) or len(header) > 1000):
        raise EventsError("authorization_header must be a string of at most 1000 characters")
    return PUSH, push_endpoint(ctx, value.get("endpoint_url")), header


def push_endpoint(ctx: EventsContext, value: Any) -> str:
    """The receiver's push endpoint: an absolute https URL without a fragment (http only to a
    loopback address, in development)."""
    if not isinstance(value, str) or len(value) > 500:
        raise EventsError("push delivery needs delivery.endpoint_url, a URL of at most 500 "
                          "characters")
    parts = urlsplit(value)
    if parts.fragment or not parts.hostname or parts.scheme not in ("https", "http"):
        raise EventsError("delivery.endpoint_url must be an absolute https URL without a "
                          "fragment")
    if parts.scheme == "http" and not (ctx.settings.allow_http_loopback and
                                       _loopback(parts.hostname)):
        raise EventsError("delivery.endpoint_url must use https (plain http is accepted only "
                          "for loopback addresses with events.allow_http_loopback, in "
                          "development)")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
