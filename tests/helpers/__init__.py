"""Helpers shared by test folders (importable as ``helpers`` because tests/ is on sys.path)."""
