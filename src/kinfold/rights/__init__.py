"""Subject access, correction, objection, retention and erasure."""
