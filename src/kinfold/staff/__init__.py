"""Staff users, their roles and organisations, and key workers' assignments to families."""
