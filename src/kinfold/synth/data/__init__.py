"""Name lists, nickname and variant groups, and places for the synthetic borough (data, not code)."""
