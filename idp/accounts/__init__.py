"""Private IDs, their claims, and login sessions (who is logged in on a browser, and how)."""
