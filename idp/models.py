"""Imports every module that defines tables, so Alembic and tests see the whole schema.

Each package keeps its tables next to its code (``idp/<package>/models.py``) and is listed here.
"""

from __future__ import annotations

from idp.db import Base

__all__ = ["Base"]
