"""The RP's own sessions, kept on the server so that a back-channel logout can end them.

The browser holds only a random handle (in the signed cookie); the store maps handles to
:class:`Login` values and finds them again by the IdP's ``sid`` and ``sub`` (OIDC Back-Channel
Logout 1.0 §2.7: the logout token names one or both). One process, in memory: a sample RP.
"""

from __future__ import annotations

import secrets
import threading
import time

from rp_examples.common.profile import Login


class SessionStore:
    def __init__(self, lifetime_seconds: int = 8 * 3600) -> None:
        self._lifetime = lifetime_seconds
        self._items: dict[str, tuple[float, Login]] = {}
        self._ended: set[str] = set()  # handles a logout ended (the browser still holds them)
        self._lock = threading.Lock()

    def start(self, login: Login) -> str:
        handle = secrets.token_urlsafe(24)
        with self._lock:
            self._items[handle] = (time.monotonic() + self._lifetime, login)
        return handle

    def get(self, handle: str | None) -> Login | None:
        if not handle:
            return None
        with self._lock:
            item = self._items.get(handle)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[handle]
                return None
            return item[1]

    def logins(self) -> list[Login]:
        """Every live login (what this RP holds about the people logged in)."""
        now = time.monotonic()
        with self._lock:
            return [login for expires, login in self._items.values() if expires > now]

    def end(self, handle: str | None) -> None:
        with self._lock:
            if handle and self._items.pop(handle, None) is not None:
                self._ended.add(handle)

    def was_ended(self, handle: str | None) -> bool:
        """Whether ``handle`` named a session a logout ended (asked once: then forgotten)."""
        with self._lock:
            if handle in self._ended:
                self._ended.discard(handle)
                return True
            return False

    def end_matching(self, *, sid: str | None, sub: str | None) -> int:
        """End every session with this IdP ``sid`` (when given) and ``sub`` (when given)."""
        if sid is None and sub is None:
            return 0
        with self._lock:
            doomed = [h for h, (_, login) in self._items.items()
                      if (sid is None or login.sid == sid) and (sub is None or login.sub == sub)]
            for handle in doomed:
                del self._items[handle]
                self._ended.add(handle)
        return len(doomed)
