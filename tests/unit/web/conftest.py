from tests.unit.oidc.conftest import app, rp

__all__ = ["app", "rp"]
