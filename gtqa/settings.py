"""All configuration, from ``GTQA_*`` environment variables (or a ``.env`` file), built only through
``get_settings()``; nothing reads the environment at import time."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


def _default_data_dir() -> Path:
    return REPO_ROOT.parent / "shared" / "data"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gtqa"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GTQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="where the bundled KITTI data is read from (never copied)",
    )
    spec_path: Path | None = Field(default=None, description="QA spec; the shipped KITTI spec if unset")
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    chunk_size: int = Field(default=64, ge=1, description="frames per review chunk / worker task")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
