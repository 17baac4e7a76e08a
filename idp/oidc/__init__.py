"""The OpenID Connect provider: clients, keys, authorization, tokens, claims, logout."""
