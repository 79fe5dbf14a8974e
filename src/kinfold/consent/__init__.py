"""Consent records, withdrawals, lawful overrides and their approvals."""
