"""Imports every module that defines tables, so Alembic and tests see the whole schema.

Each package keeps its tables next to its code (``idp/<package>/models.py``) and is listed here.
"""

from __future__ import annotations

from idp.accounts import jpki_models as _jpki  # noqa: F401
from idp.accounts import models as _accounts  # noqa: F401
from idp.admin import models as _admin  # noqa: F401
from idp.audit import models as _audit  # noqa: F401
from idp.db import Base
from idp.events import models as _events  # noqa: F401
from idp.metering import models as _metering  # noqa: F401
from idp.oidc import models as _oidc  # noqa: F401
from idp.oidc import outbox_models as _oidc_outbox  # noqa: F401
from idp.passkeys import models as _passkeys  # noqa: F401
from idp.throttle import models as _throttle  # noqa: F401
from idp.trustpolicy import models as _trustpolicy  # noqa: F401

__all__ = ["Base"]
