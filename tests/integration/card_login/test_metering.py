"""Metering after a series of real logins against the J-LIS simulator: every check the IdP made
is charged to the relying party the person was logging in to, and the counts match what J-LIS
itself billed this verifier for (its ``/v1/metering``), in the service, the CLI and the price."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import requests
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from idp import db
from idp.app import services_of
from idp.cli.metering import metering_group
from idp.cli.recheck import recheck
from idp.metering import month_of
from idp.oidc import clients
from tests.integration.card_login.conftest import REDIRECT, Idp, person
from tests.integration.card_login.test_lifecycle_json import _card_login, _onboard


def _billed(idp: Idp) -> dict[str, int]:
    """What J-LIS (the simulator) has counted for this verifier so far, per purpose."""
    checks = services_of(idp.app).trust.get().jlis.metering().checks
    return {kind: checks.get(kind, 0) for kind in ("sign", "auth")}


def _metered(idp: Idp, client_id: str) -> dict[str, int]:
    rows = services_of(idp.app).metering.report(month_of(datetime.now(UTC)))
    return {kind: sum(r.checks for r in rows if r.client_id == client_id and r.kind == kind)
            for kind in ("sign", "auth")}


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {kind: after[kind] - before[kind] for kind in after}


def _scraped(idp: Idp, sample: str, **labels: str) -> float:
    answer = requests.get(f"{idp.url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    return sum(s.value for family in text_string_to_metric_families(answer.text)
               for s in family.samples if s.name == sample and labels.items() <= s.labels.items())


def _cli(idp: Idp, *args: str) -> str:
    result = CliRunner().invoke(metering_group, ["report", *args], obj={"settings": idp.settings})
    assert result.exit_code == 0, result.output
    return result.output


def test_logins_are_metered_for_their_relying_party_as_jlis_billed_them(
        idp: Idp, tmp_path: Path) -> None:
    with db.transaction(services_of(idp.app).sessions) as session:
        shop_id, secret = clients.register(session, name="Metered Shop",
                                           redirect_uris=[REDIRECT])
    shop = dataclasses.replace(idp, client_id=shop_id, secret=secret)
    billed, metered = _billed(idp), _metered(idp, shop_id)
    logins = _scraped(idp, "idp_logins_total", method="card", outcome="success")
    card_logins = _scraped(idp, "idp_card_requests_total", purpose="login", outcome="accepted")
    ocsp_calls = _scraped(idp, "idp_jlis_call_seconds_count", service="ocsp", outcome="ok")
    hanako = person(idp.sim, tmp_path, "佐藤　花子")
    _onboard(shop, hanako["card_file"])
    _card_login(shop, hanako["card_file"])
    assert _card_login(shop, hanako["card_file"]).state["prompt"] == "returned"
    checks = _delta(_billed(idp), billed)
    assert checks["sign"] >= 3, checks  # each login asked J-LIS
    assert checks["auth"] >= 2, checks
    assert _delta(_metered(idp, shop_id), metered) == checks

    # The same logins in /metrics: three sign-ins by card, two card logins, the OCSP calls.
    assert _scraped(idp, "idp_logins_total", method="card", outcome="success") == logins + 3
    assert _scraped(idp, "idp_card_requests_total", purpose="login",
                    outcome="accepted") == card_logins + 2
    ocsp = {kind: sum(r.checks for r in services_of(idp.app).metering.report(
        month_of(datetime.now(UTC))) if r.client_id == shop_id and r.kind == kind
        and r.method == "ocsp") for kind in ("sign", "auth")}
    assert _scraped(idp, "idp_jlis_call_seconds_count", service="ocsp",
                    outcome="ok") == ocsp_calls + ocsp["sign"] + ocsp["auth"]

    month = month_of(datetime.now(UTC))
    rows = [r for r in services_of(idp.app).metering.report(month) if r.client_id == shop_id]
    assert {r.method for r in rows} <= {"ocsp", "link", "basic4"}  # the trust policy: OCSP
    assert sum(r.yen for r in rows) == 20 * checks["sign"] + 2 * checks["auth"]
    answer = json.loads(_cli(idp, "--month", month, "--json"))
    assert [row for row in answer["rows"] if row["client_id"] == shop_id] == \
        [row.as_dict() for row in rows]
    table = [row for row in csv.DictReader(io.StringIO(_cli(idp, "--month", month, "--csv")))
             if row["client_id"] == shop_id]
    assert [int(row["yen"]) for row in table] == [r.yen for r in rows]


def test_the_batch_recheck_is_metered_as_recheck(idp: Idp, tmp_path: Path) -> None:
    jiro = person(idp.sim, tmp_path, "高橋　次郎")
    _onboard(idp, jiro["card_file"])
    billed, metered = _billed(idp), _metered(idp, "recheck")
    result = CliRunner().invoke(recheck, ["--all", "--json"], obj={"settings": idp.settings})
    assert result.exit_code == 0, result.output
    checks = _delta(_billed(idp), billed)
    assert checks["sign"] >= 1, checks  # OCSP policy: person by person
    assert _delta(_metered(idp, "recheck"), metered) == checks
