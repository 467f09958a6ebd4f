"""The eval tests' fixtures. (The ``browser`` marker of the report's Chromium test is registered in
pyproject.toml, shared with the pages' tests in tests/ui.)"""
