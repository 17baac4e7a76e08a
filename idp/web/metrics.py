"""``GET /metrics``: the Prometheus text exposition (docs/operations.md, "Metrics").

The counters and histograms observed while serving (``idp.metrics``) come from every worker
process: under ``idp serve`` each worker writes its values to files under
``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker reads them all (``prometheus_client``'s
multi-process mode). Three families are computed here, at scrape time, from state every worker
shares, so any worker answers them alike:

- ``idp_logout_backlog`` / ``idp_events_backlog``: back-channel logout tokens and Security Event
  Tokens still pending delivery (one indexed COUNT each);
- ``idp_crl_age_seconds`` and ``idp_crl_next_update_seconds`` per CA (its key id): how old the
  CRL index in the shared cache is, and how long until its nextUpdate (negative: overdue).

When ``metrics.token`` is set the scraper must send it as ``Authorization: Bearer`` (compared in
constant time); anything else is answered 401.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.errors import IdpError
from idp.events.models import SecurityEvent
from idp.jpki.errors import JpkiError
from idp.jpki.revocation import CrlIndex
from idp.oidc.outbox_models import LogoutDelivery

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsTokenError(IdpError):
    """Send the metrics token as Authorization: Bearer."""

    code = "invalid_token"
    status = 401


class SharedState:
    """The scrape-time families (a ``prometheus_client`` collector)."""

    def __init__(self, sessions: sessionmaker[Session], crl_dir: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self._reads = dbm.single_read_sessions(sessions)
        self._crl_dir = crl_dir
        self._clock = clock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        with self._reads() as db:
            logout = db.execute(select(func.count()).select_from(LogoutDelivery)
                                .where(LogoutDelivery.state == "pending")).scalar_one()
            events = db.execute(select(func.count()).select_from(SecurityEvent)
                                .where(SecurityEvent.state == "pending")).scalar_one()
        yield GaugeMetricFamily("idp_logout_backlog",
                                "Back-channel logout tokens pending delivery.", value=logout)
        yield GaugeMetricFamily("idp_events_backlog",
                                "Security Event Tokens pending delivery.", value=events)
        age = GaugeMetricFamily("idp_crl_age_seconds",
                                "Seconds since the thisUpdate of the cached CRL, per CA key id.",
                                labels=["ca"])
        left = GaugeMetricFamily("idp_crl_next_update_seconds",
                                 "Seconds until the cached CRL's nextUpdate (negative: overdue).",
                                 labels=["ca"])
        now = self._clock()
        for ca, this_update, next_update in self._crls():
            age.add_metric([ca], now - this_update)
            left.add_metric([ca], next_update - now)
        yield age
        yield left

    def _crls(self) -> Iterator[tuple[str, float, float]]:
        for path in sorted(self._crl_dir.glob("*.idx")):
            try:
                index = CrlIndex(path)
            except (OSError, ValueError, JpkiError):
                continue  # being replaced, or damaged: the next check rebuilds it
            try:
                meta = index.meta
                yield path.stem, meta.this_update.timestamp(), meta.next_update.timestamp()
            finally:
                index.close()


def exposition(shared: SharedState) -> bytes:
    """Every family, from every worker process when in multi-process mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process(REGISTRY))
    registry.register(shared)
    data: bytes = generate_latest(registry)
    return data


class _Process:
    """This process's own registry, as one collector of the scrape's registry."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()


def install(app: Flask, sessions: sessionmaker[Session], crl_dir: Path,
            token: str | None) -> None:
    """``GET /metrics``, behind ``token`` when it is set."""
    shared = SharedState(sessions, crl_dir)

    @app.get("/metrics")
    def scrape() -> Response:
        if token is not None and not _bearer_matches(token):
            raise MetricsTokenError()
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(exposition(shared), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})


def _bearer_matches(token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(),
                                                              token.encode())
