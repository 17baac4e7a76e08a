"""The human side of signing in: the interaction pages and their JSON face (docs/api.md)."""
