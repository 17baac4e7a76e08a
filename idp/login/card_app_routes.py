"""The card app's side of a card request (contract.md, "The card request protocol").

- ``GET /card-requests/{id}``: the request as JSON, so the app can show who asks and why before
  the PIN is entered;
- ``GET /card-requests/{id}/qr.svg``: the request URL as a QR code for a phone app;
- ``POST /card-requests/{id}``: the single answer. No CSRF: the answer is authenticated by the
  card's signature over the single-use request, not by a browser session.

The browser's side (creating requests, following and continuing them) is ``card_routes``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts import card_requests
from idp.accounts.anchor_check import AnchorChecker, CertAnswer, reason_flag
from idp.accounts.anchor_policy import CertStatus
from idp.accounts.card_answers import CardAnswers
from idp.accounts.jpki_models import AuthLink
from idp.errors import IdpError
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import BadSignatureError, CertificateRevokedError, WrongPurposeError
from idp.login.ports import Interactions
from idp.login.qr import qr_svg
from idp.login.routes import json_or_none
from idp.throttle import FailureThrottle

# Answers that look like someone trying signatures or certificates, counted per client address:
# the card itself limits PIN tries, not what is sent here. A refused certificate (expired,
# revoked, unknown CA) is a person's real card with a real problem, and is not counted.
REFUSED_ANSWERS: tuple[type[Exception], ...] = (BadSignatureError, WrongPurposeError)


def request_links(request_id: str) -> dict[str, Any]:
    """What the page shows: the request URL, its QR code and the command that answers it."""
    url = url_for("card_app.request_json", request_id=request_id, _external=True)
    return {"request_id": request_id, "request_url": url,
            "qr_url": url_for("card_app.request_qr", request_id=request_id),
            "commands": {"card_file": f"idp card sign {url} --card-file CARD_FILE",
                         "reader": f'idp card sign {url} --reader "READER"'}}


def blueprint(interactions: Interactions, sessions: sessionmaker[Session], answers: CardAnswers,
              checker: AnchorChecker, issuer: str, throttle: FailureThrottle,
              accepted: Callable[[str], None]) -> Blueprint:
    """``accepted(request_id)`` runs once an answer is accepted: what it finishes for the browser
    (card_routes)."""
    bp = Blueprint("card_app", __name__)

    @bp.get("/card-requests/<request_id>")
    def request_json(request_id: str) -> ResponseReturnValue:
        with sessions() as db:
            row = card_requests.load(db, request_id)
            state = interactions.state(row.interaction_uid, None)
            return jsonify(card_requests.describe(row, issuer=issuer,
                                                  relying_party=state["client"]["name"]))

    @bp.get("/card-requests/<request_id>/qr.svg")
    def request_qr(request_id: str) -> ResponseReturnValue:
        with sessions() as db:
            card_requests.load(db, request_id)  # an unknown request gets no picture
        url = url_for("card_app.request_json", request_id=request_id, _external=True)
        return Response(qr_svg(url), mimetype="image/svg+xml",
                        headers={"Cache-Control": "no-store"})

    @bp.post("/card-requests/<request_id>")
    def answer(request_id: str) -> ResponseReturnValue:
        try:
            with throttle.attempt(request.remote_addr or "", counts=REFUSED_ANSWERS):
                answers.answer(request_id, json_or_none(), issuer=issuer)
        except CertificateRevokedError as revoked:
            _record_revoked_card(sessions, checker, json_or_none(), revoked)
            raise
        accepted(request_id)
        return jsonify({"status": "accepted"})

    return bp


def _record_revoked_card(sessions: sessionmaker[Session], checker: AnchorChecker, body: Any,
                         revoked: CertificateRevokedError) -> None:
    """A revoked auth certificate of a known card: record what it means for the account now
    (J-LIS revokes the auth certificate only on card loss, emigration or death: domain.md)."""
    try:
        certificate = parse_certificate(base64.b64decode(body["certificate"]))
    except (IdpError, KeyError, TypeError, ValueError):
        return
    with sessions() as db:
        link = db.get(AuthLink, certificate.serial_hex)
        private_id = link.private_id if link else None
    if private_id is not None:
        checker.check(private_id, auth=CertAnswer(CertStatus.REVOKED, reason_flag(revoked.reason)))
