"""Refusals in the person's language.

Every ``IdpError`` carries a stable ``code`` and an English description (its docstring's first
line, or a specific text given where it was raised). A refusal raised with its default text is
shown from the catalogue key ``error.{code}`` when one exists; a specific text (which names the
exact field or value) is kept as it is. ``error`` codes never change with the language.
"""

from __future__ import annotations

from idp.errors import IdpError
from idp.i18n import catalogue, translate


def default_description(error: IdpError) -> str:
    return (type(error).__doc__ or error.code).strip().splitlines()[0]


def localised_error(error: IdpError, language: str) -> dict[str, str]:
    """``{"error", "error_description"}`` for ``error``, described in ``language``."""
    body = error.to_dict()
    key = f"error.{error.code}"
    if error.description == default_description(error) and key in catalogue("ja"):
        body["error_description"] = translate(language, key)
    return body
