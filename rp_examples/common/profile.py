"""What makes one sample RP differ from another: a :class:`Profile`.

A profile names the business (title, tagline, look), what its login asks the IdP for, and its
gating table: :class:`Action` rows, each a requirement on the :class:`Login` the RP holds, the
reason shown when refused and what the person can do about it. ``/whoami`` and the pages read
the same decisions (:func:`decide`), so what a test sees is what a person sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Text = Mapping[str, str]  # {"ja": ..., "en": ...}


def text(ja: str, en: str) -> Text:
    return {"ja": ja, "en": en}


@dataclass(frozen=True)
class Login:
    """What the RP learnt from one login: the validated ID token, and the userinfo answer."""

    sub: str
    sid: str | None
    acr: str | None
    amr: tuple[str, ...]
    claims: Mapping[str, Any]  # the person's claims (ID token and userinfo), protocol ones out
    id_token: str = field(repr=False)
    id_token_claims: Mapping[str, Any] = field(repr=False)
    auth_time: int | None = None
    action: str | None = None  # the action this login was made for, if any
    # The token response (access_token, refresh_token, expires_at, ...; not the ID token's
    # parsed claims): for calls to resource servers.
    tokens: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Ask:
    """Extra authorization request parameters: what a login (for one action) asks for."""

    scope: str | None = None  # replaces the profile's scope
    acr_values: str | None = None
    claims: Mapping[str, Any] | None = None  # the OIDC claims parameter (§5.5)
    prompt: str | None = None
    max_age: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One row of an RP's gating table."""

    name: str
    label: Text
    check: Callable[[Login], bool]
    why: Text  # shown when ``check`` refuses a logged-in person
    remedy: Text  # what to do about it
    ask: Ask | None = None  # how /login?action=NAME asks for what the action needs
    # When the reason depends on the login: (why, remedy) for a refused one, else ``why`` and
    # ``remedy`` above.
    explain: Callable[[Login], tuple[Text, Text] | None] | None = None

    @classmethod
    def for_anyone(cls, name: str, label: Text) -> Action:
        """A row any logged-in person passes (a login is the whole requirement)."""
        return cls(name, label, check=_any_login, why=text("", ""), remedy=text("", ""))


def _any_login(login: Login) -> bool:
    return True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str | None  # localised; None when allowed
    remedy: str | None


@dataclass(frozen=True)
class Theme:
    """The look: CSS colours and the logo text, so each RP reads as its own business."""

    accent: str
    background: str
    ink: str = "#1d1d1f"
    logo: str = "RP"
    font: str = "system-ui, 'Hiragino Sans', 'Noto Sans JP', sans-serif"
    radius: str = "8px"


@dataclass(frozen=True)
class Profile:
    name: str  # the catalogue name, also the cookie's prefix
    title: Text
    tagline: Text
    theme: Theme
    scope: str = "openid"
    ask: Ask = field(default_factory=Ask)  # the everyday login's extra parameters
    actions: tuple[Action, ...] = ()
    template: str = "rp_home.html"  # the page at /, extending rp_base.html
    messages: Mapping[str, Text] = field(default_factory=dict)  # for t() in its templates
    default_port: int = 8002
    single_sign_on: bool = False  # try prompt=none first (a silent login) before asking
    userinfo: bool = True  # fetch /userinfo after the token exchange
    templates: str | None = None  # the package whose templates/ folder holds its pages
    # Extra template variables for its pages: view(login or None, lang) -> {name: value}.
    view: Callable[[Login | None, str], Mapping[str, Any]] | None = None
    # Called after each login; a response it returns replaces the redirect to the next page.
    on_login: Callable[[Login], Any] | None = None
    # Called when the IdP answers a login with an error: (action, error, description); a
    # response it returns replaces the error page.
    on_error: Callable[[str | None, str, str], Any] | None = None
    setup: Callable[[Any], None] | None = None  # adds the RP's own routes to the Flask app

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)


def decide(action: Action, login: Login | None, lang: str) -> Decision:
    """Whether ``login`` may do ``action``, and if not why and what to do (in ``lang``)."""
    if login is None:
        return Decision(False, _NOT_LOGGED_IN[lang], _LOG_IN[lang])
    if action.check(login):
        return Decision(True, None, None)
    why, remedy = (action.explain and action.explain(login)) or (action.why, action.remedy)
    return Decision(False, why[lang], remedy[lang])


_NOT_LOGGED_IN = text("ログインしていません。", "You are not logged in.")
_LOG_IN = text("ログインしてください。", "Log in first.")
