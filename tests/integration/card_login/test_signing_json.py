"""Signing a document with the card (RFC 9396 ``jpki_signature``), through the JSON face, the
card app (``idp card sign``) and the token endpoint, against the simulator; the relying party
verifies the returned signature with ``cryptography`` alone."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idp.jpki.profile import Purpose
from tests.integration.card_login.conftest import (
    Browser,
    Idp,
    card_answer,
    card_sign,
    fetch,
    person,
    tbs,
)
from tests.integration.card_login.test_lifecycle_json import _card_login, _onboard

DOCUMENT = {"title": "振込の承認 / Transfer approval",
            "text": "振込先: 青空銀行 本店 普通 1234567 ヤマダ ハナコ\n金額: 2,500,000円\n"
                    "依頼日: 2026-12-02"}
DETAILS = json.dumps([{"type": "jpki_signature", "document": DOCUMENT}])


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_signed_detail(detail: dict[str, Any], ca_dir: Path) -> bytes:
    """What an RP does with the returned detail, with cryptography only: the signed bytes end
    with the SHA-256 of the text it sent, the signature verifies (PKCS#1 v1.5, SHA-256) with
    the returned certificate, and that certificate was issued by one of the JPKI CAs."""
    signed = _b64url(detail["to_be_signed"])
    assert signed.split(b"\n")[-1].decode() == hashlib.sha256(
        detail["document"]["text"].encode()).hexdigest()
    certificate = x509.load_der_x509_certificate(base64.b64decode(detail["certificate"]))
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(detail["signature"]), signed, padding.PKCS1v15(),
               hashes.SHA256())
    issuers = [x509.load_pem_x509_certificate(p.read_bytes()) for p in ca_dir.glob("*.pem")]
    assert any(_issued_by(certificate, ca) for ca in issuers)
    return signed


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # another issuer name, key or signature
        return False
    return True


def _signed_in_with_document(idp: Idp, card_file: str) -> Browser:
    """A person who has an account, signed in by card, at the sign step of a new request."""
    browser = _card_login(idp, card_file)
    state = browser.authorize(authorization_details=DETAILS)
    assert state["prompt"] == "sign", state
    assert state["document"] == DOCUMENT
    return browser


def _sign(browser: Browser, card_file: str) -> tuple[str, Any]:
    response = browser.act("sign")
    assert response.status_code == 200, response.text
    url = response.json()["request_url"]
    return url, card_sign(url, card_file, "ABCD1234")


def _continue(browser: Browser) -> dict[str, Any]:
    status = browser.status().json()
    response = browser.act("continue", state={**browser.state, **status})
    assert response.status_code == 200, response.text
    return browser.show(response.json()["redirect_to"])


def _token_body(idp: Idp, browser: Browser) -> dict[str, Any]:
    code = parse_qs(urlsplit(browser.state["redirect_to"]).query)["code"][0]
    token = requests.post(f"{idp.url}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": browser.state[
            "redirect_to"].split("?")[0], "code_verifier": browser.verifier},
        auth=(idp.client_id, idp.secret or ""), timeout=10)
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def test_the_signed_document_comes_back_in_the_token_response_verifiable_alone(
        idp: Idp, tmp_path: Path) -> None:
    hanako = person(idp.sim, tmp_path, "山田　花子")
    _onboard(idp, hanako["card_file"])
    browser = _signed_in_with_document(idp, hanako["card_file"])
    url, signed = _sign(browser, hanako["card_file"])
    assert signed.returncode == 0, signed.stderr
    assert DOCUMENT["text"] in signed.stderr
    assert DOCUMENT["title"] in signed.stderr
    assert fetch(url)["document"] == DOCUMENT
    assert _continue(browser)["prompt"] == "returned"
    [detail] = _token_body(idp, browser)["authorization_details"]
    assert detail["type"] == "jpki_signature"
    assert detail["document"] == DOCUMENT
    assert detail["status"] == "good"
    assert detail["signed_at"]
    assert idp.settings is not None
    signed_bytes = verify_signed_detail(detail, idp.settings.var_dir / "trust" / "sign")
    assert signed_bytes.startswith(f"jpki-idp/1\n{idp.url}\nsign\n".encode())


def test_a_signature_made_for_another_request_is_refused(idp: Idp, tmp_path: Path) -> None:
    taro = person(idp.sim, tmp_path, "山田　太郎")
    _onboard(idp, taro["card_file"])
    browser = _signed_in_with_document(idp, taro["card_file"])
    first = browser.act("sign").json()["request_url"]
    second = browser.act("sign").json()["request_url"]
    answer = card_answer(taro["card_file"], "ABCD1234", Purpose.SIGN, tbs(fetch(first)))
    refused = requests.post(second, json=answer, timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "wrong_digest"


def test_a_signing_certificate_revoked_by_a_move_is_refused_and_the_rp_told(
        idp: Idp, tmp_path: Path) -> None:
    jiro = person(idp.sim, tmp_path, "鈴木　次郎")
    _onboard(idp, jiro["card_file"])
    _card_login(idp, jiro["card_file"])  # the IdP learns the auth certificate
    old_card = str(tmp_path / "before-move.json")
    shutil.copy(jiro["card_file"], old_card)  # the card as it was, with its old certificate
    idp.sim.cli("person", "move", jiro["person_id"], "--address", "大阪府大阪市北区1-1")
    browser = _signed_in_with_document(idp, old_card)
    _url, signed = _sign(browser, old_card)
    assert signed.returncode == 1
    assert "certificate_revoked" in signed.stderr
    status = browser.http.get(f"{idp.url}/interaction/{browser.state['uid']}/status",
                              headers={"Accept-Language": "ja"}).json()
    assert status["status"] == "refused"
    assert status["error"] == "certificate_revoked"
    assert "失効" in status["error_description"]
    back = _continue(browser)
    query = parse_qs(urlsplit(back["redirect_to"]).query)
    assert query["error"] == ["access_denied"]
    assert "certificate_revoked" in query["error_description"][0]


def test_another_persons_card_cannot_sign_for_the_signed_in_person(
        idp: Idp, tmp_path: Path) -> None:
    owner = person(idp.sim, tmp_path, "高橋　一郎")
    other = person(idp.sim, tmp_path, "高橋　二郎")
    _onboard(idp, owner["card_file"])
    browser = _signed_in_with_document(idp, owner["card_file"])
    _url, signed = _sign(browser, other["card_file"])
    assert signed.returncode == 1
    assert "not_same_person" in signed.stderr
    query = parse_qs(urlsplit(_continue(browser)["redirect_to"]).query)
    assert query["error"] == ["access_denied"]


def test_a_card_without_a_signing_certificate_signs_nothing_and_says_why(
        idp: Idp, tmp_path: Path) -> None:
    adult = person(idp.sim, tmp_path, "田中　母")
    child = idp.sim.add_person("田中　子", "2016-04-01", tmp_path / "child.json")
    _onboard(idp, adult["card_file"])
    browser = _signed_in_with_document(idp, adult["card_file"])
    url = browser.act("sign").json()["request_url"]
    signed = card_sign(url, child["card_file"], "ABCD1234")
    assert signed.returncode == 1
    assert "no sign certificate" in signed.stderr
    assert "under 15" in signed.stderr
    assert browser.status().json()["status"] == "pending"  # nothing was sent
    back = browser.act("abort").json()["redirect_to"]
    assert parse_qs(urlsplit(back).query)["error"] == ["access_denied"]


@pytest.mark.parametrize("text", ["", "x" * 10_001])
def test_an_empty_or_oversized_document_is_refused_at_par(idp: Idp, text: str) -> None:
    details = json.dumps([{"type": "jpki_signature", "document": {"title": "t", "text": text}}])
    response = requests.post(f"{idp.url}/par", data={
        "client_id": idp.client_id, "redirect_uri": "https://rp.example/cb",
        "response_type": "code", "scope": "openid", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "authorization_details": details},
        auth=(idp.client_id, idp.secret or ""), timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"


@pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning")
def test_an_authlib_client_gets_the_signature_and_verifies_it_with_cryptography_alone(
        idp: Idp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test IdP speaks plain http
    saburo = person(idp.sim, tmp_path, "佐藤　三郎")
    _onboard(idp, saburo["card_file"])
    browser = _card_login(idp, saburo["card_file"])
    bank = OAuth2Session(idp.client_id, idp.secret, scope="openid",
                         redirect_uri="https://rp.example/cb", code_challenge_method="S256")
    verifier = generate_token(48)
    url, _state = bank.create_authorization_url(
        f"{idp.url}/authorize", code_verifier=verifier, nonce=generate_token(16),
        authorization_details=DETAILS)
    sent = browser.http.get(url, allow_redirects=False)
    assert browser.show(sent.headers["Location"])["prompt"] == "sign"
    _url, signed = _sign(browser, saburo["card_file"])
    assert signed.returncode == 0, signed.stderr
    back = _continue(browser)["redirect_to"]
    token = bank.fetch_token(f"{idp.url}/token", authorization_response=back,
                             code_verifier=verifier)
    [detail] = token["authorization_details"]
    assert detail["document"] == DOCUMENT
    assert idp.settings is not None
    verify_signed_detail(detail, idp.settings.var_dir / "trust" / "sign")
