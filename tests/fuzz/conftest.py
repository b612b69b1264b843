"""Keeps pytest out of this directory: its scripts are run by hand, not collected.

``fuzz_decoders.py`` feeds a million frames per decoder; the bounded fuzz tests
that run in the normal suite are ``tests/test_fuzz_bridges.py``.
"""

collect_ignore_glob = ["*.py"]
