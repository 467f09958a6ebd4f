"""Schemathesis against the app's own OpenAPI document, in-process, with an admin token, on both
backends: every operation gets up to ``MAX_EXAMPLES`` generated requests (valid and invalid ones),
and every response must be a documented non-5xx with the documented body. Derandomised, so CI runs
the same requests every time (bounded time: about a minute per backend)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import get_dispatcher
from gtqa.domain import Finding, IssueType
from gtqa.formats import load_dataset
from gtqa.settings import Settings
from gtqa.spec import load_spec
from gtqa.storage import (
    Role,
    build_review_items,
    chunk_ids,
    claim_chunk,
    create_review_job,
    create_user,
    finish_chunk,
    ingest_batch,
)
from gtqa.storage.models import UserRow
from gtqa.storage.users import hash_token

MAX_EXAMPLES = 30
# Every built-in check runs but one: positive_data_acceptance wants every schema-valid request accepted,
# and some are refused by rules no schema states (a dataset path that does not exist, a spec text that
# does not compile, a decision on an item nobody claimed): those are 4xx by design, documented per route.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
STATUSES: Counter[tuple[str, str, int]] = Counter()


class _Recording:
    def __init__(self) -> None:
        self.jobs: list[int] = []

    def enqueue_job(self, job_id: int) -> None:
        self.jobs.append(job_id)


def _seed(sessions: sessionmaker[Session], folder: Path) -> None:
    """A reviewed batch with a queue, so ids 1, 2, 3 … lead somewhere real."""
    spec = load_spec(None)
    dataset = load_dataset(folder, "kitti")
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec, vendor="acme")
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=4)
        for chunk_id in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk_id, "seed", lease_s=60)
            assert lease is not None
            flags = [_flag(key) for key in lease.frame_keys]
            finish_chunk(session, chunk_id, "seed", flags, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0)


def _flag(frame: str) -> Finding:
    return Finding(
        frame=frame, label=f"{frame}:0", type=IssueType.bad_box, score=0.5, box=(1.0, 2.0, 30.0, 40.0),
        check="seed", message="seeded",
    )  # fmt: skip


@pytest.fixture
def admin_token(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        _, token = create_user(session, "fuzz-admin", Role.admin)
    return token


@pytest.fixture
def fuzz_app(
    settings: Settings, sessions: sessionmaker[Session], kitti, ingest_root: Path, admin_token: str
) -> FastAPI:
    _seed(sessions, kitti.small(ingest_root / "acme"))
    app = create_app(settings)
    app.dependency_overrides[get_dispatcher] = _Recording
    return app


@pytest.fixture
def keep_admin(sessions: sessionmaker[Session], admin_token: str) -> Callable[[], None]:
    """The fuzzer may rotate or deactivate the admin it runs as (user ids are small): restore it."""

    def restore() -> None:
        with sessions.begin() as session:
            session.execute(
                update(UserRow)
                .where(UserRow.name == "fuzz-admin")
                .values(token_hash=hash_token(admin_token), active=True)
            )

    return restore


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    by_status = Counter(status for (_, _, status) in STATUSES.elements())
    operations = len({op for _, op, _ in STATUSES})
    print(
        f"\nschemathesis: {operations} operations, {sum(by_status.values())} requests, "
        f"statuses {dict(sorted(by_status.items()))}",
        file=sys.stderr,
    )


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_server_errors_and_responses_as_documented(
    fuzz_app: FastAPI, admin_token: str, keep_admin: Callable[[], None], mode: GenerationMode
) -> None:
    """Valid requests (positive) and invalid ones (negative: each must be refused with a 4xx)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        try:
            _fuzz(operation, mode, admin_token, keep_admin)
        except hypothesis.errors.Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to get wrong: no parameters
        except (AssertionError, BaseExceptionGroup, hypothesis.errors.HypothesisException) as exc:
            # every operation runs; their failures are reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{op}:\n{why}" for op, why in failures.items())


def _fuzz(operation: Any, mode: GenerationMode, token: str, keep_admin: Callable[[], None]) -> None:
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def run(case: Any) -> None:
        keep_admin()
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED
        )
        STATUSES[(mode.value, operation.label, response.status_code)] += 1
        assert response.status_code < 500

    run()
