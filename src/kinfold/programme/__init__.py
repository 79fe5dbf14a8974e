"""Outcomes frameworks, identification runs, the family journey, plans, progress, claims."""
