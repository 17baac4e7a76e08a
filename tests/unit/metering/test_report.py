"""``idp metering report`` (table, ``--json``, ``--csv``), the admin API's ``report(month)`` and
the admin page's chart tell the same month alike."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from xml.etree import ElementTree

from click.testing import CliRunner

from idp import metering
from idp.bootstrap import Services
from idp.cli.metering import metering_group
from idp.metering import Meter, MeteringRow
from idp.metering.chart import bar_chart_svg
from idp.metering.report import as_json
from idp.settings import Settings

AT = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def _seed(settings: Settings) -> list[MeteringRow]:
    services = Services.build(settings)
    try:
        meter = Meter(services.sessions)
        with metering.on_behalf_of("bank"):
            meter.checked_many("sign", "ocsp", ["a:1", "a:2", "a:3"], AT)
            meter.checked_many("auth", "ocsp", ["b:1"] * 4, AT)
        with metering.on_behalf_of("<shop&co>"):
            meter.checked_many("sign", "crl", ["a:1", "a:1", "a:2"], AT)
        meter.checked("sign", "ocsp", "a:9", datetime(2026, 6, 5, tzinfo=UTC))  # next month
        return services.metering.report("2026-05")
    finally:
        services.close()


def _run(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(metering_group, ["report", *args], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_report_prices_each_row_and_totals_the_month(sqlite_settings: Settings) -> None:
    rows = _seed(sqlite_settings)
    assert [(r.client_id, r.kind, r.method, r.checks, r.charged, r.yen) for r in rows] == [
        ("<shop&co>", "sign", "crl", 3, 2, 40),
        ("bank", "auth", "ocsp", 4, 4, 8),
        ("bank", "sign", "ocsp", 3, 3, 60)]
    assert as_json("2026-05", rows)["total"] == {"checks": 10, "charged": 9, "yen": 108}


def test_the_cli_json_and_csv_carry_the_service_rows(sqlite_settings: Settings) -> None:
    rows = _seed(sqlite_settings)
    answer = json.loads(_run(sqlite_settings, "--month", "2026-05", "--json"))
    assert answer == json.loads(json.dumps(as_json("2026-05", rows)))
    assert answer["currency"] == "JPY"
    table = list(csv.DictReader(io.StringIO(_run(sqlite_settings, "--month", "2026-05",
                                                 "--csv"))))
    assert [{k: str(v) for k, v in row.as_dict().items()} for row in rows] == table
    text = _run(sqlite_settings, "--month", "2026-05")
    assert "bank" in text
    assert "108" in text
    empty = json.loads(_run(sqlite_settings, "--month", "2026-07", "--json"))
    assert (empty["rows"], empty["total"]["yen"]) == ([], 0)


def test_the_cli_refuses_a_month_not_written_yyyy_mm(sqlite_settings: Settings) -> None:
    for month in ("2026-13", "2026-5", "May", "2026-05-01"):
        result = CliRunner().invoke(metering_group, ["report", "--month", month],
                                    obj={"settings": sqlite_settings})
        assert result.exit_code == 2, (month, result.output)
        assert "YYYY-MM" in result.output


def test_the_chart_has_one_bar_per_relying_party_sized_by_its_yen(
        sqlite_settings: Settings) -> None:
    rows = _seed(sqlite_settings)
    svg = ElementTree.fromstring(bar_chart_svg(rows))  # noqa: S314  (well formed: escaped)
    bars = {g.get("data-client"): int(g.get("data-yen") or 0)
            for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"}
    assert bars == {"bank": 68, "<shop&co>": 40}
    widths = {g.get("data-client"): float(g.find(f"{SVG}rect").get("width"))  # type: ignore[union-attr]
              for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"}
    assert widths["bank"] > widths["<shop&co>"] > 0
    assert "style=" not in bar_chart_svg(rows)  # the page's CSP allows no inline style
    empty = ElementTree.fromstring(bar_chart_svg([]))  # noqa: S314
    assert empty.find(f"{SVG}text") is not None
