"""What ``idp demo`` wrote about the running demo, for the IdP's front page (``/``).

``idp demo`` (trust/demo.py) writes ``{var_dir}/demo.json`` (the ``demo_file`` setting names
another file): the IdP's and the simulator's URLs, the sample relying parties with what each
demonstrates, the demo residents with their card files and PINs, and the administrator's
enrolment link::

    {"idp": URL, "jlis": URL,
     "rps": [{"name", "url", "title": {"ja", "en"}, "shows": {"ja", "en"}}],
     "residents": [{"person_id", "name", "card_file", "sign_pin", "auth_pin"}],
     "admin": null | {"url", "enroll_url"}}

Every part but the residents may be missing (the file is written in steps while the demo
starts). The file is read with care: no file means no demo (a production instance), and a file
that is not of this shape is logged once and treated as no demo, so the front page never fails
because of it. URLs must be http(s): they become links on the page.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)


def _web_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise ValueError("not an http(s) URL")
    return value


WebUrl = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_web_url)]
Text = Annotated[str, Field(max_length=2000)]


class _Part(BaseModel):
    # Frozen values; fields added by a newer `idp demo` are ignored, not refused.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Localized(_Part):
    ja: Text = ""
    en: Text = ""

    def of(self, language: str) -> str:
        """The text in ``language``, else in the other one."""
        return (self.en or self.ja) if language == "en" else (self.ja or self.en)


class RelyingParty(_Part):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    url: WebUrl
    title: Localized = Localized()
    shows: Localized = Localized()

    def title_in(self, language: str) -> str:
        return self.title.of(language) or self.name


class Resident(_Part):
    person_id: Annotated[str, Field(min_length=1, max_length=128)]
    name: Annotated[str, Field(min_length=1, max_length=256)]
    card_file: Annotated[str, Field(min_length=1, max_length=4096)]
    sign_pin: Annotated[str, Field(max_length=16)] | None = None  # none under 15
    auth_pin: Annotated[str, Field(max_length=16)] | None = None


class Admin(_Part):
    url: WebUrl
    enroll_url: WebUrl | None = None


class Demo(_Part):
    idp: WebUrl | None = None
    jlis: WebUrl | None = None
    rps: tuple[RelyingParty, ...] = ()
    residents: tuple[Resident, ...] = ()
    admin: Admin | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse(data: Any) -> Demo:
    """The demo described by ``data`` (the file's JSON); raises ValueError when it is not of the
    documented shape. ``rps`` may also be the ``{name: url}`` object `idp demo --json` prints."""
    if isinstance(data, dict) and isinstance(data.get("rps"), dict):
        data = {**data, "rps": [{"name": name, "url": url} for name, url in data["rps"].items()]}
    try:
        return Demo.model_validate(data)
    except ValidationError as error:
        raise ValueError(f"not a demo description: {error.error_count()} problem(s), first: "
                         f"{error.errors()[0]['loc']} {error.errors()[0]['msg']}") from None


def read(path: Path) -> Demo | None:
    """The demo described by the file at ``path``; None when there is none. Raises ValueError
    (with the reason) when the file exists but cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    return parse(data)


class DemoFile:
    """The demo file of one instance, read again whenever it changes (``idp demo`` writes it
    while the IdP runs). A malformed version is logged once and read as no demo."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._demo: Demo | None = None

    def current(self) -> Demo | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if version != self._seen:
                self._seen, self._demo = version, self._load()
            return self._demo

    def _load(self) -> Demo | None:
        try:
            return read(self.path)
        except ValueError as error:
            log.warning("ignoring the demo file (the front page shows no demo): %s", error)
            return None
