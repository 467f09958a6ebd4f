"""The refit as the service runs it: a real ``gtqa worker`` process (both stacks) takes a
``gtqa.refit_calibration`` message from the control queue, refits on the audits in the database with
the production fitter, records the version and re-prioritises the pending queue with it."""

from __future__ import annotations

from sqlalchemy import func, select

from gtqa.spec import load_spec
from gtqa.storage import CalibrationState, calibration_versions, claim_next, decide, upgrade
from gtqa.storage.models import FindingRow
from tests.workers.learning_world import queue_synthetic
from workers.app import create_app
from workers.broker import REFIT_TASK, enqueue_learning


def test_a_worker_refits_when_asked(stack) -> None:
    upgrade(stack.database_url)
    spec = load_spec(None)
    _, truth = queue_synthetic(stack.sessions, spec, 60, 5)
    for _ in range(120):
        with stack.sessions.begin() as session:
            item = claim_next(session, "alice", lease_s=600)
            assert item is not None and item.label_key is not None
            decide(session, item.id, "alice", "defect" if truth[item.label_key] else "not_defect")
    stack.extra_env["GTQA_REFIT_MIN_AUDITS"] = "60"
    stack.start_worker("learner")
    enqueue_learning(REFIT_TASK, spec.name, "kitti", app=create_app(stack.settings()))

    def recorded() -> bool:
        with stack.sessions() as session:
            return bool(calibration_versions(session))

    stack.wait_until("the refit's version", recorded, timeout=300)
    with stack.sessions() as session:
        (version,) = calibration_versions(session)
    # the synthetic evidence predicts the outcome; the shipped calibration never saw it
    assert version.status == CalibrationState.promoted, version.reason
    assert version.n_audits == 120 and version.evaluation is not None

    def moved() -> bool:  # the pending flags follow, chunk by chunk
        with stack.sessions() as session:
            query = select(func.count()).where(FindingRow.calibration_version == version.id)
            return (session.scalar(query) or 0) > 0

    stack.wait_until("the re-prioritised queue", moved, timeout=120)
