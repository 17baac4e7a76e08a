"""The card app's side of a card request (contract.md, "The card request protocol").

- ``GET /card-requests/{id}``: the request as JSON, so the app can show who asks and why before
  the PIN is entered;
- ``GET /card-requests/{id}/qr.svg``: the request URL as a QR code for a phone app;
- ``POST /card-requests/{id}``: the single answer. No CSRF: the answer is authenticated by the
  card's signature over the single-use request, not by a browser session.

The browser's side (creating requests, following and continuing them) is ``idp.web.card``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.card_answers import CardAnswers
from idp.accounts.card_sign_in import CardSignIns
from idp.jpki.errors import BadSignatureError, CertificateRevokedError, WrongPurposeError
from idp.oidc.flow import Provider
from idp.throttle import FailureThrottle
from idp.web import binding
from idp.web.qr import qr_svg
from idp.web.request import issuer_url, json_or_none

# Answers that look like someone trying signatures or certificates, counted per client address:
# the card itself limits PIN tries, not what is sent here. A refused certificate (expired,
# revoked, unknown CA) is a person's real card with a real problem, and is not counted.
REFUSED_ANSWERS: tuple[type[Exception], ...] = (BadSignatureError, WrongPurposeError)


def request_links(request_id: str) -> dict[str, Any]:
    """What the page shows: the request URL, its QR code and the command that answers it, all
    at the configured issuer."""
    url = issuer_url("card_app.request_json", request_id=request_id)
    return {"request_id": request_id, "request_url": url,
            "qr_url": issuer_url("card_app.request_qr", request_id=request_id),
            "commands": {"card_file": f"idp card sign {url} --card-file CARD_FILE",
                         "reader": f'idp card sign {url} --reader "READER"'}}


def blueprint(interactions: Provider, answers: CardAnswers, checker: AnchorChecker,
              issuer: str, throttle: FailureThrottle,
              accepted: Callable[[str], None]) -> Blueprint:
    """``accepted(request_id)`` runs once an answer is accepted: what it finishes for the browser
    (``CardSignIns.after_answer``)."""
    bp = Blueprint("card_app", __name__)

    @bp.get("/card-requests/<request_id>")
    def request_json(request_id: str) -> ResponseReturnValue:
        found = answers.describe(request_id, issuer=issuer)
        state = interactions.state(found.interaction_uid, None)
        return jsonify(found.describe(relying_party=state["client"]["name"]))

    @bp.get("/card-requests/<request_id>/qr.svg")
    def request_qr(request_id: str) -> ResponseReturnValue:
        answers.describe(request_id, issuer=issuer)  # an unknown request gets no picture
        url = issuer_url("card_app.request_json", request_id=request_id)
        return Response(qr_svg(url), mimetype="image/svg+xml",
                        headers={"Cache-Control": "no-store"})

    @bp.post("/card-requests/<request_id>")
    def answer(request_id: str) -> ResponseReturnValue:
        try:
            with throttle.attempt(request.remote_addr or "", counts=REFUSED_ANSWERS):
                answers.answer(request_id, json_or_none(), issuer=issuer)
        except CertificateRevokedError as revoked:
            checker.record_revoked_card(json_or_none(), revoked)
            raise
        accepted(request_id)
        return jsonify({"status": "accepted"})

    return bp


def open_request(sign_ins: CardSignIns, **request: Any) -> Response:
    """A card request bound to this browser (its binding minted by the IdP), answered with the
    links the page and the card app follow."""
    browser = binding.browser_binding()
    response = jsonify(request_links(sign_ins.open(browser=browser, **request)))
    binding.set_browser_cookie(response, browser)
    return response
