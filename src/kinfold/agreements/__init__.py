"""Organisations, purposes, data categories, lawful bases and data-sharing agreements."""
