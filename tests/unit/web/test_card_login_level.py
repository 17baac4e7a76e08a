"""The level of a card login follows what the card answer's revocation check found for the auth
certificate it presented: an unknown status let through by ``fail_closed = false`` logs in at the
reduced level, with the anchor recorded as unverifiable; never at ial2-aal2 as if it were good.

The card answer is signed with the test PKI's keys and checked by the real trust core; only the
revocation sources and J-LIS are stand-ins.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask
from sqlalchemy import select

from idp import db
from idp.accounts import anchors
from idp.accounts.jpki_models import CardRequestRow, JpkiAnchor
from idp.accounts.models import LoginSession
from idp.app import services_of
from idp.assurance.levels import IAL1_AAL2_CARD, IAL2_AAL2_CARD
from idp.bootstrap import trust as card_services
from idp.jpki.anchors import TrustAnchor
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import CrlUnavailableError
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, RevocationChecker, RevocationStatus
from idp.jpki.validation import VerifiedCertificate
from idp.settings import RevocationPolicy
from tests.support import jpki_pki as pki
from tests.unit.oidc.conftest import ISSUER, Rp
from tests.unit.web.test_card_page import hostile_host

SIGN, AUTH = pki.ca(Purpose.SIGN), pki.ca(Purpose.AUTH)
SIGNING, AUTHENTICATION = pki.sign_cert(SIGN), pki.auth_cert(AUTH)


@dataclass(frozen=True)
class Crl:
    """Every certificate is good, unless the auth CA's CRL cannot be had (``auth_down``)."""

    auth_down: bool

    def status(self, certificate: JpkiCertificate,
               issuer: x509.Certificate) -> RevocationStatus:
        if self.auth_down and certificate.purpose is Purpose.AUTH:
            raise CrlUnavailableError("the auth CA's CRL cannot be had")
        now = datetime.now(UTC)
        return RevocationStatus(CertState.GOOD, "crl", now, None)


class NoJlis:
    """A known card's login asks J-LIS nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"J-LIS asked: {name}")


def _trust(*, auth_crl_down: bool) -> card_services.TrustServices:
    """The trust core over the test PKI; the auth purpose fails open."""
    policies = {Purpose.SIGN: RevocationPolicy(method="crl"),
                Purpose.AUTH: RevocationPolicy(method="crl", fail_closed=False)}
    checker = RevocationChecker(policies, ocsp=None, crl=Crl(auth_crl_down))
    return card_services.TrustServices(pki.anchors(SIGN, AUTH), NoJlis(), checker)


def _onboarded(app: Flask) -> None:
    """A person anchored to SIGNING whose card's auth certificate is AUTHENTICATION."""
    signing = parse_certificate(pki.der(SIGNING))
    verified = VerifiedCertificate(signing, TrustAnchor(Purpose.SIGN, SIGN.certificate, b"\x01"),
                                   datetime.now(UTC))
    with db.transaction(services_of(app).sessions) as session:
        private_id = anchors.new_person(session).id
        anchors.add_anchor(session, private_id, verified)
        anchors.link_auth(session, private_id, f"{AUTHENTICATION.serial_number:x}",
                          via="jlis_pair")


def answer_with_card(rp: Rp, state: dict[str, Any]) -> dict[str, Any]:
    """Ask for a card request in interaction ``state``, answer it with the card's auth key as
    the card app would, and answer the browser's status afterwards."""
    request_id = rp.act(state, "card", {}).get_json()["request_id"]
    text = rp.browser.get(f"/card-requests/{request_id}").get_json()["to_be_signed"]
    to_be_signed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    signature = pki.key("holder-auth").sign(to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    answered = rp.browser.post(f"/card-requests/{request_id}", json={
        "certificate": base64.b64encode(pki.der(AUTHENTICATION)).decode(),
        "signature": base64.b64encode(signature).decode()})
    assert answered.status_code == 200, answered.get_json()
    found: dict[str, Any] = rp.browser.get(f"/interaction/{state['uid']}/status").get_json()
    return found


def _card_login(rp: Rp, host: str = "localhost") -> Any:
    """Authorize, ask for a card request, answer it with the card's auth key, continue (the
    last step sent with ``host`` as its Host header)."""
    state = rp.interaction(rp.authorize()[0])
    status = answer_with_card(rp, state)
    continued = rp.browser.post(status["actions"]["continue"]["href"], json={}, headers={
        "X-CSRF-Token": state["csrf_token"], **hostile_host(rp, host)})
    assert continued.status_code == 200, continued.get_json()
    return continued.get_json()


def _levels(app: Flask) -> tuple[str, str, tuple[str, str | None]]:
    """What the card request recorded, the session's acr and the anchor's recorded check."""
    with services_of(app).sessions() as session:
        request = session.scalars(select(CardRequestRow)).one()
        acr = session.scalars(select(LoginSession.acr)).one()
        live = session.scalars(select(JpkiAnchor)).one()
        return (request.result or {})["certificate_status"], acr, (live.state, live.last_result)


def test_a_card_login_whose_auth_status_only_fail_open_let_through_gets_the_reduced_level(
        app: Flask, rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services_of(app).trust, "get", lambda: _trust(auth_crl_down=True))
    _onboarded(app)
    continued = _card_login(rp)
    assert (continued["anchor"]["state"], continued["anchor"]["reason"]) == (
        "unverifiable", "auth_status_unknown")
    assert _levels(app) == ("unknown", IAL1_AAL2_CARD.value,
                            ("unverifiable", "auth_status_unknown"))


def test_a_card_login_whose_auth_certificate_is_good_gets_ial2(
        app: Flask, rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services_of(app).trust, "get", lambda: _trust(auth_crl_down=False))
    _onboarded(app)
    assert _card_login(rp)["anchor"]["state"] == "current"
    assert _levels(app) == ("good", IAL2_AAL2_CARD.value, ("current", "sign_good"))


def test_continuing_after_the_card_leads_back_to_the_issuer_whatever_the_host_header_says(
        app: Flask, rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services_of(app).trust, "get", lambda: _trust(auth_crl_down=False))
    _onboarded(app)
    continued = _card_login(rp, host="evil.example")
    assert continued["redirect_to"].startswith(f"{ISSUER}/interaction/")
