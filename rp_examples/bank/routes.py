"""The bank's own pages and its transfer API.

=============================  ==================================================================
``GET /open-account``          what an opening needs, and the outcome of the last attempt
``GET /transfer?amount=N``     the transfer form (``amount`` prefilled)
``POST /transfer``             asks the transfer API; follows its step-up challenge or its
                               demand for the card signature by sending the person to the IdP
``GET /transfer/<id>``         where the IdP's answer lands: verifies the card signature the
                               token response carries, then asks the API again
``POST /transfer/<id>/approve``  asks for the card signature again (after a cancelled one)
``POST /api/transfers``        the resource server: ``{"transfer_id"}`` with a Bearer token
=============================  ==================================================================
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, Response, abort, jsonify, redirect, request, session

from rp_examples.bank import OPEN_ACCOUNT, TRANSFER_LARGE, bank_of, opening
from rp_examples.bank.resource import TokenRefused, decide_transfer, verify_access_token
from rp_examples.bank.signature import DETAIL_TYPE, SignatureRefused, verify_signed_document
from rp_examples.bank.step_up import Requirement, authorization_params, parse_challenge
from rp_examples.bank.store import Transfer
from rp_examples.bank.transfers import (
    DEFAULT_PAYEE,
    TITLE,
    TransferInputError,
    check_payee,
    needs_signature,
    new_transfer,
    parse_amount,
)
from rp_examples.common import Ask, Login, current_login, language, render, start_login, state_of

API_TIMEOUT = 10  # seconds


def _app() -> Flask:
    from flask import current_app

    return current_app


def _csrf() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def _csrf_ok() -> bool:
    sent, kept = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(kept) and secrets.compare_digest(str(sent), str(kept))


def _login_first(next_path: str) -> Response:
    return redirect("/login?" + urlencode({"next": next_path}))  # type: ignore[return-value]


# -- account opening ------------------------------------------------------------------------
def after_login(login: Login) -> Response | None:
    """After a login made for an opening, record it or say why not (then /open-account)."""
    if login.action != OPEN_ACCOUNT:
        return None
    decision = opening.decide(login.id_token_claims, now=int(time.time()))
    bank = bank_of(_app())
    if isinstance(decision, opening.Refusal):
        session["opening"] = {"ok": False, "reason": decision.reason,
                              "why": {"ja": decision.ja, "en": decision.en}}
    else:
        existed = bank.store.customer(login.sub) is not None
        bank.store.open_account(login.sub, decision)
        session["opening"] = {"ok": True, "again": existed}
    return redirect("/open-account")  # type: ignore[return-value]


def after_error(action: str | None, error: str, description: str) -> Response | None:
    """The IdP answered an opening's or a signing's login with an error."""
    if action == OPEN_ACCOUNT:
        refused = opening.refusal_for_error(error)
        session["opening"] = {"ok": False, "reason": refused.reason, "error": error,
                              "why": {"ja": refused.ja, "en": refused.en}}
        return redirect("/open-account")  # type: ignore[return-value]
    transfer_id = session.pop("signing", None)
    if action == TRANSFER_LARGE and transfer_id:
        session["declined"] = {"id": transfer_id, "error": error, "description": description}
        return redirect(f"/transfer/{transfer_id}")  # type: ignore[return-value]
    return None


# -- transfers ------------------------------------------------------------------------------
def _call_api(transfer: Transfer, login: Login) -> requests.Response:
    token = login.tokens.get("access_token", "")
    return requests.post(state_of(_app()).config.url("/api/transfers"), timeout=API_TIMEOUT,
                         json={"transfer_id": transfer.id},
                         headers={"Authorization": f"Bearer {token}"})


def _to_idp(transfer: Transfer, required: Requirement | None) -> Response:
    """A new authorization request: what the API's challenge named, and for a large transfer
    the document the card must sign (RFC 9396 ``jpki_signature``)."""
    params = authorization_params(required) if required else {}
    extra: dict[str, str] = {}
    action = None
    if needs_signature(transfer.amount, bank_of(_app()).settings.limit):
        extra["authorization_details"] = json.dumps(
            [{"type": DETAIL_TYPE, "document": {"title": TITLE, "text": transfer.text}}],
            ensure_ascii=False)
        session["signing"] = transfer.id
        action = TRANSFER_LARGE
    session["stepped_up"] = transfer.id
    base = state_of(_app()).profile.ask
    ask = Ask(acr_values=params.get("acr_values"),
              claims=json.loads(params["claims"]) if "claims" in params else None,
              max_age=int(params["max_age"]) if "max_age" in params else None,
              scope=base.scope, extra=extra)
    return start_login(ask, action=action, next_path=f"/transfer/{transfer.id}")


def _execute(transfer: Transfer, login: Login, *, may_login: bool) -> Response:
    """Ask the API; on 200 the transfer is made; a challenge or a missing signature sends the
    person to the IdP (once per attempt: a login made for it is not sent back again)."""
    bank = bank_of(_app())
    answer = _call_api(transfer, login)
    if answer.status_code == 200:
        return redirect(f"/transfer/{transfer.id}")  # type: ignore[return-value]
    body = _json(answer)
    challenged = parse_challenge(answer.headers.get("WWW-Authenticate", ""))
    wants_login = challenged is not None or answer.status_code == 401 or \
        body.get("error") == "signature_required"
    if wants_login and may_login:
        return _to_idp(transfer, challenged)
    if body.get("error") == "signer_mismatch":
        bank.store.finish_transfer(transfer.id, "refused")
    return _transfer_page(transfer.id, status=403 if answer.status_code != 401 else 401,
                          api_error=body)


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _signed_detail(login: Login, transfer: Transfer) -> Mapping[str, Any] | None:
    """The token response's ``jpki_signature`` detail for this transfer's text, if any."""
    for detail in login.tokens.get("authorization_details") or ():
        if isinstance(detail, Mapping) and detail.get("type") == DETAIL_TYPE and \
                isinstance(detail.get("document"), Mapping) and \
                detail["document"].get("text") == transfer.text:
            return detail
    return None


def _transfer_page(transfer_id: str, status: int = 200, **extra: Any) -> Response:
    bank = bank_of(_app())
    transfer = bank.store.transfer(transfer_id)
    return render("transfer_status.html", status, transfer=transfer, csrf_token=_csrf(),
                  issuer_checked=bool(bank.trusted_cas), **extra)


def add_routes(app: Any) -> None:
    flask_app: Flask = app

    @flask_app.get("/open-account")
    def open_account() -> Response:
        return render("open_account.html", outcome=session.pop("opening", None))

    @flask_app.get("/transfer")
    def transfer_form() -> Response:
        if current_login() is None:
            return _login_first(request.full_path.rstrip("?"))
        return render("transfer.html", csrf_token=_csrf(), payee=DEFAULT_PAYEE,
                      amount=request.args.get("amount", ""))

    @flask_app.post("/transfer")
    def transfer_request() -> Response:
        login, bank = current_login(), bank_of(flask_app)
        if login is None:
            return _login_first("/transfer")
        if not _csrf_ok():
            return render("transfer.html", 400, csrf_token=_csrf(), error="csrf",
                          payee=DEFAULT_PAYEE, amount=request.form.get("amount", ""))
        customer = bank.store.customer(login.sub)
        try:
            amount = parse_amount(request.form.get("amount"))
            payee = check_payee(request.form.get("payee"))
        except TransferInputError as bad:
            return render("transfer.html", 400, csrf_token=_csrf(), input_error=str(bad),
                          payee=request.form.get("payee", DEFAULT_PAYEE),
                          amount=request.form.get("amount", ""))
        if customer is None:
            return render("transfer.html", 403, csrf_token=_csrf(), error="no_account",
                          payee=payee, amount=str(amount))
        transfer = new_transfer(customer, amount, payee)
        bank.store.add_transfer(transfer)
        return _execute(transfer, login, may_login=True)

    @flask_app.get("/transfer/<transfer_id>")
    def transfer_status(transfer_id: str) -> Response:
        login, bank = current_login(), bank_of(flask_app)
        if login is None:
            return _login_first(f"/transfer/{transfer_id}")
        transfer = bank.store.transfer(transfer_id)
        if transfer is None or transfer.sub != login.sub:
            abort(404)
        declined = session.get("declined")
        if declined and declined.get("id") == transfer_id:
            session.pop("declined")
            return _transfer_page(transfer_id, declined=declined)
        stepped_up = session.pop("stepped_up", None) == transfer_id
        if transfer.status != "pending":
            return _transfer_page(transfer_id)
        if needs_signature(transfer.amount, bank.settings.limit) and transfer.signature is None:
            detail = _signed_detail(login, transfer)
            if detail is None:
                return _transfer_page(transfer_id)
            try:
                verified = verify_signed_document(
                    detail, expected_text=transfer.text,
                    expected_issuer=state_of(flask_app).config.issuer,
                    trusted_cas=bank.trusted_cas)
            except SignatureRefused as refused:
                bank.store.finish_transfer(transfer_id, "refused")
                return _transfer_page(transfer_id, 403,
                                      signature_error=refused.message(language()))
            bank.store.attach_signature(transfer_id, verified)
            transfer = bank.store.transfer(transfer_id) or transfer
        if not stepped_up and transfer.signature is None:
            return _transfer_page(transfer_id)
        return _execute(transfer, login, may_login=False)

    @flask_app.post("/transfer/<transfer_id>/approve")
    def transfer_approve(transfer_id: str) -> Response:
        login, bank = current_login(), bank_of(flask_app)
        transfer = bank.store.transfer(transfer_id)
        if login is None or transfer is None or transfer.sub != login.sub:
            abort(404)
        if not _csrf_ok() or transfer.status != "pending":
            return _transfer_page(transfer_id, 400)
        return _execute(transfer, login, may_login=True)

    @flask_app.post("/api/transfers")
    def api_transfers() -> Response:
        return _api(flask_app)

    @flask_app.get("/bank.css")
    def bank_css() -> Response:
        return Response(BANK_CSS, mimetype="text/css")


# The bank's few layout rules beyond the shared stylesheet (its colours are its Theme).
BANK_CSS = """
#events td:first-child { white-space: nowrap; font-size: .9rem; }
#events td:nth-child(2) { white-space: nowrap; }
#history .amount { text-align: right; white-space: nowrap; }
pre { white-space: pre-wrap; background: rgba(0, 0, 0, .04); padding: .6rem; }
.outcome.ok h2 { color: #13795b; }
.outcome.no h2 { color: #b3261e; }
input { font: inherit; padding: .3rem; }
"""


def _api(app: Flask) -> Response:
    """The resource server: the Bearer token, then the transfer's own requirements."""
    bank, rp = bank_of(app), state_of(app)
    header = request.headers.get("Authorization", "")
    body = request.get_json(silent=True)
    if not header.startswith("Bearer ") or not isinstance(body, dict) or \
            not isinstance(body.get("transfer_id"), str):
        return _api_answer(401 if not header.startswith("Bearer ") else 400,
                           {"error": "invalid_request",
                            "error_description": "POST {\"transfer_id\"} with a Bearer token"},
                           'Bearer error="invalid_request"')
    try:
        keys = rp.client.fetch_jwk_set()
    except requests.RequestException:
        return _api_answer(503, {"error": "temporarily_unavailable",
                                 "error_description": "the identity provider's keys cannot be "
                                                      "fetched now; try again later"}, None)
    try:
        claims = verify_access_token(header[len("Bearer "):], keys, issuer=rp.config.issuer,
                                     client_id=rp.config.client_id, now=int(time.time()))
    except TokenRefused as refused:
        return _api_answer(401, {"error": "invalid_token", "error_description": str(refused)},
                           'Bearer error="invalid_token"')
    answer = decide_transfer(claims, bank.store.customer(claims["sub"]),
                             bank.store.transfer(body["transfer_id"]),
                             limit=bank.settings.limit, now=int(time.time()),
                             max_age=bank.settings.step_up_max_age)
    if answer.status == 200 and not bank.store.finish_transfer(body["transfer_id"], "executed"):
        return _api_answer(409, {"error": "not_pending",
                                 "error_description": "the transfer was made already"}, None)
    return _api_answer(answer.status, answer.body, answer.www_authenticate)


def _api_answer(status: int, body: dict[str, Any], challenge: str | None) -> Response:
    answer = jsonify(body)
    answer.status_code = status
    if challenge:
        answer.headers["WWW-Authenticate"] = challenge
    return answer
