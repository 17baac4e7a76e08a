"""`idp trust` in-process: show (text and JSON), policy set|history|rollback, anchors
add|retire|enable; refusals exit 1 with one line saying why, and change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from idp.cli.trust import cli_actor, trust_group
from idp.jpki.profile import Purpose
from idp.settings import Settings
from tests.support import jpki_pki as pki
from tests.unit.trustpolicy.conftest import pem, write_anchor_dir


@pytest.fixture
def settings(sqlite_settings: Settings) -> Settings:
    write_anchor_dir(sqlite_settings.var_dir)
    return sqlite_settings


def idp(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(trust_group, list(args), obj={"settings": settings})


def ok(settings: Settings, *args: str) -> str:
    result = idp(settings, *args)
    assert result.exit_code == 0, result.output
    return result.output


def refused(settings: Settings, *args: str) -> str:
    before = json.loads(ok(settings, "show", "--json"))["version"]
    result = idp(settings, *args)
    assert result.exit_code in (1, 2), result.output
    assert json.loads(ok(settings, "show", "--json"))["version"] == before
    return result.output


def shown(settings: Settings) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(ok(settings, "show", "--json"))
    return found


def test_show_prints_the_current_version(settings: Settings) -> None:
    text = ok(settings, "show")
    assert text.startswith("trust policy version 1 (")
    assert "by settings)" in text.splitlines()[0]
    assert "sign card       2023     enabled" in text
    assert "sign card       2015     retired" in text  # the shipped J-LIS generation
    assert "sign: method=ocsp_then_crl" in text
    assert "both revoked, affiliationChanged → closed" in text
    assert "smartphone: up to IAL2" in text
    data = shown(settings)
    assert (data["version"], data["actor"]) == (1, "settings")
    assert data["policy"]["revocation"]["auth"]["fail_closed"] is True


def test_set_records_a_version_by_the_cli_user(settings: Settings) -> None:
    out = ok(settings, "policy", "set", "revocation.auth.max_crl_staleness_seconds", "600",
             "--reason", "slow CRL refresh")
    assert out.splitlines() == [
        out.splitlines()[0], "  revocation.auth.max_crl_staleness_seconds: 0 → 600"]
    assert out.startswith("trust policy version 2 (")
    assert cli_actor() in out
    data = shown(settings)
    assert (data["version"], data["actor"], data["reason"]) == (2, cli_actor(),
                                                                "slow CRL refresh")
    ok(settings, "policy", "set", "sign.fail_closed", "false")
    assert shown(settings)["policy"]["revocation"]["sign"]["fail_closed"] is False
    ok(settings, "policy", "set", "reasons.reissue_reasons", "superseded,unspecified")
    assert shown(settings)["policy"]["reasons"]["reissue_reasons"] == ["superseded",
                                                                       "unspecified"]


@pytest.mark.parametrize(("args", "says"), [
    (("policy", "set", "revocation.sign.method", "fax"), "revocation.sign.method"),
    (("policy", "set", "revocation.auth.max_crl_staleness_seconds", "-5"),
     "greater than or equal to 0"),
    (("policy", "set", "revocation.tablet.method", "ocsp"), "unknown trust policy key"),
    (("policy", "set", "media.smartphone.max_ial", "3"), "max_ial"),
    (("policy", "rollback", "42"), "no trust policy version 42"),
    (("anchors", "retire", "--purpose", "sign", "--generation", "1999"),
     "no trust anchor matches"),
    (("anchors", "retire",), "name the CA"),
    (("anchors", "enable", "--medium", "tablet"), "Invalid value for '--medium'"),
    (("anchors", "add", "no-such-file.pem", "--purpose", "sign"), "does not exist"),
])
def test_refusals_say_why_and_change_nothing(settings: Settings, args: tuple[str, ...],
                                             says: str) -> None:
    assert says in refused(settings, *args)


def test_a_file_that_is_not_a_ca_is_refused(settings: Settings, tmp_path: Path) -> None:
    card = tmp_path / "card.der"
    card.write_bytes(pki.der(pki.sign_cert()))
    out = refused(settings, "anchors", "add", str(card), "--purpose", "sign")
    assert "is not a CA certificate" in out
    assert out.startswith("idp: ")
    text = tmp_path / "notes.pem"
    text.write_text("hello")
    assert "not an X.509 certificate" in refused(settings, "anchors", "add", str(text),
                                                 "--purpose", "auth")


def test_anchors_add_retire_enable_and_history(settings: Settings, tmp_path: Path) -> None:
    new = tmp_path / "sign_2027.pem"
    new.write_bytes(pem(Purpose.SIGN, "2027"))
    out = ok(settings, "anchors", "add", str(new), "--purpose", "sign", "--medium", "card",
             "--generation", "2027")
    assert "anchors[sign/card/2027/" in out
    assert ".enabled: (none) → true" in out
    ok(settings, "anchors", "retire", "--purpose", "sign", "--medium", "card", "--generation",
       "2023", "--reason", "superseded by 2027")
    anchors = {(a["purpose"], a["generation"], a["source"].endswith("ca.pem")): a["enabled"]
               for a in shown(settings)["policy"]["anchors"]}
    assert anchors[("sign", "2023", True)] is False
    assert anchors[("sign", "2027", False)] is True
    fingerprint = next(a["fingerprint"] for a in shown(settings)["policy"]["anchors"]
                       if a["purpose"] == "sign" and a["generation"] == "2015")
    ok(settings, "anchors", "enable", fingerprint[:20])  # the shipped J-LIS 2015 generation
    history = ok(settings, "policy", "history")
    assert history.index("version 4") < history.index("version 3") < history.index("version 1")
    assert "reason: superseded by 2027" in history
    versions = json.loads(ok(settings, "policy", "history", "--json"))
    assert [v["version"] for v in versions] == [4, 3, 2, 1]
    assert "policy" not in versions[0]
    back = ok(settings, "policy", "rollback", "2", "--json")
    assert (json.loads(back)["version"], json.loads(back)["rollback_of"]) == (5, 2)
    assert "rollback to version 2" in ok(settings, "policy", "history")


def test_a_change_at_the_shell_is_a_trust_policy_changed_audit_entry(settings: Settings) -> None:
    from idp.bootstrap import Services

    before = shown(settings)["version"]
    ok(settings, "policy", "set", "revocation.sign.method", "ocsp", "--reason", "maintenance")
    services = Services.build(settings)
    try:
        changed = [e for e in services.audit.entries(action="trust.policy.changed", limit=None)
                   if e.target == str(before + 1)]
    finally:
        services.close()
    assert len(changed) == 1
    assert changed[0].actor == cli_actor()
    assert changed[0].details["diff"] == [{"path": "revocation.sign.method",
                                           "from": "ocsp_then_crl", "to": "ocsp"}]
    assert (changed[0].details["reason"], changed[0].details["version"]) == ("maintenance",
                                                                            before + 1)
