"""Staff pages and the public transparency pages."""
