"""Puts this folder on the import path (the suite runs with --import-mode=importlib, which does not),
so that tests under it import the shared builders here (``av2_synthetic``)."""

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
