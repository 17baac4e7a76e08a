"""The statuses a batch re-check decides on: every anchor of one CA from one pass over its CRL.

``idp recheck`` (``idp.accounts.recheck``) reads the live anchors and asks here, CA by CA,
what each one's signing certificate is now: expired (its stored notAfter), revoked (on the
CA's CRL, with the reason), good, or unknown (no CRL usable under the trust policy: unknown,
as at a login, never good). Decisions come from ``anchor_policy`` itself, once per distinct
status: :class:`Decisions` also tells which statuses leave the decision to the auth
certificate, found by trying the policy with every auth status rather than by a copy of its
rules.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from cryptography.x509 import ReasonFlags

from idp.accounts.anchor_check import CertAnswer, reason_flag
from idp.accounts.anchor_policy import (
    DEFAULT_POLICY,
    AnchorPolicy,
    CertStatus,
    Decision,
    Observation,
    decide,
)
from idp.accounts.ports import RevocationLists
from idp.jpki.errors import JpkiError, UnknownIssuerError
from idp.jpki.profile import Purpose

# An auth certificate to decide on: (anchor id, serial hex, CA key id hex, notAfter epoch)
Row = tuple[int, str, str | None, int | None]
GOOD, UNKNOWN = CertAnswer(CertStatus.GOOD), CertAnswer(CertStatus.UNKNOWN)
EXPIRED, NOT_CHECKED = CertAnswer(CertStatus.EXPIRED), CertAnswer(CertStatus.NOT_CHECKED)
_AUTH_VARIANTS = (NOT_CHECKED, GOOD, EXPIRED, UNKNOWN,
                  CertAnswer(CertStatus.REVOKED),
                  *(CertAnswer(CertStatus.REVOKED, reason) for reason in ReasonFlags))


class OneByOne(Exception):  # noqa: N818  (a signal to the caller, not an error)
    """These rows cannot be decided in bulk: re-check them one by one (``AnchorChecker``)."""


@dataclass(frozen=True)
class CaStatuses:
    """What one CA's CRL says of its certificates: the listed ones, and the rest."""

    revoked: dict[str, ReasonFlags]  # by serial (hex)
    others: CertAnswer  # GOOD, or UNKNOWN when no CRL was usable

    def answer(self, serial: str, not_after: int, now: int) -> CertAnswer:
        """As ``AnchorChecker.status``: expiry first (path validation fails before revocation
        is asked), then the CRL."""
        if not_after <= now:
            return EXPIRED
        if serial not in self.revoked:
            return self.others
        return CertAnswer(CertStatus.REVOKED, self.revoked[serial])


def ca_statuses(lists: RevocationLists, purpose: Purpose, key_id_hex: str | None,
                serials: Collection[str]) -> CaStatuses:
    """The CRL's answer for ``serials`` (hex) of the CA ``key_id_hex``. Raises
    :class:`OneByOne` when the batch may not decide them: the policy wants OCSP, the CA is not
    known by key id (or no longer trusted: a login's path validation says what that means)."""
    if key_id_hex is None or not lists.bulk(purpose):
        raise OneByOne()
    try:
        listed = lists.revoked(purpose, bytes.fromhex(key_id_hex), serials)
    except UnknownIssuerError as error:
        raise OneByOne() from error
    except JpkiError:  # no CRL usable under the trust policy: unknown, never good
        return CaStatuses({}, UNKNOWN)
    return CaStatuses({serial: reason_flag(reason) for serial, reason in listed.items()}, GOOD)


@dataclass
class Decisions:
    """``anchor_policy.decide``, memoised per distinct status (a million anchors, a handful of
    distinct observations)."""

    policy: AnchorPolicy = DEFAULT_POLICY
    _sign_only: dict[tuple[CertAnswer, bool], Decision | None] = field(default_factory=dict)
    _both: dict[tuple[CertAnswer, CertAnswer, bool], Decision] = field(default_factory=dict)

    def without_auth(self, sign: CertAnswer, *, suspended: bool = False) -> Decision | None:
        """The decision for ``sign`` when no auth status could change it, else None.
        ``suspended``: the anchor was suspended by an earlier check (not knowing now keeps it
        so, as at a login: ``anchor_policy``)."""
        key = (sign, suspended)
        if key not in self._sign_only:
            found = {self.with_auth(sign, auth, suspended=suspended) for auth in _AUTH_VARIANTS}
            self._sign_only[key] = found.pop() if len(found) == 1 else None
        return self._sign_only[key]

    def with_auth(self, sign: CertAnswer, auth: CertAnswer, *,
                  suspended: bool = False) -> Decision:
        key = (sign, auth, suspended)
        if key not in self._both:
            self._both[key] = decide(Observation(sign.status, sign.reason, auth.status,
                                                 auth.reason, suspended=suspended), self.policy)
        return self._both[key]
