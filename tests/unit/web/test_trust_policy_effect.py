"""A trust policy change made in one app instance (or with `idp trust`) holds in another app
instance on the same database at its next login: two apps, as two workers or two nodes would
be, over a J-LIS that is a real HTTP server on loopback, on SQLite and PostgreSQL.

- retiring the auth CA generation refuses the card login (``ca_retired``, in the person's
  language); retiring the signing one leaves a passkey sign-in at the reduced level;
- lowering a medium's level to IAL1 withholds the identity level;
- with the cached CRL past its nextUpdate, raising ``max_crl_staleness_seconds`` turns the
  fail-closed refusal (unverifiable) into a current anchor, and rolling back restores it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from flask import Flask

from idp.app import services_of
from idp.cli.trust import trust_group
from idp.settings import Settings
from tests.support.jlis_outage import Outage, People
from tests.support.jlis_site import idp_over_jlis
from tests.unit.web.test_jlis_outage_cells import (
    TIMEOUT,
    browser,
    card_login,
    passkey_sign_in,
)

CHECK_SECONDS = 0.5  # trust.policy_check_seconds of both apps


@dataclass
class Instances:
    people: People
    first: Flask  # where the change is made
    second: Flask  # where it must hold
    settings: Settings

    def idp(self, *args: str) -> str:
        """`idp ARGS` on this instance's settings."""
        assert args[0] == "trust"
        result = CliRunner().invoke(trust_group, list(args[1:]),
                                    obj={"settings": self.settings})
        assert result.exit_code == 0, result.output
        return result.output


@contextmanager
def instances(tmp_path: Path, database_url: str, outage: Outage | None = None,
              **trust: object) -> Iterator[Instances]:
    both = {"policy_check_seconds": CHECK_SECONDS, **trust}
    with idp_over_jlis(tmp_path, database_url, trust=[both, both], outage=outage,
                       jlis={"timeout_seconds": TIMEOUT}) as idp:
        yield Instances(idp.people, *idp.apps, settings=idp.settings[0])


def next_login() -> None:
    """The other instance asks for the policy version at most every CHECK_SECONDS."""
    time.sleep(CHECK_SECONDS + 0.05)


def test_retiring_a_ca_generation_refuses_its_certificates_at_the_next_login(
        tmp_path: Path, database_url: str) -> None:
    with instances(tmp_path, database_url) as found:
        holder = found.people.holder
        assert passkey_sign_in(browser(found.second), holder) == "ial2-aal2; current (sign_good)"

        found.idp("trust", "anchors", "retire", "--purpose", "auth", "--generation", "2023",
                  "--reason", "test: the auth CA generation is withdrawn")
        next_login()
        assert card_login(browser(found.second), holder) == "403 ca_retired"

        services_of(found.first).trust_policy.retire(
            purpose="sign", generation="2023", actor="admin:1", reason="test")
        next_login()
        assert passkey_sign_in(browser(found.second), holder) == \
            "ial1-aal2; unverifiable (ca_retired), next: reissue"

        services_of(found.first).trust_policy.rollback(1, actor="admin:1")
        next_login()  # (one successful card login per test: card_login reads its session)
        assert card_login(browser(found.second), holder) == "ial2-aal2; current (sign_good)"


def test_a_medium_held_to_ial1_withholds_the_identity_level(
        tmp_path: Path, database_url: str) -> None:
    with instances(tmp_path, database_url) as found:
        holder = found.people.holder
        found.idp("trust", "policy", "set", "media.card.max_ial", "1")
        next_login()
        assert passkey_sign_in(browser(found.second), holder) == "ial1-aal2; current (sign_good)"


def test_a_staleness_change_moves_the_fail_closed_decision_at_the_next_login(
        tmp_path: Path, database_url: str) -> None:
    """J-LIS answers nothing in time and the cached CRL expired an hour ago."""
    crl_only = {"method": "crl"}
    with instances(tmp_path, database_url, Outage.JLIS_SLOW_CRL_EXPIRED, sign=crl_only,
                   auth=crl_only) as found:
        holder = found.people.holder
        refused = "ial1-aal2; unverifiable (status_unknown)"
        assert passkey_sign_in(browser(found.second), holder) == refused

        changed = services_of(found.first).trust_policy.set(
            "revocation.sign.max_crl_staleness_seconds", 7200, actor="admin:1",
            reason="test: J-LIS is slow, accept CRLs up to two hours past nextUpdate")
        assert [dict(c) for c in changed.diff] == [
            {"path": "revocation.sign.max_crl_staleness_seconds", "from": 0, "to": 7200}]
        next_login()
        assert passkey_sign_in(browser(found.second), holder) == "ial2-aal2; current (sign_good)"

        found.idp("trust", "policy", "rollback", "1")
        next_login()
        assert passkey_sign_in(browser(found.second), holder) == refused
