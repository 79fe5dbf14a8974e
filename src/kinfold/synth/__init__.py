"""The synthetic borough: population, life over time, partner extracts, ground truth. No Django."""
