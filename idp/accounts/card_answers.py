"""Answering a card request: the checks, as a table, then what the purpose does.

Checks (each raises a typed error a person can act on): the request is claimed once and not
expired; the certificate parses as JPKI; it is of the type the request asked for; it chains to a
trusted J-LIS CA and is valid now; the card signed this request's ``to_be_signed``; J-LIS says it
is not revoked now (trust policy). Then the purpose's step runs: onboarding, card login,
re-issue, or the consented 4-info refresh.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import card_requests, people
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.ports import TrustPort
from idp.errors import IdpError
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.profile import Purpose
from idp.jpki.signature import verify_card_signature
from idp.jpki.validation import VerifiedCertificate


class BadAnswerError(IdpError):
    """Send {"certificate": base64 DER, "signature": base64}."""

    code = "invalid_request"
    status = 400


@dataclass(frozen=True)
class Answer:
    certificate: bytes
    signature: bytes

    @classmethod
    def from_json(cls, body: Any) -> Answer:
        try:
            return cls(base64.b64decode(body["certificate"], validate=True),
                       base64.b64decode(body["signature"], validate=True))
        except (KeyError, TypeError, ValueError) as error:  # ValueError: binascii.Error, or
            raise BadAnswerError() from error  # a str of other than ASCII characters


@dataclass(frozen=True)
class Check:
    reason: str
    description: str
    run: Callable[[CardRequestRow, JpkiCertificate, Answer, str], None]


def _signed_this_request(row: CardRequestRow, cert: JpkiCertificate, answer: Answer,
                         issuer: str) -> None:
    verify_card_signature(cert, answer.signature, card_requests.to_be_signed(row, issuer))


SIGNATURE_CHECKS = (
    Check("signature", "The card signed this request's to_be_signed (purpose, request and "
          "IdP bound).", _signed_this_request),
)

Step = Callable[[Session, CardRequestRow, VerifiedCertificate, Answer, str], dict[str, Any]]


class CardAnswers:
    """Verifies answers and runs the purpose's step; records the outcome on the request."""

    def __init__(self, sessions: sessionmaker[Session], trust: TrustPort,
                 steps: dict[str, Step]) -> None:
        self._sessions = sessions
        self._trust = trust
        self._steps = steps

    def answer(self, request_id: str, body: Any, *, issuer: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        # A body that is no answer at all is refused before the claim, so it does not use up
        # the request: the card's real answer can still come (contract.md: answered once).
        answer = Answer.from_json(body)
        with dbm.transaction(self._sessions) as db:
            row = card_requests.claim(db, request_id, now)
            db.expunge(row)
        try:
            result = self._verify_and_run(row, answer, issuer, now)
        except IdpError as error:
            with dbm.transaction(self._sessions) as db:
                card_requests.record(db, request_id, outcome="refused",
                                     error=(error.code, error.description))
            raise
        return result

    def _verify_and_run(self, row: CardRequestRow, answer: Answer, issuer: str,
                        now: datetime) -> dict[str, Any]:
        trust = self._trust
        certificate = parse_certificate(answer.certificate)
        verified = trust.verify(certificate, Purpose(row.certificate_purpose), now)
        for check in SIGNATURE_CHECKS:
            check.run(row, certificate, answer, issuer)
        trust.check_now(verified)
        with dbm.transaction(self._sessions) as db:
            result = self._steps[row.purpose](db, row, verified, answer, issuer)
            card_requests.record(db, row.id, outcome="accepted", result=result)
        return result


def default_steps(trust: TrustPort) -> dict[str, Step]:
    def onboard(db: Session, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> dict[str, Any]:
        return people.onboard(db, trust.links, verified, card_requests.agreement(row))

    def login(db: Session, row: CardRequestRow, verified: VerifiedCertificate,
              answer: Answer, issuer: str) -> dict[str, Any]:
        return people.card_login(db, trust.links, verified)

    def reissue(db: Session, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> dict[str, Any]:
        return people.reissue(db, trust.links, row.private_id or "", verified)

    def consent(db: Session, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> dict[str, Any]:
        return people.refresh_basic4(
            db, trust.links, row.private_id or "", verified,
            to_be_signed=card_requests.to_be_signed(row, issuer),
            consent_text=row.consent_text or "", signature=answer.signature)

    return {"onboard": onboard, "login": login, "reissue": reissue, "consent": consent}
