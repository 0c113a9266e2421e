"""Settings for the whole suite.

This file also puts tests/ on sys.path (pytest's default "prepend" import mode), which is how
every test folder imports the shared tests/live_server.py.
"""

import os

from hypothesis import settings

# Starlette's TestClient names its server "testserver" in the Host header: the in-process apps
# allow it, as a deployment allows the names it is reached by (DIGITS_ALLOWED_HOSTS). Servers
# started by the tests (tests/live_server.py) drop every DIGITS_* variable and are reached at
# 127.0.0.1, which is always allowed.
os.environ.setdefault("DIGITS_ALLOWED_HOSTS", "testserver")

# In CI, property-based tests explore the same examples on every run, so a run's verdict does
# not depend on luck; locally they explore new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
