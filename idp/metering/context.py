"""On whose behalf the IdP is checking a certificate now: the relying party to charge.

The web layer binds the ``client_id`` of the interaction, card request or token request a
request serves (``bind_client``, at the start of every request); the batch re-check binds
:data:`RECHECK` for its run. A check made with nothing bound (onboarding reached without a
relying party, a command-line tool) is charged to :data:`NO_RP`. A context variable, so each
request's thread (or task) sees only its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

NO_RP = "none"  # no relying party asked for the check
RECHECK = "recheck"  # `idp recheck`: the IdP's own change detection (docs/operations.md)

_CLIENT: ContextVar[str | None] = ContextVar("idp_metering_client", default=None)


def bind_client(client_id: str | None) -> None:
    """Charge the checks made from now on in this context to ``client_id`` (None: nobody)."""
    _CLIENT.set(client_id)


def current_client() -> str | None:
    """The client_id bound in this context, or None."""
    return _CLIENT.get()


def charged_client() -> str:
    """Whom a check made now is charged to."""
    return _CLIENT.get() or NO_RP


@contextmanager
def on_behalf_of(client_id: str) -> Iterator[None]:
    """Charge the checks made inside the block to ``client_id``, then restore the binding."""
    token = _CLIENT.set(client_id)
    try:
        yield
    finally:
        _CLIENT.reset(token)
