"""Pure assurance logic: the acr catalogue and relying-party requirements as named checks.

Imports neither Flask nor SQLAlchemy.
"""
