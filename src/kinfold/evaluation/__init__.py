"""Pseudonymised returns, disclosure control, statistics and charts."""
