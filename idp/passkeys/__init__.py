"""Passkeys (WebAuthn) bound to a private ID and to the JPKI anchor it was enrolled under.

``ceremonies`` holds the pure WebAuthn steps over py_webauthn, ``challenges`` keeps challenges
single-use, ``service`` applies the account rules over the database. See ``docs/passkeys.md``.
"""
