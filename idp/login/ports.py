"""What the login package needs from the authorization server, as a Protocol.

``idp.oidc.flow.Provider`` implements it; ``create_app`` wires the two together, so neither
package imports the other (they are independent layers).
"""

from __future__ import annotations

from typing import Any, Protocol

from idp.accounts.sessions import ActiveSession


class Interactions(Protocol):
    def state(self, uid: str, session_id: str | None) -> dict[str, Any]:
        """{"uid", "prompt", "reasons", "client", "requested", "account", "csrf_token"}."""
        ...

    def csrf_token(self, uid: str) -> str: ...

    def log_in(self, uid: str, *, private_id: str, acr: str, amr: list[str],
               continue_if_done: bool) -> tuple[ActiveSession, str | None]:
        """Start the session a sign-in earned, recorded as the interaction's own login (the one
        that satisfies its prompt=login and max_age); with ``continue_if_done``, also the relying
        party's URL with the code when nothing is left to ask (else None), in one unit of work."""
        ...

    def resume(self, uid: str, session_id: str | None) -> str:
        """Where the browser goes next once nothing is left to ask."""
        ...

    def consent(self, uid: str, session_id: str | None, *, approve: bool,
                claims: list[str]) -> str: ...

    def abort(self, uid: str) -> str: ...
