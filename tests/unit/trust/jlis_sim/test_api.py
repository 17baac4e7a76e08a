"""The verifier API: authentication, CRL, OCSP, serial links, 4 info, age, metering, audit."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from flask.testing import FlaskClient
from sqlalchemy import select

from trust import cardfile
from trust.jlis_sim import events
from trust.jlis_sim.models import AuditEntry
from trust.jlis_sim.store import Sim


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _ca(client: FlaskClient, ca_id: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(client.get(f"/ca/{ca_id}.der").data)


def _card_cert(person: dict[str, Any], slot: str) -> x509.Certificate:
    card = cardfile.load(Path(person["card_file"]))
    key_slot = card.sign if slot == "sign" else card.auth
    assert key_slot is not None
    return x509.load_der_x509_certificate(key_slot.certificate)


def test_verifier_endpoints_want_a_registered_api_key(client: FlaskClient, api_key: str) -> None:
    assert client.get("/v1/cas").status_code == 401
    assert client.get("/v1/cas", headers=_auth("wrong")).status_code == 403
    answer = client.get("/v1/cas", headers=_auth(api_key))
    assert answer.status_code == 200
    assert {c["ca_id"] for c in answer.json} >= {"sign-card-2019", "sign-card-2023",
                                                  "auth-card-2023", "sign-phone-2023"}


def test_public_endpoints_and_json_errors(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    missing = client.get("/ca/nope.der")
    assert missing.status_code == 404
    assert missing.json["error"] == "not_found"
    assert client.get("/nowhere").json["error"] == "not_found"


def test_the_crl_is_signed_by_its_ca_and_lists_reasons(client: FlaskClient, api_key: str,
                                                        sim: Sim, add_person: Any) -> None:
    person = add_person()
    events.apply(sim, person["person_id"], "move", address="大阪府大阪市北区梅田1")
    issuer = _ca(client, "sign-card-2023")
    key_id = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    for path in ("/v1/crl/sign-card-2023", f"/v1/crl/by-key/{key_id.hex()}"):
        answer = client.get(path, headers=_auth(api_key))
        assert answer.mimetype == "application/pkix-crl"
        crl = x509.load_der_x509_crl(answer.data)
        assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=24)
        entry = crl.get_revoked_certificate_by_serial_number(int(person["sign_serial"], 16))
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason \
            is x509.ReasonFlags.affiliation_changed
        assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number >= 1


def test_a_new_revocation_rebuilds_the_cached_crl(client: FlaskClient, api_key: str, sim: Sim,
                                                  add_person: Any) -> None:
    person = add_person()
    first = x509.load_der_x509_crl(client.get("/v1/crl/auth-card-2023",
                                              headers=_auth(api_key)).data)
    assert client.get("/v1/crl/auth-card-2023", headers=_auth(api_key)).data == \
        first.public_bytes(serialization.Encoding.DER)
    events.apply(sim, person["person_id"], "lose-card")
    second = x509.load_der_x509_crl(client.get("/v1/crl/auth-card-2023",
                                               headers=_auth(api_key)).data)
    entry = second.get_revoked_certificate_by_serial_number(int(person["auth_serial"], 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        is x509.ReasonFlags.certificate_hold


def test_the_crl_is_rebuilt_once_its_next_update_has_passed(client: FlaskClient, api_key: str,
                                                            clock: Any) -> None:
    def number() -> int:
        crl = x509.load_der_x509_crl(client.get("/v1/crl/sign-card-2019",
                                                headers=_auth(api_key)).data)
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    first = number()
    assert number() == first  # cached
    clock.moment += timedelta(hours=24, seconds=1)
    assert number() == first + 1


def _ocsp(client: FlaskClient, api_key: str, certificate: x509.Certificate,
          issuer: x509.Certificate, nonce: bytes = b"n" * 16) -> ocsp.OCSPResponse:
    request = (ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256())
               .add_extension(x509.OCSPNonce(nonce), critical=False).build())
    answer = client.post("/v1/ocsp", data=request.public_bytes(serialization.Encoding.DER),
                         headers=_auth(api_key) | {"Content-Type": "application/ocsp-request"})
    assert answer.status_code == 200
    return ocsp.load_der_ocsp_response(answer.data)


def test_ocsp_answers_good_then_revoked_signed_by_a_delegated_responder(
        client: FlaskClient, api_key: str, sim: Sim, add_person: Any) -> None:
    person = add_person()
    certificate, issuer = _card_cert(person, "sign"), _ca(client, "sign-card-2023")
    good = _ocsp(client, api_key, certificate, issuer)
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert good.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 16
    (responder,) = good.certificates
    responder.verify_directly_issued_by(issuer)
    assert x509.ExtendedKeyUsageOID.OCSP_SIGNING in \
        responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    public_key = responder.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(good.signature, good.tbs_response_bytes, padding.PKCS1v15(),
                      hashes.SHA256())
    events.apply(sim, person["person_id"], "die")
    revoked = _ocsp(client, api_key, certificate, issuer)
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.affiliation_changed


def test_ocsp_answers_unknown_for_a_serial_it_never_issued(client: FlaskClient, api_key: str,
                                                           add_person: Any) -> None:
    person = add_person()
    issuer = _ca(client, "sign-card-2023")
    request = (ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        hashlib.sha256(issuer.subject.public_bytes()).digest(),
        hashlib.sha256(issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1)).digest(),
        12345, hashes.SHA256()).build())
    answer = client.post("/v1/ocsp", data=request.public_bytes(serialization.Encoding.DER),
                         headers=_auth(api_key))
    assert ocsp.load_der_ocsp_response(answer.data).certificate_status \
        is ocsp.OCSPCertStatus.UNKNOWN
    assert person  # the CA has issued, just not this serial


def test_garbage_ocsp_is_a_400(client: FlaskClient, api_key: str) -> None:
    answer = client.post("/v1/ocsp", data=b"nope", headers=_auth(api_key))
    assert answer.status_code == 400


def test_links_pair_sign_and_auth_and_follow_a_move(client: FlaskClient, api_key: str,
                                                    sim: Sim, add_person: Any) -> None:
    person = add_person()
    moved = events.apply(sim, person["person_id"], "move", address="大阪府大阪市北区梅田1")
    answer = client.get(f"/v1/links/pair?serial={person['sign_serial']}&purpose=sign",
                        headers=_auth(api_key))
    assert answer.json == {"sign_serial": moved["sign_serial"],
                           "auth_serial": person["auth_serial"]}


def test_old_to_new_links_need_the_holders_consent(client: FlaskClient, api_key: str, sim: Sim,
                                                   add_person: Any) -> None:
    consenting = add_person()
    refusing = add_person(name="鈴木 一郎", link_consent=False)
    for person in (consenting, refusing):
        renewed = events.apply(sim, person["person_id"], "renew")
        person["new_auth"] = renewed["auth_serial"]
    answer = client.get(f"/v1/links/previous?serial={consenting['new_auth']}&purpose=auth",
                        headers=_auth(api_key))
    assert answer.json == {"serial": consenting["new_auth"],
                           "previous_serials": [consenting["auth_serial"]]}
    refused = client.get(f"/v1/links/previous?serial={refusing['new_auth']}&purpose=auth",
                         headers=_auth(api_key))
    assert refused.status_code == 403
    assert refused.json["error"] == "consent_required"


def _consent(person: dict[str, Any], text: str = "最新の基本4情報の提供に同意します",
             signed_text: str | None = None) -> dict[str, str]:
    card = cardfile.load(Path(person["card_file"]))
    assert card.sign is not None
    digest = hashlib.sha256((signed_text or text).encode()).hexdigest()
    to_be_signed = f"jpki-idp/1\nhttp://idp.test\nconsent\nreq-1\nnonce-1\n{digest}".encode()
    key = serialization.load_pem_private_key(card.sign.private_key, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return {"certificate": base64.b64encode(card.sign.certificate).decode(),
            "to_be_signed": base64.urlsafe_b64encode(to_be_signed).decode().rstrip("="),
            "consent_text": text,
            "signature": base64.b64encode(
                key.sign(to_be_signed, padding.PKCS1v15(), hashes.SHA256())).decode()}


def test_latest_4_info_with_a_consent_signed_by_the_current_key(
        client: FlaskClient, api_key: str, sim: Sim, add_person: Any) -> None:
    person = add_person()
    old_sign = person["sign_serial"]
    moved = events.apply(sim, person["person_id"], "move", address="大阪府大阪市北区梅田1")
    answer = client.post("/v1/basic4", headers=_auth(api_key),
                         json={"serial": old_sign, "consent": _consent(person)})
    assert answer.status_code == 200, answer.json
    assert answer.json["serial"] == moved["sign_serial"]
    assert answer.json["basic4"]["address"] == "大阪府大阪市北区梅田1"
    assert answer.json["basic4"]["birth_date"] == "319800217"


@pytest.mark.parametrize(("case", "reason"), [
    ("old key", "current"), ("other text", "another consent text"),
    ("bad signature", "does not verify"), ("someone else", "someone else"),
])
def test_latest_4_info_refusals(client: FlaskClient, api_key: str, sim: Sim, add_person: Any,
                                case: str, reason: str) -> None:
    person = add_person()
    consent = _consent(person, signed_text="something else" if case == "other text" else None)
    if case == "old key":
        events.apply(sim, person["person_id"], "move", address="大阪府大阪市北区梅田1")
    if case == "bad signature":
        consent["signature"] = base64.b64encode(b"\0" * 256).decode()
    serial = person["sign_serial"]
    if case == "someone else":
        serial = add_person(name="他 人")["sign_serial"]
    answer = client.post("/v1/basic4", headers=_auth(api_key),
                         json={"serial": serial, "consent": consent})
    assert answer.status_code == 403
    assert reason in answer.json["error_description"]


def test_age_check_answers_without_the_birth_date(client: FlaskClient, api_key: str, sim: Sim,
                                                  add_person: Any) -> None:
    person = add_person()  # born 1980-02-17

    def ask(serial: str, age: int, on: str) -> Any:
        return client.post("/v1/age", headers=_auth(api_key),
                           json={"serial": serial, "purpose": "auth", "age": age, "on": on}).json

    assert ask(person["auth_serial"], 18, "2026-04-01") == {"over": True,
                                                            "certificate_status": "valid"}
    assert ask(person["auth_serial"], 47, "2027-02-15")["over"] is False
    assert ask(person["auth_serial"], 47, "2027-02-16")["over"] is True  # 年齢計算ニ関スル法律
    assert ask("abcdef", 18, "2026-04-01") == {"over": None, "certificate_status": "unknown"}
    events.apply(sim, person["person_id"], "die")
    assert ask(person["auth_serial"], 18, "2026-04-01")["certificate_status"] == "invalid"


def test_metering_charges_20_yen_per_sign_and_2_per_auth_check(
        client: FlaskClient, api_key: str, add_person: Any) -> None:
    person = add_person()
    headers = _auth(api_key)
    client.get("/v1/crl/sign-card-2023", headers=headers)
    client.get("/v1/crl/auth-card-2023", headers=headers)
    client.get(f"/v1/links/pair?serial={person['auth_serial']}&purpose=auth", headers=headers)
    usage = client.get("/v1/metering", headers=headers).json
    assert usage["checks"] == {"sign": 1, "auth": 2}
    assert usage["yen"] == 24


def test_every_call_is_audited_refusals_included(client: FlaskClient, api_key: str, sim: Sim,
                                                 add_person: Any) -> None:
    person = add_person(link_consent=False)
    client.get(f"/v1/links/previous?serial={person['auth_serial']}&purpose=auth",
               headers=_auth(api_key))
    client.get("/v1/cas", headers=_auth("wrong"))
    client.post("/v1/basic4", headers=_auth(api_key), json={"serial": "abc", "consent": {}})
    with sim.transaction() as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(r.endpoint, r.outcome.split(":")[0]) for r in rows] == [
        ("links/previous", "403 consent_required"), ("cas", "403 forbidden"),
        ("basic4", "404 not_found")]
    assert rows[2].serial == "abc"
    assert rows[0].serial == person["auth_serial"]
    assert rows[0].verifier_id is not None
