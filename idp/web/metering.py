"""The admin page's month of metering, as an HTML fragment: the bar chart and the table.

The admin pages (their session and role checks) wire it: ``fragment(report, month, language)``
renders ``templates/metering/_report.html`` for ``GET /admin/metering?month=YYYY-MM``, and the
admin API answers ``idp.metering.report.as_json`` for ``GET /admin/api/metering?month=``.
"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from idp.metering import MeteringReport, parse_month
from idp.metering.chart import bar_chart_svg
from idp.metering.report import as_json
from idp.web import request as web


def fragment(report: MeteringReport, month: str, language: str) -> str:
    """The month's chart and table (``month`` YYYY-MM; a BadMonthError otherwise)."""
    month = parse_month(month)
    rows = report.report(month)
    t = web.translator(language)
    chart = Markup(bar_chart_svg(rows, title=t("metering.chart")))  # noqa: S704  (escaped)
    return render_template("metering/_report.html", report=as_json(month, rows), chart=chart,
                           t=t)
