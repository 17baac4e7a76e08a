"""Every Flask and WSGI adapter of the IdP, over the services of ``idp.bootstrap``.

``request`` (language, login session, CSRF, JSON bodies, the login cookie), ``errors`` (the
one error renderer) and ``headers`` (the security and cache headers of every answer) serve every
adapter: ``oidc``, ``token`` and ``logout`` (the protocol endpoints), ``binding`` (interactions
bound to their browser), ``interaction`` and ``terms`` (the pages of a sign-in), ``card`` and
``card_app`` (card requests), ``passkeys`` and ``account``.
"""
