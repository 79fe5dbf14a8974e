"""Privacy-preserving record linkage on keyed Bloom-filter encodings. No Django."""
