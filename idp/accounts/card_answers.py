"""Answering a card request: the checks, as a table, then what the purpose does.

Checks (each raises a typed error a person can act on): the request is claimed once and not
expired; the certificate parses as JPKI; it is of the type the request asked for; it chains to a
trusted J-LIS CA and is valid now; the card signed this request's ``to_be_signed``; J-LIS says it
is not revoked now (trust policy). Then the purpose's step runs: onboarding, card login,
re-issue, the consented 4-info refresh, or signing a document (``card_signing``). The result
records what the revocation check found (``certificate_status``): with ``fail_closed = false``
an unknown status lets the answer through, and the steps after it (continuing a card login, a
signature's status) must weigh it as unknown, never as good.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp import metrics
from idp.accounts import card_requests, card_signing, people
from idp.accounts.anchor_check import CertAnswer, answer_for
from idp.accounts.anchor_policy import CertStatus
from idp.accounts.changes import ChangeSink
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.ports import TrustPort
from idp.audit import entries as audit
from idp.audit.log import AuditLog
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
class AnswerCheck:
    reason: str
    description: str
    run: Callable[[CardRequestRow, JpkiCertificate, Answer, str], None]


def _signed_this_request(row: CardRequestRow, cert: JpkiCertificate, answer: Answer,
                         issuer: str) -> None:
    verify_card_signature(cert, answer.signature, card_requests.to_be_signed(row, issuer))


SIGNATURE_CHECKS = (
    AnswerCheck("signature", "The card signed this request's to_be_signed (purpose, request and "
          "IdP bound).", _signed_this_request),
)

@dataclass(frozen=True)
class Described:
    """A card request as the card app is shown it, before the relying party's name is added."""

    interaction_uid: str
    body: dict[str, Any]

    def describe(self, *, relying_party: str) -> dict[str, Any]:
        return {**self.body, "relying_party": {"name": relying_party}}


# A purpose's step asks J-LIS (reading our database only through the single-read sessions it
# is given) and answers the write that records what J-LIS said: no transaction is held across a
# J-LIS call (people.py).
Step = Callable[[people.Reads, CardRequestRow, VerifiedCertificate, Answer, str], people.Write]


class CardAnswers:
    """Verifies answers and runs the purpose's step; records the outcome on the request."""

    def __init__(self, sessions: sessionmaker[Session], trust: TrustPort,
                 steps: dict[str, Step], *, audit: AuditLog | None = None) -> None:
        self._sessions = sessions
        self._audit = audit
        self._reads = dbm.single_read_sessions(sessions)
        self._trust = trust
        self._steps = steps

    def describe(self, request_id: str, *, issuer: str) -> Described:
        """What the card app shows before the PIN (refused for an unknown request)."""
        with self._sessions() as db:
            row = card_requests.load(db, request_id)
            return Described(row.interaction_uid,
                             card_requests.describe(row, issuer=issuer, relying_party=""))

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
            metrics.card_request(row.purpose, error.code)
            with dbm.transaction(self._sessions) as db:
                card_requests.record(db, request_id, outcome="refused",
                                     error=(error.code, error.description))
                self._audited(db, row, "refused", {"reason": error.code,
                                                   "certificate": _named(answer)})
            raise
        metrics.card_request(row.purpose, "accepted")
        return result

    def _verify_and_run(self, row: CardRequestRow, answer: Answer, issuer: str,
                        now: datetime) -> dict[str, Any]:
        trust = self._trust
        certificate = parse_certificate(answer.certificate)
        verified = trust.verify(certificate, Purpose(row.certificate_purpose), now)
        for check in SIGNATURE_CHECKS:
            check.run(row, certificate, answer, issuer)
        checked = answer_for(trust.check_now(verified))
        write = self._steps[row.purpose](self._reads, row, verified, answer, issuer)
        with dbm.transaction(self._sessions) as db:
            result = {**write(db), STATUS_FIELD: checked.status.value}
            card_requests.record(db, row.id, outcome="accepted", result=result)
            self._audited(db, row, "ok", {
                "certificate": _named(answer), "status": checked.status.value,
                "reason": checked.reason.value if checked.reason else None,
                "revocation_source": checked.source}, result.get("private_id"))
        return result

    def _audited(self, db: Session, row: CardRequestRow, outcome: str, details: dict[str, Any],
                 private_id: Any = None) -> None:
        """The audit entry of an answer: the certificate verified, what its status check said
        (and which source said it), the step's outcome; in the transaction recording it."""
        if self._audit is None:
            return
        whose = private_id or row.private_id
        self._audit.record("card.answered", actor=audit.person(str(whose)) if whose
                           else audit.anonymous(), outcome=outcome,
                           details={"purpose": row.purpose, **details}, db=db)


def _named(answer: Answer) -> dict[str, str] | None:
    """The answer's certificate by issuer and serial, as the audit log names it."""
    try:
        certificate = parse_certificate(answer.certificate)
    except (IdpError, ValueError, TypeError):
        return None
    return {"serial": certificate.serial_hex, "issuer": certificate.issuer.rfc4514_string(),
            "purpose": certificate.purpose.value}


STATUS_FIELD = "certificate_status"


def checked_status(result: Mapping[str, Any]) -> CertAnswer:
    """What the answer's revocation check found for the card's certificate, as its result
    recorded it; a result without it is unknown, never good."""
    return CertAnswer(CertStatus(result.get(STATUS_FIELD, CertStatus.UNKNOWN)))


def default_steps(trust: TrustPort, changes: ChangeSink | None = None) -> dict[str, Step]:
    """The purposes' steps; ``changes`` hears what a re-issue or a 4-info refresh changed."""
    def onboard(reads: people.Reads, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> people.Write:
        return people.onboard(reads, trust.links, verified, card_requests.agreement(row))

    def login(reads: people.Reads, row: CardRequestRow, verified: VerifiedCertificate,
              answer: Answer, issuer: str) -> people.Write:
        return people.card_login(reads, trust.links, verified)

    def reissue(reads: people.Reads, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> people.Write:
        return people.reissue(reads, trust.links, row.private_id or "", verified, changes)

    def consent(reads: people.Reads, row: CardRequestRow, verified: VerifiedCertificate,
                answer: Answer, issuer: str) -> people.Write:
        return people.refresh_basic4(
            reads, trust.links, row.private_id or "", verified,
            to_be_signed=card_requests.to_be_signed(row, issuer),
            consent_text=row.consent_text or "", signature=answer.signature, changes=changes)

    return {"onboard": onboard, "login": login, "reissue": reissue, "consent": consent,
            "sign": card_signing.sign_step(trust)}
