"""Data files shipped with kinfold.linkage (a package so wheels carry them)."""
