"""A few cells of the J-LIS outage matrix end to end: the app's JSON faces over a J-LIS that is
a real HTTP server on loopback (a slow one really answers after ``jlis.timeout_seconds``).

The matrix itself (``tests/unit/accounts/test_jlis_outage_matrix.py``) drives every cell at the
level of the trust services; here the same cells go through what a browser and a card app see:
the passkey sign-in's answer (``account.acr`` and ``account.anchor``), ``idp recheck``, and the
card request protocol (the card app's answer, the browser's status and its ``continue``), with
the trust services the app builds itself from its settings. Each must show what the matrix says.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Flask
from sqlalchemy import select

from idp import db, i18n
from idp.accounts.models import LoginSession
from idp.app import services_of
from idp.assurance import levels
from idp.cli.recheck import recheck
from idp.settings import RevocationPolicy, Settings, TrustSettings
from tests.support import jpki_pki as pki
from tests.support.jlis_outage import ORIGIN, Outage, People, Person
from tests.support.jlis_site import idp_over_jlis
from tests.unit.accounts.test_jlis_outage_matrix import RevocationMethod, find
from tests.unit.oidc.conftest import Rp

TIMEOUT = 0.25  # jlis.timeout_seconds; the slow J-LIS answers after a second

CELLS = [
    (Outage.OCSP_DOWN, "ocsp_then_crl", True),  # the fallback to the CRL
    (Outage.JLIS_SLOW, "ocsp", True),  # real timeouts; card login refused 424
    (Outage.CRL_STALE, "crl", False),  # fail-open: in at the reduced level, a lost card not
    (Outage.JLIS_SLOW_CRL_EXPIRED, "ocsp_then_crl", False),  # nothing left to ask
]


@dataclass
class Idp:
    """One database and instance directory; an app per purpose whose policy the row sets."""

    people: People
    sign_app: Flask  # trust.sign = the row's policy, trust.auth the default
    auth_app: Flask  # trust.auth = the row's policy, trust.sign the default
    sign_settings: Settings
    row: RevocationPolicy

    def card_phase(self) -> None:
        """The two apps share one database, hence one trust policy (``idp.trustpolicy``),
        seeded from the sign app's settings: before the card logins it becomes the auth app's
        (the row's policy for auth, the default for sign), as an administrator would set it."""
        if self.row == RevocationPolicy():
            return  # the row's policy is the default: the policy already says that
        policy = services_of(self.auth_app).trust_policy
        document = policy.current().policy.as_json()
        document["revocation"] = {"sign": RevocationPolicy().model_dump(),
                                  "auth": self.row.model_dump()}
        policy.replace(document, actor="cli:test", reason="the auth app's policy")


@contextmanager
def idp(tmp_path: Path, outage: Outage, method: RevocationMethod,
        fail_closed: bool) -> Iterator[Idp]:
    url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    db.upgrade(url)
    row, default = RevocationPolicy(method=method, fail_closed=fail_closed), RevocationPolicy()
    trust = [TrustSettings(sign=sign, auth=auth, policy_check_seconds=0)
             for sign, auth in ((row, default), (default, row))]
    with idp_over_jlis(tmp_path, url, trust=trust, outage=outage,
                       jlis={"timeout_seconds": TIMEOUT}) as site:
        services_of(site.apps[0]).trust_policy.current()  # the first version: the sign app's
        yield Idp(site.people, *site.apps, sign_settings=site.settings[0], row=row)


def browser(app: Flask) -> Rp:
    """A relying party of ``app`` and a new browser of its user (no cookie yet)."""
    return Rp.registered(app)


def shown(acr: str, anchor: dict[str, Any]) -> str:
    """The matrix's words for what the JSON face shows."""
    asserted = levels.asserted(acr, [])  # the identity level, as the matrix states it
    text = f"{asserted.rsplit(':', 1)[1]}; {anchor['state']} ({anchor['reason']})"
    return text + (f", next: {anchor['next_step']}" if anchor.get("next_step") else "")


def refused(response: Any) -> str:
    return f"{response.status_code} {response.get_json()['error']}"


def passkey_sign_in(rp: Rp, person: Person) -> str:
    state = rp.interaction(rp.authorize()[0])
    options = rp.act(state, "passkey_options", {}).get_json()["options"]
    assertion = person.authenticator.get(json.dumps(options), origin=ORIGIN)
    answer = rp.act(state, "passkey_verify", {"credential": assertion})
    if answer.status_code != 200:
        return refused(answer)
    account = answer.get_json()["account"]
    return shown(account["acr"], account["anchor"])


def card_login(rp: Rp, person: Person) -> str:
    """Authorize, ask for a card request, answer it as the card app does, then follow it as the
    browser does: its status, and ``continue``."""
    state = rp.interaction(rp.authorize()[0])
    request_id = rp.act(state, "card", {}).get_json()["request_id"]
    text = rp.browser.get(f"/card-requests/{request_id}").get_json()["to_be_signed"]
    to_be_signed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    signature = pki.key("holder-auth").sign(to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    answered = rp.browser.post(f"/card-requests/{request_id}", json={
        "certificate": base64.b64encode(pki.der(person.card.auth)).decode(),
        "signature": base64.b64encode(signature).decode()})
    status = rp.browser.get(f"/interaction/{state['uid']}/status").get_json()
    if answered.status_code != 200:
        code = answered.get_json()["error"]  # the browser is told the same, in its language
        assert (status["status"], status["error"]) == ("refused", code)
        assert status["error_description"] == i18n.translate("ja", f"error.{code}")
        return refused(answered)
    continued = rp.act({**state, **status}, "continue", {})
    if continued.status_code != 200:
        return refused(continued)
    return shown(card_session_acr(rp.app, person), continued.get_json()["anchor"])


def card_session_acr(app: Flask, person: Person) -> str:
    with services_of(app).sessions() as session:
        rows = session.scalars(select(LoginSession).where(
            LoginSession.private_id == person.private_id)).all()
        (acr,) = [row.acr for row in rows if "pin" in row.amr]
        return acr


def recheck_then_passkey(found: Idp, person: Person) -> str:
    result = CliRunner().invoke(recheck, ["--all", "--json"],
                                obj={"settings": found.sign_settings})
    assert result.exit_code == 0, result.output
    return passkey_sign_in(browser(found.sign_app), person)


@pytest.mark.parametrize(("outage", "method", "fail_closed"), CELLS,
                         ids=[f"{o}-{m}-{'closed' if f else 'open'}" for o, m, f in CELLS])
def test_the_json_faces_show_what_the_matrix_says(
        tmp_path: Path, outage: Outage, method: RevocationMethod, fail_closed: bool) -> None:
    cell = find(outage, method, fail_closed)
    with idp(tmp_path, outage, method, fail_closed) as found:
        holder, loser = found.people.holder, found.people.loser
        got = {"passkey": passkey_sign_in(browser(found.sign_app), holder),
               "lost_passkey": passkey_sign_in(browser(found.sign_app), found.people.newly_lost),
               "lost_recheck": recheck_then_passkey(found, loser)}
        found.card_phase()
        got |= {"card": card_login(browser(found.auth_app), holder),
               "lost_card": card_login(browser(found.auth_app), loser)}
    assert got == {"passkey": cell.passkey, "lost_passkey": cell.lost_passkey,
                   "lost_recheck": cell.lost_recheck, "card": cell.card,
                   "lost_card": cell.lost_card}
