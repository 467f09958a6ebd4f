"""Settings for the fake judge endpoint, caching under the test's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.judge.testing import fake_settings
from gtqa.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fake_settings(tmp_path)
