"""Maintenance that runs from cron, outside any request: pruning expired rows."""
