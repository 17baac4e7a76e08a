"""Developer tools that generate files kept in the repository (docs pictures)."""
