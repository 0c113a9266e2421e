"""Digits drawn as the page's canvas draws and exports them, for the tests and the benchmarks.

Neither the app nor training imports this: it stands beside tests/ and benchmarks/ so that
both can use the same drawings without one importing the other.
"""
