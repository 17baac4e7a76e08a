"""States and check results in words, for the person's pages.

The database, the audit log and every JSON face keep the stable codes (``active``,
``needs_reissue``, ``sign_revoked:affiliation_changed``); a page shows what they mean, from the
catalogues (``state.*``, ``result.*``, ``revocation.*``). A code the catalogues do not know yet
still reads as a sentence, with the code beside it, never as a bare code.
"""

from __future__ import annotations

from idp.i18n import catalogue, translate


def _known(language: str, key: str) -> bool:
    return key in catalogue(language) or key in catalogue("ja")


def state_words(language: str, kind: str, state: str) -> str:
    """``kind`` is ``private_id`` (active, suspended, closed) or ``anchor`` (current,
    needs_reissue, unverifiable, suspended, closed, superseded)."""
    key = f"state.{kind}.{state}"
    if _known(language, key):
        return translate(language, key)
    return translate(language, "state.other", code=state)


def result_words(language: str, result: str | None) -> str:
    """The outcome of an anchor check: ``sign_good`` → "有効（失効していません）";
    ``sign_revoked:affiliation_changed`` → the signing certificate was revoked because the
    4 info changed (a move, a new name)."""
    if not result:
        return translate(language, "result.none")
    code, _, reason = result.partition(":")
    key = f"result.{code}"
    if not _known(language, key):
        return translate(language, "state.other", code=result)
    if not reason:
        return translate(language, key)
    why_key = f"revocation.{reason}"
    why = translate(language, why_key) if _known(language, why_key) else reason
    return translate(language, key, why=why)
