"""Settings for the test suite: the normal settings in test mode (fixed keys, fast hashing)."""

import os

os.environ["KINFOLD_ENV"] = "test"

from kinfold.settings import *  # noqa: F403
