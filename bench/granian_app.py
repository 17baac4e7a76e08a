"""The IdP under Granian, for ``python -m bench login --server granian`` only (measured, not a
supported way to serve: ``idp serve`` offers gunicorn and uWSGI).

``bench.login`` starts ``granian --interface wsgi --factory bench.granian_app:app`` with the
environment it gives ``idp serve``; each Granian worker process calls :func:`app`, which builds
the IdP as ``idp serve`` does for each of its workers (settings, logging, the delivery threads,
the workers' Prometheus files).
"""

from __future__ import annotations

import os
from typing import Any


def app() -> Any:
    from idp import logs
    from idp.app import create_app, with_events_worker, with_logout_worker
    from idp.cli.support import get_settings

    settings = get_settings()
    logs.configure(settings.logging, settings.log_level)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.metrics_dir.resolve()))
    settings.metrics_dir.mkdir(parents=True, exist_ok=True)
    return with_events_worker(with_logout_worker(create_app(settings)))
