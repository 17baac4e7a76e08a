"""Fail-closed per level, end to end: J-LIS answers nothing in time and the cached CRL expired,
so no revocation status can be established. With the trust policy's ``fail_closed`` set per
level (``{"ial1": false, "ial2": true}``, changed on one instance, holding on the other), a
login whose relying party asks for IAL2 is refused (424, the person told to try again later)
while one asking for IAL1, or for nothing, goes on at the reduced level; a card answer is let
through and weighed at the card login's continue. Set back to one flag (every level), the card
answer is refused at once, as before."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from idp.app import services_of
from tests.support.jlis_outage import Outage
from tests.unit.oidc.conftest import Rp, register
from tests.unit.web.test_jlis_outage_cells import card_login, passkey_sign_in
from tests.unit.web.test_trust_policy_effect import instances, next_login

IAL1, IAL2 = "urn:jpki-idp:acr:ial1-aal2", "urn:jpki-idp:acr:ial2-aal2"
REFUSED = "424 revocation_status_unavailable"
DEGRADED = "ial1-aal2; unverifiable (status_unknown)"


@dataclass
class Asking(Rp):
    """A relying party that asks for ``acr`` (voluntary ``acr_values``) at every login."""

    acr: str | None = None

    def authorize(self, **overrides: Any) -> tuple[str, str]:
        return super().authorize(**({"acr_values": self.acr} if self.acr else {}), **overrides)


def asking(app: Flask, acr: str | None) -> Asking:
    client_id, secret = register(app)
    return Asking(app, app.test_client(), client_id, secret, acr)


def test_a_login_asking_for_the_high_level_fails_closed_a_low_one_goes_on(
        tmp_path: Path, database_url: str) -> None:
    crl_only = {"method": "crl"}
    with instances(tmp_path, database_url, Outage.JLIS_SLOW_CRL_EXPIRED, sign=crl_only,
                   auth=crl_only) as found:
        holder, policy = found.people.holder, services_of(found.first).trust_policy
        for purpose in ("sign", "auth"):
            policy.set(f"revocation.{purpose}.fail_closed", {"ial1": False, "ial2": True},
                       actor="admin:ops", reason="test: outage, IAL1 may go on degraded")
        next_login()
        audit = services_of(found.second).audit
        before = audit.head()[0]
        assert passkey_sign_in(asking(found.second, IAL2), holder) == REFUSED
        refusals = [e for e in audit.entries(since=before + 1) if e.outcome == "refused"]
        assert [(e.action, e.details["reason"]) for e in refusals] == [
            ("login", "revocation_status_unavailable")]
        assert passkey_sign_in(asking(found.second, IAL1), holder) == DEGRADED
        assert passkey_sign_in(asking(found.second, None), holder) == DEGRADED
        # The card answer goes through (not every level fails closed); the login's continue
        # weighs it against the level asked.
        assert card_login(asking(found.second, IAL2), holder) == REFUSED
        assert card_login(asking(found.second, IAL1), holder).startswith(
            "ial1-aal2; unverifiable")

        found.idp("trust", "policy", "set", "revocation.auth.fail_closed", "true")
        next_login()
        assert card_login(asking(found.second, IAL1), holder) == "424 crl_stale"  # the answer
        shown = found.idp("trust", "show")
        assert "fail_closed=ial1=false ial2=true" in shown  # sign, still per level
        assert "fail_closed=true" in shown  # auth, every level
