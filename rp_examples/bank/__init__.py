"""テスト銀行 (Test Bank): the sample relying party that needs the most from the IdP.

Everyday login with any passkey; account opening only on ``verified_claims`` (jp_aml, the
signing certificate as evidence) with an identity checked now (:mod:`.opening`); a transfer
above the limit approved only by the customer's card signature over its text, which the bank
verifies itself (:mod:`.signature`, :mod:`.transfers`); a transfer API inside the bank that
answers RFC 9470 step-up challenges, which its front follows (:mod:`.resource`,
:mod:`.step_up`); a back office listing the change events the IdP pushes about its customers
(:mod:`.events`, :mod:`.backoffice`). Its own routes: :mod:`.routes`.

``python -m rp_examples.bank`` runs it from ``RP_*`` (every RP's) and ``RP_BANK_*`` variables
(:mod:`.settings`); ``create_app(config, settings)`` builds it for tests.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from rp_examples.bank import opening
from rp_examples.bank.settings import BankSettings
from rp_examples.bank.store import Store
from rp_examples.bank.words import MESSAGES, day, when
from rp_examples.common import Action, Ask, Login, Profile, RpConfig, Theme, make_app, text
from rp_examples.common.profile import Text

IDENTITY_CURRENT = "urn:jpki-idp:acr:ial2-aal2"
OPEN_ACCOUNT = "open_account"
TRANSFER_LARGE = "transfer_large"


class Bank:
    """What the bank holds besides every RP's state: ``app.extensions["bank"]``."""

    def __init__(self, settings: BankSettings) -> None:
        self.settings = settings
        self.store = Store(settings.data_dir / "bank.sqlite3")
        self.trusted_cas = settings.trusted_cas()
        self.events: Any = None  # the back office's link to the IdP (backoffice.EventsLink)


def bank_of(app: Any) -> Bank:
    bank: Bank = app.extensions["bank"]
    return bank


def _opening_refusal(login: Login) -> tuple[Text, Text] | None:
    decision = opening.decide(login.id_token_claims, now=int(time.time()))
    if isinstance(decision, opening.Refusal):
        return (text(decision.ja, decision.en),
                text("「口座開設」から、マイナンバーカードで本人確認をしてお申し込みください。",
                     "Apply from “Open an account”, proving your identity with your My "
                     "Number Card."))
    return None


def _identity_current(login: Login) -> bool:
    return (login.acr or "").startswith(IDENTITY_CURRENT)


def _actions(bank: Bank) -> tuple[Action, ...]:
    def has_account(login: Login) -> bool:
        return bank.store.customer(login.sub) is not None

    limit = f"{bank.settings.limit:,}"
    no_account = (text("このIDの口座がありません。", "You have no account with this ID."),
                  text("先に口座を開設してください（/open-account）。",
                       "Open an account first (/open-account)."))
    return (
        Action.for_anyone("login", text("ログイン（普段の利用）", "Log in (everyday)")),
        Action(OPEN_ACCOUNT, text("口座開設", "Open an account"),
               check=lambda login: _opening_refusal(login) is None,
               why=text("", ""), remedy=text("", ""), explain=_opening_refusal,
               ask=Ask(**opening.authorization_params())),
        Action("transfer_small", text(f"{limit}円以下の振込", f"Transfers up to ¥{limit}"),
               check=has_account, why=no_account[0], remedy=no_account[1]),
        Action(TRANSFER_LARGE, text(f"{limit}円を超える振込（カードの署名で承認）",
                                    f"Transfers above ¥{limit} (approved by a card signature)"),
               check=lambda login: has_account(login) and _identity_current(login),
               why=text("", ""), remedy=text("", ""),
               explain=lambda login: no_account if not has_account(login) else (
                   text("本人確認が現在有効ではありません（転居などで署名用電子証明書が失効した"
                        "可能性があります）。", "Your identity is not currently proven (a "
                        "move may have revoked your signing certificate)."),
                   text("IdPで民間IDを再発行してから、もう一度ログインしてください。",
                        "Re-issue your private ID at the identity provider, then log in "
                        "again."))),
    )


def profile(settings: BankSettings | None = None) -> Profile:
    """The bank's profile (and its state, made once per profile: one app per profile)."""
    bank = Bank(settings or BankSettings.from_env())

    def setup(app: Any) -> None:
        from rp_examples.bank import backoffice, routes

        app.extensions["bank"] = bank
        app.jinja_env.filters["when"] = when
        app.jinja_env.filters["day"] = day
        routes.add_routes(app)
        backoffice.add_routes(app)
        if bank.settings.events:
            backoffice.connect_in_background(app)

    return Profile(
        name="bank",
        title=text("テスト銀行", "Test Bank"),
        tagline=text("普段はパスキーで。口座開設と高額の振込は、マイナンバーカードで。",
                     "A passkey every day; the My Number Card to open an account and approve "
                     "large transfers."),
        theme=Theme(accent="#0b3d91", background="#f3f6fb", logo="TB", radius="4px",
                    font="'Hiragino Mincho ProN', 'Noto Serif JP', serif"),
        scope="openid profile address",
        templates="rp_examples.bank",
        template="bank.html",
        default_port=8002,
        setup=setup,
        actions=_actions(bank),
        messages=MESSAGES,
        view=lambda login, lang: {
            "customer": bank.store.customer(login.sub) if login else None,
            "limit": bank.settings.limit,
            "transfers": bank.store.transfers(login.sub) if login else []},
        on_login=lambda login: _after_login(login),
        on_error=lambda action, error, description: _after_error(action, error, description),
    )


def _after_login(login: Login) -> Any:
    from rp_examples.bank.routes import after_login

    return after_login(login)


def _after_error(action: str | None, error: str, description: str) -> Any:
    from rp_examples.bank.routes import after_error

    return after_error(action, error, description)


def create_app(config: RpConfig | None = None, settings: BankSettings | None = None) -> Flask:
    return make_app(profile(settings), config)
