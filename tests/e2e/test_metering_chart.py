"""The admin page's metering fragment in a real browser, under the IdP's page CSP: the chart
draws one visible bar per relying party, longest for the largest amount, with no inline style
refused; the table lists the rows and the month's total. (The admin page that serves it, behind
its session, wires ``idp.web.metering.fragment``; here a test route serves it bare.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Response
from werkzeug.serving import make_server

from idp import metering
from idp.app import create_app, services_of
from idp.metering import Meter
from idp.settings import Settings
from idp.web.metering import fragment
from tests.support.browser import browser
from tests.support.sim import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AT = datetime(2026, 8, 12, tzinfo=UTC)


@pytest.fixture
def served(sqlite_settings: Settings) -> Iterator[str]:
    app = create_app(sqlite_settings)
    meter = Meter(services_of(app).sessions)
    for client, checks in (("bank", 30), ("shop", 5)):
        with metering.on_behalf_of(client):
            meter.checked_many("sign", "ocsp", [f"{client}:{n}" for n in range(checks)], AT)
    meter.checked_many("auth", "ocsp", ["x:1"] * 7, AT)

    @app.get("/test-metering")  # behind the IdP's hooks: its answer has the page CSP
    def page() -> Response:
        body = fragment(services_of(app).metering, "2026-08", "ja")
        return Response(f"<!doctype html><html lang=ja><body>{body}</body></html>",
                        mimetype="text/html")

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/test-metering"
    finally:
        server.shutdown()
        thread.join()
        services_of(app).engine.dispose()


def test_the_chart_and_table_render_under_the_page_csp(served: str) -> None:
    refused: list[str] = []
    with browser() as chromium:
        page = chromium.new_page()
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        answer: Any = page.goto(served)
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        bars = page.locator("svg.metering-chart g.bar")
        assert bars.count() == 3
        widths = {bars.nth(i).get_attribute("data-client"):
                  bars.nth(i).locator("rect").bounding_box()["width"]  # type: ignore[index]
                  for i in range(3)}
        assert widths["bank"] > widths["shop"] > widths["none"] > 0
        assert page.locator("table.metering-table tbody tr").count() == 3
        assert page.locator("td.total-yen").inner_text() == "714"  # 35×20 + 7×2
        assert "サービスなし" in page.locator("table.metering-table").inner_text()
    assert refused == []
