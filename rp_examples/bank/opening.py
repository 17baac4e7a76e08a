"""Account opening (口座開設) under 犯収法: what the bank asks the IdP for, and whether what came
back proves the customer's identity now.

The Act on Prevention of Transfer of Criminal Proceeds (犯罪収益移転防止法) accepts a JPKI
signature as proof of name, address and date of birth (施行規則 6条1項1号ワ). The IdP delivers
that proof as OpenID Connect for Identity Assurance ``verified_claims``: trust framework
``jp_aml``, one ``electronic_signature`` evidence (the J-LIS CA that issued the signing
certificate and its serial), ``verification.time`` (when the anchor was last checked), and the
4 info — and only while the person's anchor is current (docs/assurance.md). The bank reads the
``acr`` too: an ``…:ial1-…`` value says the identity is not currently proven (a move or a new
name revoked the signing certificate and the re-issue was skipped), ``…-now`` that J-LIS
confirmed the certificate by OCSP during this very login.

:func:`decide` runs the checks in order, each a named step with the words to show when it
fails, and answers an :class:`Opening` (the facts to record) or a :class:`Refusal`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TRUST_FRAMEWORK = "jp_aml"
EVIDENCE = "electronic_signature"
ACR_NS = "urn:jpki-idp:acr:"
# The IdP's values that say "identity proven by a signing certificate OCSP confirmed during this
# login" (docs/assurance.md, the catalogue): what an account opening needs.
CHECKED_NOW = (ACR_NS + "ial2-aal2-now", ACR_NS + "ial2-aal2-card-now",
               ACR_NS + "ial2-aal2-phr-now")
REQUIRED_CLAIMS = ("name", "birthdate", "address")
# Seconds between the anchor's last check (a login re-checks it) and the opening; the request
# asks the IdP for a login at most this old, so a session older than that logs in again.
MAX_VERIFICATION_AGE = 600


def authorization_params() -> dict[str, Any]:
    """The login the bank starts for an opening: the level "identity checked now" (voluntary,
    so that the bank gets a token and can say itself what is missing), a login (hence an anchor
    check) of the last ten minutes, and the verified 4 info with their verification, evidence
    and time."""
    verified = {
        "verification": {
            "trust_framework": {"value": TRUST_FRAMEWORK}, "time": None,
            "evidence": [{"type": {"value": EVIDENCE}, "issuer": None, "serial_number": None,
                          "created_at": None}]},
        "claims": {name: None for name in REQUIRED_CLAIMS}}
    return {"acr_values": CHECKED_NOW[0], "claims": {"id_token": {"verified_claims": verified}},
            "scope": "openid profile address", "max_age": MAX_VERIFICATION_AGE}


@dataclass(frozen=True)
class Opening:
    """The facts the bank records for a new account (its 本人確認記録)."""

    name: str
    birthdate: str
    address: str
    verified_at: str  # verification.time
    evidence_issuer: str  # the J-LIS CA
    evidence_serial: str  # the signing certificate's serial, lower-case hex
    acr: str


@dataclass(frozen=True)
class Refusal:
    reason: str
    ja: str
    en: str

    def message(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


REISSUE = ("マイナンバーカードによる本人確認が、現在有効ではありません。転居や氏名の変更などで"
           "署名用電子証明書が失効した可能性があります。IdPのアカウントページで、新しい署名用電子"
           "証明書による民間IDの再発行を済ませてから、もう一度お申し込みください。",
           "Your identity is not currently proven with your My Number Card: a move or a change "
           "of name may have revoked your signing certificate. Re-issue your private ID with "
           "the new signing certificate at the identity provider (its account page), then "
           "apply again.")
REFUSALS: dict[str, tuple[str, str]] = {
    "not_proven": REISSUE,
    "not_shared": ("確認済みの本人情報（氏名・生年月日・住所）が提供されませんでした。もう一度"
                   "お申し込みになり、IdPの同意画面でこれらの提供に同意してください。",
                   "The verified identity (name, date of birth, address) was not shared. "
                   "Apply again and agree to share it on the identity provider's consent page."),
    "wrong_trust_framework": ("本人確認が犯収法（jp_aml）の方法によるものではありません。",
                              "The identity was not verified under the Japanese AML rules "
                              "(jp_aml)."),
    "wrong_evidence": ("本人確認の根拠が、マイナンバーカードの電子署名（発行者とシリアル番号）"
                       "ではありません。",
                       "The evidence is not a My Number Card electronic signature (issuer "
                       "and serial number)."),
    "stale_verification": ("署名用電子証明書の有効性が最近確認されていません。もう一度ログイン"
                           "してお申し込みください。",
                           "Your signing certificate was not checked recently. Sign in again "
                           "and apply."),
    "not_checked_now": ("今回のログインで、署名用電子証明書の有効性をJ-LISに確認できませんでした。"
                        "しばらくしてから、もう一度お申し込みください。",
                        "Your signing certificate could not be confirmed with J-LIS during "
                        "this login. Please try again later."),
    "missing_claims": ("口座開設に必要な氏名・生年月日・住所がそろっていません。",
                       "The name, date of birth and address an account needs are not all "
                       "there."),
    "idp_refused": REISSUE,
    "cancelled": ("本人確認が中断されました。もう一度お申し込みください。",
                  "The identity check was cancelled. Please apply again."),
}


def refusal(reason: str) -> Refusal:
    ja, en = REFUSALS[reason]
    return Refusal(reason, ja, en)


def refusal_for_error(error: str) -> Refusal:
    """The IdP answered the opening's login with an error instead of a code."""
    if error in ("unmet_authentication_requirements", "login_required"):
        return refusal("idp_refused")
    return refusal("cancelled")


@dataclass(frozen=True)
class _Facts:
    claims: Mapping[str, Any]  # the ID token's
    verified: Mapping[str, Any]  # verified_claims.claims
    now: int
    max_age: int


@dataclass(frozen=True)
class _Check:
    reason: str
    passes: Callable[[_Facts], bool]


def _element(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one ``verified_claims`` element the bank asked for (an array answers an array)."""
    value = claims.get("verified_claims")
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def _verification(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    verification = _element(claims).get("verification")
    return verification if isinstance(verification, Mapping) else {}


def _evidence_ok(claims: Mapping[str, Any]) -> bool:
    evidence = _verification(claims).get("evidence")
    return isinstance(evidence, list) and any(
        isinstance(e, Mapping) and e.get("type") == EVIDENCE and e.get("issuer")
        and e.get("serial_number") for e in evidence)


def _verified_at(claims: Mapping[str, Any]) -> int | None:
    value = _verification(claims).get("time")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _fresh(claims: Mapping[str, Any], now: int, max_age: int) -> bool:
    at = _verified_at(claims)
    return at is not None and -60 <= now - at <= max_age  # a minute of clock skew


def _identity_proven(claims: Mapping[str, Any]) -> bool:
    acr = claims.get("acr")
    return isinstance(acr, str) and acr.startswith(ACR_NS + "ial2")


CHECKS = (
    _Check("not_proven", lambda f: _identity_proven(f.claims)),
    _Check("not_shared", lambda f: bool(_element(f.claims))),
    _Check("wrong_trust_framework",
           lambda f: _verification(f.claims).get("trust_framework") == TRUST_FRAMEWORK),
    _Check("wrong_evidence", lambda f: _evidence_ok(f.claims)),
    _Check("stale_verification", lambda f: _fresh(f.claims, f.now, f.max_age)),
    _Check("not_checked_now", lambda f: f.claims.get("acr") in CHECKED_NOW),
    _Check("missing_claims", lambda f: all(
        isinstance(f.verified.get(name), str | Mapping) and f.verified.get(name)
        for name in REQUIRED_CLAIMS)),
)


def decide(id_token_claims: Mapping[str, Any], *, now: int,
           max_age: int = MAX_VERIFICATION_AGE) -> Opening | Refusal:
    """Open the account, or say why not (the first check that fails)."""
    verified = _element(id_token_claims).get("claims")
    verified = verified if isinstance(verified, Mapping) else {}
    facts = _Facts(id_token_claims, verified, now, max_age)
    for check in CHECKS:
        if not check.passes(facts):
            return refusal(check.reason)
    evidence = next(e for e in _verification(id_token_claims)["evidence"]
                    if isinstance(e, Mapping) and e.get("type") == EVIDENCE)
    address = verified["address"]
    return Opening(
        name=str(verified["name"]), birthdate=str(verified["birthdate"]),
        address=str(address.get("formatted", "")) if isinstance(address, Mapping)
        else str(address),
        verified_at=str(_verification(id_token_claims)["time"]),
        evidence_issuer=str(evidence["issuer"]), evidence_serial=str(evidence["serial_number"]),
        acr=str(id_token_claims["acr"]))
