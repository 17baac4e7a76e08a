"""The admin page's picture of a month: yen per relying party as an inline SVG bar chart.

Drawn here, on the server, so the page needs no chart script (the admin pages run no inline
script, and none is needed for a picture). Presentation attributes only, no ``style``: the page's
Content-Security-Policy allows no inline styles. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from idp.metering.report import MeteringRow, per_client

_BAR = 24  # height of one bar and its gap
_LABEL = 180  # width kept for the client_id labels
_WIDTH = 640
_MAX_BAR = _WIDTH - _LABEL - 90  # room for the amount after the longest bar


def bar_chart_svg(rows: Sequence[MeteringRow], *, title: str = "yen per relying party") -> str:
    """One horizontal bar per relying party, as long as its yen that month (an empty chart
    says so)."""
    yen = per_client(rows)
    height = max(len(yen), 1) * _BAR + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="metering-chart" role="img" '
             f'width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}">',
             f"<title>{escape(title)}</title>"]
    if not yen:
        parts.append(f'<text x="8" y="{_BAR - 6}" fill="#555">—</text>')
    top = max(yen.values(), default=0) or 1
    for index, (client, amount) in enumerate(yen.items()):
        y = 4 + index * _BAR
        length = max(round(amount / top * _MAX_BAR), 1 if amount else 0)
        parts.append(
            f'<g class="bar" data-client="{escape(client)}" data-yen="{amount}">'
            f'<text x="{_LABEL - 8}" y="{y + 15}" text-anchor="end" fill="#222">'
            f"{escape(_short(client))}</text>"
            f'<rect x="{_LABEL}" y="{y}" width="{length}" height="{_BAR - 6}" fill="#2f6db5"/>'
            f'<text x="{_LABEL + length + 6}" y="{y + 15}" fill="#222">¥{amount:,}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _short(client: str) -> str:
    return client if len(client) <= 24 else client[:23] + "…"
