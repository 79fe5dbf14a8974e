"""The family portal."""
