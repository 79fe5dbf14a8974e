"""`python -m kinfold` is the same as the `kinfold` command."""

from kinfold.cli import main

raise SystemExit(main())
