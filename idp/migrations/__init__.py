"""Alembic migrations (``versions/``) and the registry of every table (``models``)."""
