"""Login methods add their actions to the interaction JSON face through hooks.

A hook sees the interaction state (``{"uid", "prompt", "account", ...}``) and the request
(:class:`~idp.web.request.Call`: the browser's session cookie, its login session, URLs), and
answers the actions it opens now, as ``{NAME: {"method": "POST", "href": URL}}`` (names are
stable: contract.md).
The card methods and the passkey methods each register one, so neither edits the other's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.web.request import Call

Action = dict[str, str]
ActionsHook = Callable[[dict[str, Any], Call], dict[str, Action]]
# Adds to the state what only the web side knows (e.g. the user code this browser typed) before
# the face is built: ``{KEY: value}`` merged into the state.
FaceHook = Callable[[dict[str, Any], Call], dict[str, Any]]


def post(href: str) -> Action:
    return {"method": "POST", "href": href}


def collect(hooks: tuple[ActionsHook, ...], state: dict[str, Any], call: Call) -> \
        dict[str, Action]:
    """The actions every hook opens for ``state``, in hook order."""
    actions: dict[str, Action] = {}
    for hook in hooks:
        actions.update(hook(state, call))
    return actions
