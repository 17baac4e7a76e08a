"""What a J-LIS outage does to each login, per trust policy and purpose: the matrix, cell by cell.

Rows: an outage (``tests/support/jlis_outage.py``) × ``method`` × ``fail_closed``. Columns, what
a person gets when that policy is the one of the purpose named, the other purpose keeping the
default policy (``ocsp_then_crl``, fail closed):

- ``trust.sign``: **passkey sign-in** — the anchor re-check (the auth certificate is asked too,
  as evidence about the card, under ``trust.auth``): the level (``level_for``) and the anchor's
  state and reason as the JSON face shows them; **signing certificate presented** — onboarding,
  re-issue, the 4-info consent: the revocation check of the signing certificate itself;
  **card reported lost** — both certificates on hold: since the last check (the private ID
  still active), its holder tries a passkey; or before it, the private ID suspended by the last
  ``idp recheck``: ``idp recheck`` runs again, then its holder tries a passkey;
- ``trust.auth``: **card login** — the auth certificate the card presents is checked when the
  card answers, refused there or weighed as found; then the anchor is re-checked (under
  ``trust.sign``); **card reported lost** — the same with the lost card (found by a thief, say).

Each cell runs the real trust services (``idp.bootstrap.trust.build``: breakers, OCSP and CRL
sources per purpose, the revocation checker) over J-LIS mocked with ``responses``, the real
``AnchorChecker`` on SQLite and ``level_for``. The same table is in docs/operations.md ("J-LIS
outages"); a test holds them equal. After changing the table, write it there with

    python -m tests.unit.accounts.test_jlis_outage_matrix
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest
import responses

from idp import db, i18n
from idp.accounts.anchor_check import (
    AnchorCheck,
    AnchorChecker,
    CertAnswer,
    answer_for,
    reason_flag,
)
from idp.accounts.anchor_policy import CertStatus
from idp.assurance import levels
from idp.assurance.evidence import Evidence, Method, level_for
from idp.bootstrap import trust as trust_services
from idp.errors import IdpError
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import CertificateRevokedError
from idp.jpki.profile import Purpose
from idp.jpki.validation import VerifiedCertificate
from idp.passkeys.service import PasskeyService
from idp.settings import RevocationPolicy, Settings, TrustSettings, WebauthnSettings
from tests.support import jpki_pki as pki
from tests.support.jlis_outage import (
    DESCRIPTIONS,
    ORIGIN,
    JlisScript,
    Outage,
    People,
    Person,
    cache_crls,
    install,
    write_anchors,
)

URL = "http://jlis.test"
OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"
BEGIN = "<!-- outage matrix: python -m tests.unit.accounts.test_jlis_outage_matrix -->"
END = "<!-- end of outage matrix -->"

# What a person is told: the level and the anchor as the JSON face shows them, or the refusal.
IAL2 = "ial2-aal2; current (sign_good)"
UNKNOWN = "ial1-aal2; unverifiable (status_unknown)"
AUTH_UNKNOWN = "ial1-aal2; unverifiable (auth_status_unknown)"
ACCEPTED, ACCEPTED_UNKNOWN = "accepted: good", "accepted: unknown"
OCSP_424, STALE_424, NO_CRL_424 = "424 ocsp_unavailable", "424 crl_stale", "424 crl_unavailable"
SUSPENDED, REVOKED = "403 account_suspended", "403 certificate_revoked"

RevocationMethod = Literal["ocsp", "crl", "ocsp_then_crl"]
METHODS: tuple[RevocationMethod, ...] = ("ocsp", "crl", "ocsp_then_crl")


@dataclass(frozen=True)
class Cell:
    outage: Outage
    method: RevocationMethod
    fail_closed: bool
    passkey: str  # trust.sign: a passkey sign-in, i.e. the anchor re-check
    signing: str  # trust.sign: the signing certificate presented (onboarding, re-issue, consent)
    lost_passkey: str  # trust.sign: card reported lost since the last check: a passkey sign-in
    lost_recheck: str  # trust.sign: card reported lost (suspended): idp recheck, then a passkey
    card: str  # trust.auth: a card login (the auth certificate presented, then the anchor)
    lost_card: str  # trust.auth: the lost card's own card login


# Short names, so that a row of the table fits a line.
OCSP_DOWN, CRL_STALE, CRL_MISSING = Outage.OCSP_DOWN, Outage.CRL_STALE, Outage.CRL_MISSING
SLOW, EXPIRED = Outage.JLIS_SLOW, Outage.JLIS_SLOW_CRL_EXPIRED
UNK, A_UNK, ACC, ACC_UNK, SUSP, REV = (UNKNOWN, AUTH_UNKNOWN, ACCEPTED, ACCEPTED_UNKNOWN,
                                       SUSPENDED, REVOKED)
OCSP, STALE, NO_CRL = OCSP_424, STALE_424, NO_CRL_424

MATRIX: tuple[Cell, ...] = (
    # The signing-certificate column shows where fail_closed for sign matters: a passkey
    # sign-in with an unknown status is never refused, only held to ial1-aal2.
    # Columns: outage, method, fail_closed; trust.sign: passkey sign-in, signing certificate,
    # newly lost card's passkey, suspended lost card's recheck + passkey; trust.auth: card
    # login, lost card's card login (the fields of Cell, in order).
    Cell(OCSP_DOWN,   "ocsp",          True,  UNK,  OCSP,    SUSP, SUSP, OCSP,   OCSP),
    Cell(OCSP_DOWN,   "ocsp",          False, UNK,  ACC_UNK, SUSP, SUSP, A_UNK,  SUSP),
    Cell(OCSP_DOWN,   "crl",           True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(OCSP_DOWN,   "crl",           False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(OCSP_DOWN,   "ocsp_then_crl", True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(OCSP_DOWN,   "ocsp_then_crl", False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_STALE,   "ocsp",          True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_STALE,   "ocsp",          False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_STALE,   "crl",           True,  UNK,  STALE,   SUSP, SUSP, STALE,  STALE),
    Cell(CRL_STALE,   "crl",           False, UNK,  ACC_UNK, SUSP, SUSP, A_UNK,  SUSP),
    Cell(CRL_STALE,   "ocsp_then_crl", True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_STALE,   "ocsp_then_crl", False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_MISSING, "ocsp",          True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_MISSING, "ocsp",          False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_MISSING, "crl",           True,  UNK,  NO_CRL,  SUSP, SUSP, NO_CRL, NO_CRL),
    Cell(CRL_MISSING, "crl",           False, UNK,  ACC_UNK, SUSP, SUSP, A_UNK,  SUSP),
    Cell(CRL_MISSING, "ocsp_then_crl", True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(CRL_MISSING, "ocsp_then_crl", False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(SLOW,        "ocsp",          True,  UNK,  OCSP,    SUSP, SUSP, OCSP,   OCSP),
    Cell(SLOW,        "ocsp",          False, UNK,  ACC_UNK, SUSP, SUSP, A_UNK,  SUSP),
    Cell(SLOW,        "crl",           True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(SLOW,        "crl",           False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(SLOW,        "ocsp_then_crl", True,  IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    Cell(SLOW,        "ocsp_then_crl", False, IAL2, ACC,     SUSP, SUSP, IAL2,   REV),
    # A day on, the other purpose's default policy has nothing left either: nothing known.
    Cell(EXPIRED,     "ocsp",          True,  UNK,  OCSP,    UNK,  SUSP, OCSP,   OCSP),
    Cell(EXPIRED,     "ocsp",          False, UNK,  ACC_UNK, UNK,  SUSP, UNK,    SUSP),
    Cell(EXPIRED,     "crl",           True,  UNK,  STALE,   UNK,  SUSP, STALE,  STALE),
    Cell(EXPIRED,     "crl",           False, UNK,  ACC_UNK, UNK,  SUSP, UNK,    SUSP),
    Cell(EXPIRED,     "ocsp_then_crl", True,  UNK,  STALE,   UNK,  SUSP, STALE,  STALE),
    Cell(EXPIRED,     "ocsp_then_crl", False, UNK,  ACC_UNK, UNK,  SUSP, UNK,    SUSP),
)


def cell_id(cell: Cell) -> str:
    return f"{cell.outage}-{cell.method}-{'closed' if cell.fail_closed else 'open'}"


def find(outage: Outage, method: RevocationMethod, fail_closed: bool) -> Cell:
    """The cell of the table (the app-level tests check theirs against it)."""
    return next(c for c in MATRIX
                if (c.outage, c.method, c.fail_closed) == (outage, method, fail_closed))


def shown(check: AnchorCheck, method: Method) -> str:
    """The level a login gets and the anchor's state, reason and next step, as in the JSON."""
    level = level_for(Evidence(check.proofing, method))
    # The acr a relying party that asks for none receives: the identity level is what an outage
    # moves (the authenticator's part of the value does not change with J-LIS).
    acr = levels.asserted(level.acr.value, [])
    text = f"{acr.rsplit(':', 1)[1]}; {check.state.value} ({check.reason})"
    return text + (f", next: {check.next_step}" if check.next_step else "")


def refused(error: IdpError) -> str:
    return f"{error.status} {error.code}"


# --- running one cell ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'idp.sqlite3'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    yield People.onboarded(sessions)
    engine.dispose()


class Worker:
    """One IdP worker process as the outage finds it: trust services freshly built from the
    settings (closed breakers), with the CRL cache the last refresh left."""

    def __init__(self, base: Path, people: People, outage: Outage | None, *,
                 sign: RevocationPolicy, auth: RevocationPolicy) -> None:
        write_anchors(base / "var" / "trust")
        cache = base / "crl"
        cache_crls(cache, people.cards, outage)
        settings = Settings(var_dir=base / "var", jlis={"url": URL, "api_key": "k"},
                            trust=TrustSettings(sign=sign, auth=auth, crl_cache_dir=cache))
        self.trust = trust_services.build(settings)
        self.checker = AnchorChecker(people.sessions, self.trust)
        self.passkeys = PasskeyService(people.sessions, WebauthnSettings())

    def passkey_sign_in(self, person: Person) -> str:
        """``PasskeyFlow.sign_in_verify``: the passkey, then the anchor re-check."""
        started = self.passkeys.begin_authentication()
        try:
            login = self.passkeys.finish_authentication(
                handle=started.handle,
                response_json=person.authenticator.get(started.options_json, origin=ORIGIN))
            check = self.checker.check(login.private_id)
            check.refuse_inactive()
        except IdpError as error:
            return refused(error)
        return shown(check, login.method)

    def recheck_then_passkey(self, person: Person) -> str:
        """``idp recheck`` (the same check, for every anchor), then the person signs in."""
        self.checker.check(person.private_id)
        return self.passkey_sign_in(person)

    def card_login(self, person: Person) -> str:
        """``CardAnswers.answer`` for the auth certificate, then ``CardSignIns.finish``."""
        try:
            try:
                answer = answer_for(self.trust.check_now(self.verified(person, Purpose.AUTH)))
            except CertificateRevokedError as revoked:  # card_app: what it means for the account
                self.checker.check(person.private_id, auth=CertAnswer(
                    CertStatus.REVOKED, reason_flag(revoked.reason)))
                raise
            check = self.checker.check(person.private_id, auth=answer)
            check.refuse_inactive()
        except IdpError as error:
            return refused(error)
        return shown(check, Method.CARD)

    def signing_certificate(self, person: Person) -> str:
        """``CardAnswers.answer`` for a signing certificate, up to the purpose's step."""
        try:
            checked = self.trust.check_now(self.verified(person, Purpose.SIGN))
        except IdpError as error:
            return refused(error)
        return f"accepted: {checked.status.state.value}"

    def verified(self, person: Person, purpose: Purpose) -> VerifiedCertificate:
        certificate = parse_certificate(pki.der(person.card.certificate(purpose)))
        return self.trust.verify(certificate, purpose, datetime.now(UTC))


def run(cell: Cell, people: People, base: Path) -> Cell:
    """The cell as it happens: each column in a worker of its own (fresh breakers and CRL
    cache), the row's policy for the column's purpose only."""
    policy = RevocationPolicy(method=cell.method, fail_closed=cell.fail_closed)
    default = RevocationPolicy()

    def worker(name: str, *, sign: RevocationPolicy, auth: RevocationPolicy) -> Worker:
        return Worker(base / name, people, cell.outage, sign=sign, auth=auth)

    people.as_before_the_outage()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as jlis:
        install(jlis, URL, JlisScript(people.cards, cell.outage))
        return replace(
            cell,
            passkey=worker("passkey", sign=policy, auth=default).passkey_sign_in(people.holder),
            signing=worker("signing", sign=policy, auth=default).signing_certificate(
                people.holder),
            lost_passkey=worker("lost_passkey", sign=policy, auth=default).passkey_sign_in(
                people.newly_lost),
            lost_recheck=worker("recheck", sign=policy, auth=default).recheck_then_passkey(
                people.loser),
            card=worker("card", sign=default, auth=policy).card_login(people.holder),
            lost_card=worker("lost", sign=default, auth=policy).card_login(people.loser))


@pytest.mark.parametrize("cell", MATRIX, ids=cell_id)
def test_each_login_gets_what_the_matrix_says_during_the_outage(
        cell: Cell, people: People, tmp_path: Path) -> None:
    assert asdict(run(cell, people, tmp_path)) == asdict(cell)


def test_without_an_outage_a_card_in_order_is_at_ial2_and_a_lost_one_refused(
        people: People, tmp_path: Path) -> None:
    """The control: the same workers and J-LIS, J-LIS answering, for each method."""
    for method in METHODS:
        policy = RevocationPolicy(method=method)
        people.as_before_the_outage()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as jlis:
            install(jlis, URL, JlisScript(people.cards, None))
            worker = Worker(tmp_path / method, people, None, sign=policy, auth=policy)
            assert (worker.passkey_sign_in(people.holder),
                    worker.signing_certificate(people.holder),
                    worker.passkey_sign_in(people.newly_lost),
                    worker.recheck_then_passkey(people.loser),
                    worker.card_login(people.holder),
                    worker.card_login(people.loser)) == (IAL2, ACCEPTED, SUSPENDED, SUSPENDED,
                                                         IAL2, REVOKED)


def test_the_table_covers_every_outage_method_and_fail_closed_once() -> None:
    keys = [(c.outage, c.method, c.fail_closed) for c in MATRIX]
    assert sorted(keys) == sorted({(o, m, f) for o in Outage for m in METHODS
                                   for f in (True, False)})


# --- the same table in docs/operations.md -------------------------------------------------

def markdown() -> str:
    """The matrix as docs/operations.md shows it, between ``BEGIN`` and ``END``."""
    lines = [BEGIN, "",
             "| outage | `method` | `fail_closed` | `trust.sign`: passkey sign-in | "
             "`trust.sign`: signing certificate presented | `trust.sign`: card reported lost "
             "since the last check, passkey sign-in | `trust.sign`: card reported lost, "
             "suspended: `idp recheck` then passkey sign-in | `trust.auth`: card login | "
             "`trust.auth`: card reported lost, card login |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| `{c.outage}` | `{c.method}` | {str(c.fail_closed).lower()} | {c.passkey} | "
              f"{c.signing} | {c.lost_passkey} | {c.lost_recheck} | {c.card} | {c.lost_card} |"
              for c in MATRIX]
    lines += ["", "Outages (everything not named works):", ""]
    lines += [f"- `{outage}`: {text}" for outage, text in DESCRIPTIONS.items()]
    lines += ["", "What the browser is told for each refusal (`idp/i18n/en.json`; Japanese by "
              "default):", ""]
    lines += [f"- `{code}`: {i18n.translate('en', f'error.{code}')}" for code in refusals()]
    return "\n".join([*lines, "", END])


def refusals() -> list[str]:
    """The error codes the table shows, in order of appearance."""
    cells = [text for c in MATRIX
             for text in (c.passkey, c.signing, c.lost_passkey, c.lost_recheck, c.card,
                          c.lost_card)]
    return list(dict.fromkeys(text.split()[1] for text in cells if text[:3].isdigit()))


def documented(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    assert start != -1, f"{OPERATIONS} lacks the outage matrix marker {BEGIN}"
    assert end > start, f"{OPERATIONS} lacks the outage matrix marker {END}"
    return text[start:end + len(END)]


def test_docs_operations_shows_this_matrix() -> None:
    assert documented(OPERATIONS.read_text()) == markdown(), (
        "docs/operations.md differs from the matrix: run "
        "`python -m tests.unit.accounts.test_jlis_outage_matrix` and commit the result")


def write_docs() -> None:
    text = OPERATIONS.read_text()
    OPERATIONS.write_text(text.replace(documented(text), markdown()))


if __name__ == "__main__":
    write_docs()
    sys.exit(0)
