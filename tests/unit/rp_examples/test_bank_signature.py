"""The bank verifies the card signature of a transfer itself: only exactly the text it sent,
framed by its IdP for the purpose ``sign``, signed by the key of a J-LIS signing certificate
whose status was good, approves the transfer."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from idp.jpki.profile import Purpose
from rp_examples.bank.signature import SignatureRefused, verify_signed_document
from tests.support.jpki_pki import HANAKO, auth_cert, ca, der, key, sign_cert

ISSUER = "http://localhost:8000"
TEXT = ("振込の承認 / Transfer approval\n振込先: 青空銀行 本店 普通 1234567 ヤマダ ハナコ\n"
        "金額: 2,500,000円\n取引番号: TX-1")


def _frame(text: str = TEXT, *, issuer: str = ISSUER, purpose: str = "sign") -> bytes:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"jpki-idp/1\n{issuer}\n{purpose}\nreq-1\nnonce-1\n{digest}".encode()


def _detail(signed: bytes | None = None, *, text: str = TEXT, certificate: bytes | None = None,
            signer: str = "holder-sign", status: str = "good") -> dict[str, Any]:
    signed = _frame(text) if signed is None else signed
    signature = key(signer).sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return {"type": "jpki_signature", "document": {"title": "振込の承認", "text": text},
            "to_be_signed": base64.urlsafe_b64encode(signed).rstrip(b"=").decode(),
            "signature": base64.b64encode(signature).decode(),
            "certificate": base64.b64encode(certificate or der(sign_cert())).decode(),
            "signed_at": "2026-06-01T12:00:00+00:00", "status": status}


def _refusal(detail: dict[str, Any], **expected: Any) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verify_signed_document(detail, **{"expected_text": TEXT, "expected_issuer": ISSUER,
                                          **expected})
    assert refused.value.message("ja")
    assert refused.value.message("en")
    return refused.value.reason


def test_a_good_signature_over_the_sent_text_is_verified_and_names_the_signer() -> None:
    verified = verify_signed_document(_detail(), expected_text=TEXT, expected_issuer=ISSUER,
                                      trusted_cas=[ca(Purpose.SIGN).certificate])
    assert verified.signer_name == HANAKO.name
    assert verified.signer_address == HANAKO.address
    assert verified.certificate_serial == "1001"
    assert verified.request_id == "req-1"
    assert verified.status == "good"


def test_a_text_changed_after_signing_is_refused() -> None:
    tampered = _detail()
    tampered["document"]["text"] = TEXT.replace("2,500,000", "9,500,000")
    assert _refusal(tampered) == "wrong_document"


def test_a_signature_over_another_text_is_refused_even_when_the_document_echoes_ours() -> None:
    other = _detail(_frame(TEXT.replace("2,500,000", "9,500,000")))
    assert _refusal(other) == "wrong_digest"


def test_a_signed_frame_changed_after_signing_fails_the_signature() -> None:
    detail = _detail()
    forged = _frame(TEXT).replace(b"req-1", b"req-2")
    detail["to_be_signed"] = base64.urlsafe_b64encode(forged).decode()
    assert _refusal(detail) == "bad_signature"


def test_a_frame_of_another_idp_is_refused() -> None:
    assert _refusal(_detail(_frame(issuer="https://evil.example"))) == "wrong_issuer"


@pytest.mark.parametrize("purpose", ["login", "consent", "onboard"])
def test_a_signature_made_for_another_purpose_is_refused(purpose: str) -> None:
    assert _refusal(_detail(_frame(purpose=purpose))) == "wrong_purpose"


def test_a_status_other_than_good_is_not_taken_as_good() -> None:
    assert _refusal(_detail(status="unknown")) == "status_not_good"
    assert _refusal(_detail(status="revoked")) == "status_not_good"


def test_the_user_authentication_certificate_cannot_sign_a_transfer() -> None:
    detail = _detail(certificate=der(auth_cert()), signer="holder-auth")
    assert _refusal(detail) == "not_sign_certificate"


def test_a_certificate_of_a_ca_the_bank_does_not_trust_is_refused() -> None:
    other = ca(Purpose.SIGN, "2099")
    assert _refusal(_detail(), trusted_cas=[other.certificate]) == "untrusted_issuer"


def test_a_signature_by_another_key_is_refused() -> None:
    assert _refusal(_detail(signer="someone-else")) == "bad_signature"


@pytest.mark.parametrize("member", ["to_be_signed", "signature", "certificate"])
def test_missing_or_garbled_members_are_refused_not_crashed(member: str) -> None:
    detail = _detail()
    detail[member] = "%%%"
    assert _refusal(detail) in {"malformed", "wrong_frame"}
    del detail[member]
    assert _refusal(detail) == "malformed"
