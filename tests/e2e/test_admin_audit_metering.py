"""The audit log and the month's metering in the console, in headless Chromium: an auditor
filters /admin/audit to the administrators' actions (times in Japanese), and /admin/metering
draws the month's bar chart and table under the page CSP after relying parties' checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from idp import metering
from idp.app import services_of
from idp.metering import Meter
from tests.e2e.test_admin_console import idp  # noqa: F401  (the fixture)
from tests.support.admin import sign_in_with_chromium
from tests.support.browser import SCREENSHOTS, browser, watch_csp
from tests.support.login import login_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _checks(app: Flask) -> str:
    """Some validity checks on behalf of two relying parties this month; answers the month."""
    now = datetime.now(UTC)
    meter = Meter(services_of(app).sessions)
    for client, checks in (("bank", 12), ("shop", 4)):
        with metering.on_behalf_of(client):
            meter.checked_many("sign", "ocsp", [f"{client}:{n}" for n in range(checks)], now)
    return metering.month_of(now)


def test_an_auditor_filters_the_audit_log_and_reads_the_metering(
        idp: tuple[Flask, str]) -> None:  # noqa: F811
    app, base = idp
    for _ in range(3):
        login_session(app)  # people signing in meanwhile
    month = _checks(app)
    with browser() as chromium:
        context = chromium.new_context(locale="ja-JP")
        admin = sign_in_with_chromium(context, app, base, "alice", "admin")
        admin.close()
        page: Any = sign_in_with_chromium(context, app, base, "olivia", "auditor")
        violations = watch_csp(page)
        assert page.locator("#audit-head").count() == 1  # the chain's head on the home page
        page.click("nav a[href='/admin/audit']")
        page.wait_for_url(f"{base}/admin/audit")
        page.fill("input[name=action]", "admin.")
        page.fill("input[name=actor]", "admin:alice")
        page.click("#audit-filter button")
        page.wait_for_url(f"{base}/admin/audit?*")
        actions = page.locator("#audit-entries tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.action)")
        assert "admin.sign_in" in actions
        assert all(a.startswith("admin.") for a in actions)
        assert "年" in page.inner_text("#audit-entries tbody tr time >> nth=0")
        page.screenshot(path=str(SCREENSHOTS / "admin-audit.png"), full_page=True)

        page.click("nav a[href='/admin/metering']")
        page.wait_for_url(f"{base}/admin/metering")
        assert page.get_attribute(".metering", "data-month") == month
        bars = page.locator(".metering-chart svg rect")
        assert bars.count() >= 2
        assert page.locator(".metering-table tbody tr").count() == 2
        page.screenshot(path=str(SCREENSHOTS / "admin-metering.png"), full_page=True)
        context.close()
    assert violations == []
