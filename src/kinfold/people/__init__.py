"""Persons, households and families by pseudonymous id; the encrypted identity vault."""
