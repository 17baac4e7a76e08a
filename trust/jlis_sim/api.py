"""The simulator's HTTP API (docs/jlis-api.md): public CA downloads and the verifier endpoints.

Every verifier call is authenticated by API key, written to the audit log (also when refused) and
metered per the 2016 fee plan. Errors are JSON ``{"error", "error_description"}`` with a 4xx.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from idp.jpki.profile import Purpose
from idp.settings import Settings
from trust.jlis_sim import ca, crl, ocsp, services, verifiers
from trust.jlis_sim.errors import (
    BadRequestError,
    MethodNotAllowedError,
    NoSuchEndpointError,
    SimError,
)
from trust.jlis_sim.models import CaRecord
from trust.jlis_sim.store import Sim, open_sim

public = Blueprint("public", __name__)
v1 = Blueprint("v1", __name__, url_prefix="/v1")


def create_sim_app(settings: Settings, sim: Sim | None = None) -> Flask:
    app = Flask("jlis_sim")
    app.extensions["sim"] = sim or open_sim(settings)
    app.register_blueprint(public)
    app.register_blueprint(v1)
    app.register_error_handler(SimError, _error)
    app.register_error_handler(404, lambda _e: _error(NoSuchEndpointError()))
    app.register_error_handler(405, lambda _e: _error(MethodNotAllowedError()))
    return app


def _error(error: SimError) -> tuple[Response, int]:
    return jsonify(error.to_dict()), error.status


def _sim() -> Sim:
    sim: Sim = current_app.extensions["sim"]
    return sim


@public.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@public.get("/ca/<ca_id>.der")
def ca_certificate(ca_id: str) -> Response:
    with _sim().transaction() as session:
        der = ca.get(session, ca_id).certificate_der
    return Response(der, mimetype="application/pkix-cert")


Handler = Callable[[Sim, Session, str], tuple[Any, Purpose | None, str | None, str]]


def _verifier_call(endpoint: str, handler: Handler) -> Any:
    """Authenticate, run ``handler`` (→ body, charged purpose, serial, outcome), audit, meter.

    Refusals are audited in their own transaction, so the log keeps them even though the
    handler's work is rolled back.
    """
    sim = _sim()
    verifier_id: str | None = None
    try:
        with sim.transaction() as session:
            verifier_id = verifiers.authenticate(
                session, request.headers.get("Authorization")).verifier_id
            body, purpose, serial, outcome = handler(sim, session, verifier_id)
            verifiers.audit(session, sim, verifier_id, endpoint, serial, outcome)
            if purpose is not None:
                verifiers.meter(session, sim, verifier_id, purpose, endpoint)
            return body
    except SimError as error:
        with sim.transaction() as session:
            verifiers.audit(session, sim, verifier_id, endpoint, _named_serial(),
                            f"{error.status} {error.code}: {error.description}")
        raise


@v1.get("/cas")
def cas() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        return jsonify([_ca_json(sim, r) for r in ca.all_records(session)]), None, None, "ok"
    return _verifier_call("cas", handler)


def _ca_json(sim: Sim, record: CaRecord) -> dict[str, Any]:
    urls = ca.load(record).urls(sim.base_url)
    return {"ca_id": record.ca_id, "purpose": record.purpose, "medium": record.medium,
            "label": record.label, "key_id": record.key_id,
            "certificate": base64.b64encode(record.certificate_der).decode(),
            "crl_url": urls.crl, "ocsp_url": urls.ocsp}


@v1.get("/crl/<ca_id>")
def crl_by_id(ca_id: str) -> Any:
    return _crl_call("crl", lambda session: ca.get(session, ca_id))


@v1.get("/crl/by-key/<key_id>")
def crl_by_key(key_id: str) -> Any:
    return _crl_call("crl/by-key", lambda session: ca.by_key_id(session, key_id))


def _crl_call(endpoint: str, find: Callable[[Session], CaRecord]) -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        record = find(session)
        body = Response(crl.current_crl(sim, session, record), mimetype="application/pkix-crl")
        return body, Purpose(record.purpose), None, f"crl {record.ca_id} #{record.crl_number}"
    return _verifier_call(endpoint, handler)


@v1.post("/ocsp")
def ocsp_endpoint() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        parsed = ocsp.parse_request(request.get_data())
        answer = ocsp.answer(sim, session, parsed)
        body = Response(answer.der, mimetype="application/ocsp-response")
        return body, answer.purpose, answer.serial, f"ocsp {answer.status}"
    return _verifier_call("ocsp", handler)


@v1.get("/links/pair")
def links_pair() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        record = services.certificate(session, _arg("serial"), _purpose(_arg("purpose")))
        return jsonify(services.pair(session, record)), Purpose(record.purpose), \
            record.serial, "ok"
    return _verifier_call("links/pair", handler)


@v1.get("/links/previous")
def links_previous() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        record = services.certificate(session, _arg("serial"), _purpose(_arg("purpose")))
        return jsonify(services.previous(session, record)), Purpose(record.purpose), \
            record.serial, "ok"
    return _verifier_call("links/previous", handler)


@v1.post("/basic4")
def basic4() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        body = _json()
        record = services.certificate(session, str(body.get("serial", "")), Purpose.SIGN)
        consent = body.get("consent")
        if not isinstance(consent, dict):
            raise BadRequestError("`consent` (certificate, to_be_signed, consent_text, signature) "
                             "is required")
        answer = services.basic4(sim, session, record, consent)
        return jsonify(answer), Purpose.SIGN, record.serial, "provided"
    return _verifier_call("basic4", handler)


@v1.post("/age")
def age() -> Any:
    def handler(sim: Sim, session: Session, _v: str) -> Any:
        body = _json()
        purpose = _purpose(str(body.get("purpose", "")))
        years, on = body.get("age"), body.get("on")
        if not isinstance(years, int) or isinstance(years, bool) or years < 0:
            raise BadRequestError("`age` must be a non-negative integer")
        answer = services.age(sim, session, str(body.get("serial", "")), purpose, years,
                              _date(on))
        return jsonify(answer), purpose, str(body.get("serial")), \
            f"age {answer['certificate_status']}"
    return _verifier_call("age", handler)


@v1.get("/metering")
def metering() -> Any:
    def handler(sim: Sim, session: Session, verifier_id: str) -> Any:
        since = request.args.get("since")
        try:
            moment = datetime.fromisoformat(since) if since else None
        except ValueError as error:
            raise BadRequestError("`since` must be an RFC 3339 time") from error
        return jsonify(verifiers.usage(session, verifier_id, moment)), None, None, "ok"
    return _verifier_call("metering", handler)


def _named_serial() -> str | None:
    """The serial a (refused) call named, for the audit log."""
    body = request.get_json(silent=True) if request.is_json else None
    serial = request.args.get("serial") or (body.get("serial") if isinstance(body, dict) else None)
    return str(serial)[:42] if serial else None


def _arg(name: str) -> str:
    value = request.args.get(name)
    if not value:
        raise BadRequestError(f"query parameter `{name}` is required")
    return value


def _purpose(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError as error:
        raise BadRequestError("`purpose` must be sign or auth") from error


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def _date(value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise BadRequestError("`on` must be a date YYYY-MM-DD") from error
