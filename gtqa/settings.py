"""All configuration, from ``GTQA_*`` environment variables (or a ``.env`` file), built only through
``get_settings()``; nothing reads the environment at import time."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


def _default_data_dir() -> Path:
    return REPO_ROOT.parent / "shared" / "data"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gtqa"


def _default_judge_cache_dir(data: dict[str, Any]) -> Path:
    return Path(data["cache_dir"]) / "judge"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GTQA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="where the bundled KITTI data is read from (never copied)",
    )
    spec_path: Path | None = Field(default=None, description="QA spec; the shipped KITTI spec if unset")
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    chunk_size: int = Field(default=64, ge=1, description="frames per review chunk / worker task")
    home: Path = Field(
        default=Path(".gtqa"), description="gtqa's own state (embedded database, outputs), from the cwd"
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty = the embedded SQLite file <home>/gtqa.sqlite. Production: "
        "postgresql+psycopg://user:password@host/db",
    )
    spot_check_share: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="share of each spot-check stratum (unflagged labels; flags below 2%, and 2-5%) "
        "sampled for audit",
    )
    second_review_share: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="share of decided items sent, blind, to a second auditor (0: none); chosen by a hash of "
        "the item id, so the same items every time",
    )
    gold_every: int = Field(default=20, ge=1, description="seeded gold items go one every this many items")
    low_agreement_kappa: float = Field(
        default=0.6,
        ge=-1.0,
        le=1.0,
        description="an auditor's kappa against the others below this is shown as low agreement",
    )
    low_gold_accuracy: float = Field(
        default=0.8, ge=0.0, le=1.0, description="an auditor's gold accuracy below this is shown as low"
    )
    review_budget_hours: float | None = Field(
        default=None, gt=0.0, description="auditor hours available for the queue: the backlog stops there"
    )
    auditor_hour_cost: float | None = Field(default=None, gt=0.0, description="cost of one auditor hour")
    defect_value: float | None = Field(
        default=None, gt=0.0, description="worth of a defect found (same currency as auditor_hour_cost)"
    )
    assumed_seconds_per_item: float = Field(
        default=30.0, gt=0.0, description="seconds per queue item until flag decisions have been timed"
    )
    acceptance_aql: float = Field(
        default=0.02, gt=0.0, lt=1.0, description="acceptable quality level: a batch's defect rate to accept"
    )
    acceptance_ltpd: float = Field(
        default=0.08, gt=0.0, lt=1.0, description="limiting quality: a batch's defect rate to reject"
    )
    acceptance_alpha: float = Field(default=0.05, gt=0.0, lt=0.5, description="risk of rejecting at the AQL")
    acceptance_beta: float = Field(default=0.10, gt=0.0, lt=0.5, description="risk of accepting at the LTPD")
    vendor_quality_levels: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="per vendor (AQL, LTPD), overriding acceptance_aql and acceptance_ltpd, e.g. "
        '{"acme": [0.01, 0.05]}',
    )
    spot_check_stream_rate: float = Field(
        default=0.1,
        gt=0.0,
        le=1.0,
        description="share of the auditors' stream that is spot checks, from the first claims on, until the "
        "sample runs out",
    )
    # The service's ingestion (api/): archives are unpacked under <home>/ingest/, paths read in place.
    ingest_root: Path | None = Field(
        default=None, description="datasets may be ingested by path only from under here; unset = off"
    )
    max_upload_bytes: int = Field(default=1 << 30, ge=1, description="largest dataset archive, bytes")
    max_json_body_bytes: int = Field(
        default=1 << 20, ge=1, description="largest request body of any route that takes no file, bytes"
    )
    # Archive limits, checked on the archive's own directory before a byte is written (a zip's central
    # directory; a tar's headers as they stream): 4 GiB unpacked is 4x the upload limit (images do not
    # compress, label text ~10x); 50,000 members holds KITTI object whole (~30,000 files).
    max_extract_bytes: int = Field(
        default=4 << 30, ge=1, description="largest total unpacked size of an archive, bytes (zip bombs)"
    )
    max_archive_members: int = Field(default=50_000, ge=1, description="files and folders per archive")
    upload_stale_s: float = Field(
        default=3600.0, gt=0, description="an upload folder still unfinished after this is swept, seconds"
    )
    max_member_bytes: int = Field(default=256 << 20, ge=1, description="largest file in an archive, bytes")
    max_compression_ratio: float = Field(
        default=200.0, gt=1, description="largest unpacked/packed size of an archive member over 1 MiB"
    )
    review_lease_s: float = Field(default=900.0, gt=0, description="how long an auditor's claim holds")
    max_claims_per_auditor: int = Field(
        default=5, ge=1, description="items one auditor may hold claimed at once (decide or release first)"
    )
    review_min_seconds: float = Field(
        default=0.4,
        ge=0,
        le=60,
        description="an item's least time on screen before the page takes a decision",
    )
    review_poll_s: float = Field(
        default=15.0, gt=0, description="how often the review page looks for new work when the queue is empty"
    )
    chunk_lease_s: float = Field(default=900.0, gt=0, description="how long a worker's chunk lease holds")
    chunk_max_attempts: int = Field(default=3, ge=1, description="claims of a chunk before it is failed")
    # The workers (workers/): Celery over a broker; the database, not the broker, holds the truth.
    broker_url: str = Field(
        default="",
        description="Celery broker; empty = kombu's filesystem transport under <home>/broker (one "
        "machine). Production: redis://host:6379/0",
    )
    task_soft_time_limit_s: float = Field(default=1800.0, gt=0, description="a chunk task is asked to stop")
    task_time_limit_s: float = Field(default=2100.0, gt=0, description="a chunk task's process is killed")
    reconcile_interval_s: float = Field(default=60.0, gt=0, description="how often beat runs the reconciler")
    reconcile_stale_s: float = Field(
        default=300.0, gt=0, description="a pending chunk untouched this long may have lost its message"
    )
    # The learning queue (issue 19, workers/learning.py): refit the calibration on the service's audits.
    refit_every_decisions: int = Field(
        default=200,
        ge=0,
        description="queue a calibration refit after this many decisions per spec and format; 0: off",
    )
    refit_min_audits: int = Field(
        default=100, ge=1, description="a refit needs at least this many decided flags with a known outcome"
    )
    refit_holdout: float = Field(
        default=0.3, gt=0, lt=1, description="share of audited frames held out of every fit to gate on"
    )
    refit_margin: float = Field(
        default=0.02, ge=0, description="a candidate may be at most this much worse in AP (CI lower bound)"
    )
    refit_max_weight: float = Field(
        default=20.0, ge=1, description="cap of a sampled flag's inverse inclusion probability weight"
    )
    refit_lease_s: float = Field(default=1800.0, gt=0, description="how long one worker's refit lease holds")
    reprioritise_chunk: int = Field(
        default=1000, ge=1, description="pending items re-prioritised per transaction after a promotion"
    )
    # gtqa serve / gtqa demo: a child (API, worker) that dies is restarted after a back-off that doubles
    # from restart_backoff_s up to restart_backoff_max_s, and starts again from restart_backoff_s once
    # the child has run restart_backoff_max_s.
    restart_backoff_s: float = Field(
        default=1.0, gt=0, description="gtqa serve: wait before restarting a child that died, seconds"
    )
    restart_backoff_max_s: float = Field(
        default=60.0, gt=0, description="gtqa serve: longest wait between restarts of a child, seconds"
    )
    judge_rate_per_s: float = Field(
        default=5.0, ge=0, description="judge HTTP requests per second across all workers; 0 = no limit"
    )
    judge_rate_burst: int = Field(default=10, ge=1, description="requests the shared judge bucket holds")
    # The LLM judge. Base URL and key: None defers to the openai client's OPENAI_BASE_URL / OPENAI_API_KEY;
    # when neither gives one, the judge is disabled (and says so).
    judge_model: str = Field(default="gpt-4o-mini")
    judge_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint")
    judge_api_key: SecretStr | None = None
    judge_timeout_s: float = Field(default=60.0, gt=0, description="per HTTP attempt")
    judge_max_retries: int = Field(default=2, ge=0, description="retries of 408/409/429/5xx, timeouts")
    judge_concurrency: int = Field(default=8, ge=1, description="judge calls in flight at once")
    judge_max_calls: int = Field(default=2000, ge=0, description="API requests per run")
    judge_accuracy: float = Field(
        default=0.8,
        ge=0.5,
        le=1.0,
        description="the judge's accuracy the fusion assumes, and the triage band follows "
        "(measure it: gtqa evals judge-accuracy; 0.8 until then)",
    )
    judge_max_cost_usd: float = Field(default=5.0, ge=0, description="US dollars per run")
    judge_price_input_per_mtok: float = Field(default=0.15, ge=0, description="USD per 1M prompt tokens")
    judge_price_output_per_mtok: float = Field(default=0.60, ge=0, description="USD per 1M completion tokens")
    judge_cache_dir: Path = Field(default_factory=_default_judge_cache_dir)
    judge_crop_margin: float = Field(default=0.5, ge=0, description="context each side, times the box size")
    judge_crop_max_px: int = Field(default=512, ge=32, description="longer side of the crop sent, pixels")
    judge_prompt_pins: dict[str, int] = Field(
        default_factory=dict, description='prompt id -> pinned version, e.g. {"review-flag": 1}; else latest'
    )

    @model_validator(mode="after")
    def _embedded_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'gtqa.sqlite').resolve()}"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
