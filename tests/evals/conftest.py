"""The ``browser`` marker of the eval report's Chromium test (registered here: strict markers)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: opens a report in headless Chromium (runs in CI, needs it there)"
    )
