"""The Shared Signals transmitter's HTTP face: a thin Flask adapter over ``idp.events``.

``/.well-known/ssf-configuration`` (SSF §7), the stream management API (§8: ``/ssf/stream``,
``/ssf/status``, ``/ssf/subjects:add``, ``/ssf/subjects:remove``, ``/ssf/verify``) and each poll
stream's endpoint (``/ssf/poll/{stream_id}``, RFC 8936). Every call but the configuration names
its receiver with a Bearer access token (``idp.events.access``); refusals go through the one
error renderer, with ``WWW-Authenticate: Bearer`` for a token refused (RFC 6750 §3).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from idp.events import access, discovery, poll, streams, subjects
from idp.events.context import EventsContext
from idp.events.errors import BearerError
from idp.web import errors, headers
from idp.web import request as web_request


def _no_store(body: Any, status: int = 200) -> Response:
    response = jsonify(body) if body is not None else Response(status=status)
    response.status_code = status
    response.headers.extend(headers.NO_STORE)
    return response


def _body() -> dict[str, Any]:
    """The request's JSON object (malformed JSON, or anything else: 400)."""
    return web_request.json_object()


def blueprint(ctx: EventsContext) -> Blueprint:
    bp = Blueprint("ssf", __name__)

    def receiver() -> str:
        return access.receiver(ctx, request.headers.get("Authorization"))

    @bp.errorhandler(BearerError)
    def refused_token(error: BearerError) -> Response:
        response = errors.respond(error)
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
        return response

    @bp.get("/.well-known/ssf-configuration")
    def configuration() -> Any:
        return jsonify(discovery.metadata(ctx.issuer))

    @bp.route("/ssf/stream", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def stream() -> Any:
        client_id = receiver()
        if request.method == "GET":
            return _no_store(streams.read(ctx, client_id, request.args.get("stream_id")))
        if request.method == "DELETE":
            streams.remove(ctx, client_id, request.args.get("stream_id"))
            return _no_store(None, 204)
        if request.method == "POST":
            return _no_store(streams.create(ctx, client_id, _body()), 201)
        return _no_store(streams.change(ctx, client_id, _body(),
                                        replace=request.method == "PUT"))

    @bp.route("/ssf/status", methods=["GET", "POST"])
    def status() -> Any:
        client_id = receiver()
        if request.method == "GET":
            return _no_store(streams.status(ctx, client_id, request.args.get("stream_id")))
        return _no_store(streams.set_status(ctx, client_id, _body()))

    @bp.post("/ssf/subjects:add")
    def add_subject() -> Any:
        subjects.add(ctx, receiver(), _body())
        return _no_store(None, 200)

    @bp.post("/ssf/subjects:remove")
    def remove_subject() -> Any:
        subjects.remove(ctx, receiver(), _body())
        return _no_store(None, 204)

    @bp.post("/ssf/verify")
    def verify() -> Any:
        subjects.verify(ctx, receiver(), _body())
        return _no_store(None, 204)

    @bp.post("/ssf/poll/<stream_id>")
    def poll_events(stream_id: str) -> Any:
        client_id = receiver()
        body = _body() if request.get_data() else {}  # an empty poll: the defaults
        return _no_store(poll.poll(ctx, client_id, stream_id, body))

    return bp
