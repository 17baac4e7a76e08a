"""The base every sample RP is built on.

Build an RP from a :class:`Profile` (its name, look, what its login asks for, and its gating
table of :class:`Action` rows) and run it::

    from rp_examples.common import Action, Ask, Profile, Theme, serve, text

    PROFILE = Profile(name="shop", title=text("テストショップ", "Test Shop"), ...,
                      actions=(Action.for_anyone("buy", text("購入", "Buy")),))

    def main() -> None:        # rp_examples/shop/__main__.py
        serve(PROFILE)

``make_app(profile, config=None)`` returns the Flask app (config from ``RP_*`` variables by
default, :class:`RpConfig`); ``state_of(app)`` its :class:`RpState` (the Authlib client, the
server-side session store). Pages extend ``rp_base.html`` and may include ``rp_login.html``
(sub, acr, amr in words, claims) and ``rp_actions.html`` (the gating table); ``render(...)``,
``current_login()``, ``language()`` and ``start_login(ask, ...)`` serve an RP's own routes
(``profile.setup(app)`` adds them). Routes: see :mod:`rp_examples.common.app`.
"""

from __future__ import annotations

import logging
import sys

from werkzeug.serving import run_simple

from rp_examples.common.app import (
    RpState,
    current_login,
    language,
    make_app,
    render,
    safe_next,
    start_login,
    state_of,
    whoami,
)
from rp_examples.common.config import ConfigError, RpConfig
from rp_examples.common.profile import Action, Ask, Decision, Login, Profile, Theme, decide, text

__all__ = ["Action", "Ask", "ConfigError", "Decision", "Login", "Profile", "RpConfig", "RpState",
           "Theme", "current_login", "decide", "language", "make_app", "render", "safe_next",
           "serve", "start_login", "state_of", "text", "whoami"]


def serve(profile: Profile) -> None:
    """``python -m rp_examples.NAME``: the RP on RP_HOST:RP_PORT until interrupted."""
    try:
        config = RpConfig.from_env(default_port=profile.default_port)
    except (ConfigError, OSError, ValueError) as error:
        sys.exit(f"{profile.name}: {error}")
    app = make_app(profile, config)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log in the demo's terminal
    print(f"{profile.name}: {config.base_url}", file=sys.stderr, flush=True)
    run_simple(config.host, config.port, app, threaded=True)
