"""What the IdP trusts (real J-LIS CA certificates, the default trust policy) and the J-LIS
simulator and virtual card used by the demo and tests. Never imported by ``idp``."""
