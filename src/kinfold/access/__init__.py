"""The single policy decision point: every read of personal data asks it."""
