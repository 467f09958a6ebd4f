"""Checks: pure scored functions over frames (see base.py); registry.py is the one list."""
