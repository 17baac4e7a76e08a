"""A tiny message catalogue: Japanese by default, English on request.

The language comes from ``?lang=``, then the ``lang`` cookie, then Accept-Language, then the
instance default. Catalogues are ``idp/i18n/{ja,en}.json``, plus a part's own ``NAME.{ja,en}.json``
(``admin.ja.json``: the administration's pages); a missing key falls back to Japanese.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

LANGUAGES = ("ja", "en")
_DIR = Path(__file__).parent


@cache
def catalogue(language: str) -> Mapping[str, str]:
    data: dict[str, str] = json.loads((_DIR / f"{language}.json").read_text(encoding="utf-8"))
    for part in sorted(_DIR.glob(f"*.{language}.json")):
        data.update(json.loads(part.read_text(encoding="utf-8")))
    return data


def translate(language: str, key: str, **values: str) -> str:
    text = catalogue(language).get(key) or catalogue("ja").get(key) or key
    return text.format(**values) if values else text


def choose(query: str | None, cookie: str | None, accept_language: str | None,
           default: str) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default
