"""Step-up through the JSON face: a session below the level a relying party asks for is taken
through exactly the missing step (idp.assurance.policy), never a full login again.

The card answers are signed with the test PKI's keys and checked by the real trust core; the
revocation sources say which protocol answered ("crl" or "ocsp"), which is what the level's
"checked now" follows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from flask import Flask

from idp import db
from idp.accounts import anchors
from idp.app import services_of
from idp.assurance import levels
from idp.bootstrap import trust as card_services
from idp.jpki.anchors import TrustAnchor
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import OcspUnavailableError
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, RevocationChecker, RevocationStatus
from idp.jpki.validation import VerifiedCertificate
from idp.settings import RevocationPolicy
from tests.support import jpki_pki as pki
from tests.unit.oidc.conftest import Rp, query
from tests.unit.web.test_card_login_level import (
    AUTH,
    AUTHENTICATION,
    SIGN,
    SIGNING,
    NoJlis,
    answer_with_card,
)
from tests.unit.web.test_passkey_flow import claims_of, path

SYNCED = ("swk", "user", "mfa")
CARD_AMR = ["sc", "hwk", "pin", "mfa"]


@dataclass(frozen=True)
class Good:
    """Every certificate is good, as said by ``source``."""

    source: str

    def status(self, certificate: JpkiCertificate,
               issuer: x509.Certificate) -> RevocationStatus:
        return RevocationStatus(CertState.GOOD, self.source, datetime.now(UTC), None)


class OcspDown:
    def status(self, certificate: JpkiCertificate,
               issuer: x509.Certificate) -> RevocationStatus:
        raise OcspUnavailableError("the responder does not answer")


def _trust(sign_method: str) -> card_services.TrustServices:
    """``ocsp_then_crl`` here: OCSP is down and the CRL answers."""
    policies = {Purpose.SIGN: RevocationPolicy(method=sign_method),  # type: ignore[arg-type]
                Purpose.AUTH: RevocationPolicy(method="crl")}
    ocsp = OcspDown() if sign_method == "ocsp_then_crl" else Good("ocsp")
    checker = RevocationChecker(policies, ocsp=ocsp, crl=Good("crl"))
    return card_services.TrustServices(pki.anchors(SIGN, AUTH), NoJlis(), checker)


@pytest.fixture(params=["crl"])
def sign_method(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def person(app: Flask, rp: Rp, monkeypatch: pytest.MonkeyPatch, sign_method: str) -> str:
    """An onboarded person signed in with a synced passkey (anchor current by a CRL), who has
    already consented to the relying party."""
    monkeypatch.setattr(services_of(app).trust, "get", lambda: _trust(sign_method))
    signing = parse_certificate(pki.der(SIGNING))
    verified = VerifiedCertificate(signing, TrustAnchor(Purpose.SIGN, SIGN.certificate, b"\x01"),
                                   datetime.now(UTC))
    with db.transaction(services_of(app).sessions) as session:
        private_id = anchors.new_person(session).id
        anchors.add_anchor(session, private_id, verified)
        anchors.link_auth(session, private_id, f"{AUTHENTICATION.serial_number:x}",
                          via="jlis_pair")
    rp.login(private_id=private_id, acr=levels.IAL2_AAL2_PHR.value, amr=SYNCED)
    rp.code()  # consent given once, at the session's level
    return private_id


def _essential(value: str) -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": [value]}}})


def _card(rp: Rp, state: dict[str, Any]) -> str:
    """Answer a card request with the card's auth key and continue: where the browser goes."""
    status = answer_with_card(rp, state)
    continued = rp.browser.post(status["actions"]["continue"]["href"], json={},
                                headers={"X-CSRF-Token": state["csrf_token"]})
    assert continued.status_code == 200, continued.get_json()
    done = rp.browser.get(path(continued.get_json()["redirect_to"]),
                          headers={"Accept": "application/json"}).get_json()
    if "redirect_to" not in done:  # the passkey offer to a person without one: skipped
        assert (done["prompt"], sorted(done["actions"])) == (
            "done", ["abort", "passkey_register", "passkey_register_options", "skip"])
        back = rp.act(done, "skip", {}).get_json()["redirect_to"]
        done = rp.browser.get(path(back), headers={"Accept": "application/json"}).get_json()
    return str(done["redirect_to"])


def test_a_synced_passkey_session_asked_for_the_card_is_asked_for_the_card_only(
        rp: Rp, person: str) -> None:
    wanted = levels.IAL2_AAL2_CARD.value
    location, verifier = rp.authorize(acr_values=wanted)
    state = rp.interaction(location)
    assert (state["prompt"], state["reasons"]) == ("login", ["step_up_card"])
    assert {"card", "abort"} <= set(state["actions"])
    assert not {"onboard", "passkey_options", "passkey_verify"} & set(state["actions"])
    assert "マイナンバーカードと暗証番号" in state["message"]  # the default language: ja
    page = rp.browser.get(path(location), query_string={"lang": "en"})
    assert page.status_code == 200
    assert "confirm with your My Number Card and its PIN." in page.get_data(as_text=True)
    redirect_to = _card(rp, state)
    tokens = rp.exchange(query(redirect_to)["code"], verifier).get_json()
    id_token = claims_of(tokens["id_token"])
    assert (id_token["acr"], id_token["amr"]) == (wanted, CARD_AMR)
    assert claims_of(tokens["access_token"])["acr"] == wanted


def test_a_card_session_asked_for_phishing_resistance_is_offered_a_passkey_only(
        rp: Rp, person: str) -> None:
    rp.login(private_id=person, acr=levels.IAL2_AAL2_CARD.value, amr=tuple(CARD_AMR))
    state = rp.interaction(rp.authorize(acr_values="phr")[0])
    assert (state["prompt"], state["reasons"]) == ("login", ["step_up_passkey"])
    assert "passkey_options" in state["actions"]
    assert not {"card", "onboard"} & set(state["actions"])


def test_max_age_on_a_card_level_request_is_answered_by_the_card_only(
        rp: Rp, person: str) -> None:
    wanted = levels.IAL2_AAL2_CARD.value
    rp.login(private_id=person, acr=wanted, amr=tuple(CARD_AMR), now=int(time.time()) - 600)
    location, verifier = rp.authorize(acr_values=wanted, max_age="60")
    state = rp.interaction(location)
    assert (state["prompt"], state["reasons"]) == ("login", ["max_age", "step_up_card"])
    assert not {"onboard", "passkey_options"} & set(state["actions"])
    tokens = rp.exchange(query(_card(rp, state))["code"], verifier).get_json()
    id_token = claims_of(tokens["id_token"])
    assert id_token["acr"] == wanted
    assert id_token["auth_time"] >= int(time.time()) - 60


def test_a_session_that_meets_the_request_gets_its_code_at_once(rp: Rp, person: str) -> None:
    location, verifier = rp.authorize(acr_values=f"{levels.IAL2_AAL2_CARD.value} phr")
    tokens = rp.exchange(query(location)["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["acr"] == "phr"


def test_prompt_none_never_steps_up_a_voluntary_request(rp: Rp, person: str) -> None:
    location, _ = rp.authorize(acr_values=levels.IAL2_AAL2_CARD.value, prompt="none")
    assert "code" in query(location)


@pytest.mark.parametrize("sign_method", ["ocsp"], indirect=True)
def test_checked_now_is_one_login_whose_anchor_check_ocsp_answers(rp: Rp, person: str) -> None:
    wanted = levels.IAL2_AAL2_NOW.value
    location, verifier = rp.authorize(claims=_essential(wanted), acr_values=wanted)
    state = rp.interaction(location)
    assert (state["prompt"], state["reasons"]) == ("login",
                                                   ["acr_not_met", "step_up_checked_now"])
    assert {"card", "passkey_options"} <= set(state["actions"])  # any login re-checks
    tokens = rp.exchange(query(_card(rp, state))["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["acr"] == wanted


@pytest.mark.parametrize("sign_method", ["crl", "ocsp_then_crl"], indirect=True)
def test_checked_now_that_only_a_crl_answered_stays_unmet_after_one_step(
        rp: Rp, person: str) -> None:
    wanted = levels.IAL2_AAL2_NOW.value
    location, _ = rp.authorize(claims=_essential(wanted), acr_values=wanted)
    state = rp.interaction(location)
    assert "step_up_checked_now" in state["reasons"]
    answer = query(_card(rp, state))
    assert answer["error"] == "unmet_authentication_requirements"


def test_a_step_up_answered_with_another_persons_card_is_refused(rp: Rp, person: str) -> None:
    """The step-up raises this person's session: a card of someone else (here the card of
    ``person``, shown while another private ID is signed in) does not switch the session to
    its holder, as a passkey of another account would not."""
    with db.transaction(services_of(rp.app).sessions) as session:
        other = anchors.new_person(session).id
    rp.login(private_id=other, acr=levels.IAL2_AAL2_PHR.value, amr=SYNCED)
    location, _ = rp.authorize(acr_values=levels.IAL2_AAL2_CARD.value)
    state = rp.interaction(location)
    assert state["reasons"] == ["step_up_card"]
    status = answer_with_card(rp, state)
    continued = rp.browser.post(status["actions"]["continue"]["href"], json={},
                                headers={"X-CSRF-Token": state["csrf_token"]})
    assert continued.status_code == 403
    assert continued.get_json()["error"] == "not_same_person"
    mine = rp.browser.get("/account", headers={"Accept": "application/json"}).get_json()
    assert mine["private_id"] == other  # the session is still the signed-in person's
    # The refusal is audited once: the card's holder tried to raise someone else's session.
    [refused] = [e for e in services_of(rp.app).audit.entries(action="login", limit=None)
                 if e.outcome == "refused"]
    assert (refused.actor, refused.target, refused.details) == (
        f"person:{person}", f"person:{other}",
        {"method": ["card"], "reason": "not_same_person"})
