"""An IdP over a scripted J-LIS, as the app-tier tests of revocation and trust policy stage it:
the outage matrix's people onboarded in one database (``People.onboarded``, as the last
``idp recheck`` left them), the test PKI's CAs as the instance's trust anchors, the CRL cache the
last refresh left, J-LIS served on loopback from a script (``serving``), and one or more app
instances over all of it, as workers or nodes of one site::

    with idp_over_jlis(tmp_path, database_url, trust=[policy, policy],
                       outage=Outage.JLIS_SLOW, jlis={"timeout_seconds": 0.25}) as site:
        first, second = site.apps

What differs between the tests is a parameter: the outage (``None``: J-LIS works), the
J-LIS client settings besides its URL and key, and the trust settings of each instance (one
instance each). Everything else is the same for every instance: the database, the instance
directory (``{tmp_path}/var``) and the issuer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from idp import db
from idp.app import create_app, services_of
from idp.settings import Settings, TrustSettings
from tests.support.jlis_outage import (
    JlisScript,
    Outage,
    People,
    cache_crls,
    serving,
    write_anchors,
)

ISSUER = "http://idp.test"


@dataclass(frozen=True)
class IdpOverJlis:
    """The people, and the app instances with the settings each was built from (in order)."""

    people: People
    apps: tuple[Flask, ...]
    settings: tuple[Settings, ...]


@contextmanager
def idp_over_jlis(tmp_path: Path, database_url: str, *,
                  trust: Sequence[TrustSettings | dict[str, Any]],
                  outage: Outage | None = None,
                  jlis: Mapping[str, Any] | None = None) -> Iterator[IdpOverJlis]:
    """The site on ``database_url`` (migrated already): an app instance per ``trust`` given,
    over a J-LIS that answers as ``outage`` says; ``jlis`` adds to the J-LIS settings (e.g.
    ``timeout_seconds``). Every engine is disposed of and J-LIS stopped afterwards."""
    engine = db.make_engine(database_url)
    try:
        people = People.onboarded(db.make_sessionmaker(engine))
        people.as_before_the_outage()
        var_dir = tmp_path / "var"
        write_anchors(var_dir / "trust")
        cache_crls(var_dir / "crl", people.cards, outage)  # the instances' own CRL cache
        with serving(JlisScript(people.cards, outage)) as served:
            settings = tuple(
                Settings(var_dir=var_dir, database_url=database_url,
                         jlis={"url": served.url, "api_key": "k", **(jlis or {})},
                         trust=each, oidc={"issuer": ISSUER})
                for each in trust)
            apps: list[Flask] = []
            try:
                for each in settings:
                    apps.append(create_app(each))
                yield IdpOverJlis(people, tuple(apps), settings)
            finally:
                for app in apps:
                    services_of(app).engine.dispose()
    finally:
        engine.dispose()
