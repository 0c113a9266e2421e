"""Settings for the whole suite.

This file also puts tests/ on sys.path (pytest's default "prepend" import mode), which is how
every test folder imports the shared tests/live_server.py.
"""

import os

from hypothesis import settings

# In CI, property-based tests explore the same examples on every run, so a run's verdict does
# not depend on luck; locally they explore new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
