"""The learning queue's routes on both backends: a decision counts towards the next refit (every
GTQA_REFIT_EVERY_DECISIONS-th queues one), ops queue a refit, list the versions with their evaluation and
the queue's precision before and after a promotion, and roll the version in use back."""

from __future__ import annotations

import re

import pytest

from gtqa.settings import Settings
from gtqa.spec import load_spec
from gtqa.storage import (
    CalibrationState,
    claim_next,
    promote_calibration,
    record_calibration_version,
)
from tests.workers.learning_world import queue_synthetic

V1 = "/api/v1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"refit_every_decisions": 3})


@pytest.fixture
def truth(api) -> dict[str, bool]:
    _, truth = queue_synthetic(api.sessions, load_spec(), 4, 3)
    return truth


def _decide(api, truth: dict[str, bool], n: int, *, page: bool = False) -> int:
    """Decide the top ``n`` items with the truth (through the JSON API, or the review page's route);
    how many were real defects."""
    defects = 0
    for _ in range(n):
        with api.sessions.begin() as session:
            item = claim_next(session, "auditor", lease_s=600)
        assert item is not None and item.label_key is not None
        verdict = "defect" if truth[item.label_key] else "not_defect"
        url = f"/ui/api/items/{item.id}/decision" if page else f"{V1}/queue/items/{item.id}/decision"
        response = api.client.post(url, json={"verdict": verdict}, headers=api.as_("auditor"))
        assert response.status_code == (200 if page else 201), response.text
        defects += verdict == "defect"
    return defects


def test_every_nth_decision_queues_a_refit(api, truth: dict[str, bool]) -> None:
    _decide(api, truth, 2)
    assert api.dispatcher.refits == []
    _decide(api, truth, 1)
    assert api.dispatcher.refits == [("kitti", "kitti")]
    _decide(api, truth, 3, page=True)  # the review page's decisions count too
    assert api.dispatcher.refits == [("kitti", "kitti")] * 2


def test_ops_queue_a_refit_of_a_spec_and_format_the_service_holds(api, truth: dict[str, bool]) -> None:
    ok = api.client.post(
        f"{V1}/calibrations/refit",
        json={"spec_name": "kitti", "data_format": "kitti"},
        headers=api.as_("ops"),
    )
    assert ok.status_code == 202 and ok.json()["queued"] is True
    assert api.dispatcher.refits == [("kitti", "kitti")]
    unknown = api.client.post(
        f"{V1}/calibrations/refit", json={"spec_name": "kitti", "data_format": "coco"}, headers=api.as_("ops")
    )
    assert unknown.status_code == 404


def test_versions_listed_with_precision_and_the_current_rolled_back(api, truth: dict[str, bool]) -> None:
    defects = _decide(api, truth, 4)  # scored by the priors (no version)
    with api.sessions.begin() as session:
        spec = load_spec()
        good = record_calibration_version(
            session, spec_name="kitti", spec_hash=spec.hash, data_format="kitti", n_audits=4, parent_id=None,
            status=CalibrationState.candidate, reason="promoted: AP +0.200",
            evaluation={"metric": "weighted_ap", "delta": 0.2, "lo": 0.05, "hi": 0.3, "n": 40.0},
        )  # fmt: skip
        promote_calibration(session, good)
        record_calibration_version(
            session, spec_name="kitti", spec_hash=spec.hash, data_format="kitti", n_audits=4, parent_id=good,
            status=CalibrationState.refused, reason="too few audits",
        )  # fmt: skip
    listed = api.client.get(f"{V1}/calibrations", headers=api.as_("spec_author"))
    assert listed.status_code == 200
    refused, promoted = listed.json()
    assert refused["status"] == "refused" and refused["precision_after"] is None
    assert promoted["id"] == good and promoted["current"] is True
    assert promoted["evaluation"]["delta"] == 0.2
    assert promoted["precision_before"] == {"decided": 4, "defects": defects, "precision": defects / 4}
    assert promoted["precision_after"] == {"decided": 0, "defects": 0, "precision": None}

    rolled = api.client.post(f"{V1}/calibrations/{good}/rollback", headers=api.as_("ops"))
    assert rolled.status_code == 200, rolled.text
    assert rolled.json() == {"rolled_back": good, "current": None, "reprioritise_queued": True, "error": None}
    assert api.dispatcher.reprioritised == [("kitti", "kitti")]
    again = api.client.post(f"{V1}/calibrations/{good}/rollback", headers=api.as_("ops"))
    assert again.status_code == 409
    statuses = [v["status"] for v in api.client.get(f"{V1}/calibrations", headers=api.as_("ops")).json()]
    assert statuses == ["refused", "rolled_back"]


def test_the_cli_lists_refits_and_rolls_back(api, truth: dict[str, bool], monkeypatch) -> None:
    from typer.testing import CliRunner

    from cli.main import app as cli
    from gtqa.settings import get_settings

    runner = CliRunner()
    monkeypatch.setenv("GTQA_DATABASE_URL", api.settings.database_url)
    monkeypatch.setenv("GTQA_HOME", str(api.settings.home))
    get_settings.cache_clear()
    try:
        empty = runner.invoke(cli, ["calibrations", "list", "--no-migrate"])
        assert empty.exit_code == 0 and "no calibration version yet" in empty.stdout
        refused = runner.invoke(
            cli, ["calibrations", "refit", "--spec", "kitti", "--format", "kitti", "--no-migrate"]
        )
        assert refused.exit_code == 0, refused.output
        assert "refused: too few audits: 0 decided flags" in refused.stdout
        listed = runner.invoke(cli, ["calibrations", "list", "--no-migrate"])
        assert re.match(r" \d+\tkitti/kitti\trefused\t0 audits\ttoo few audits", listed.stdout), listed.stdout
        nothing = runner.invoke(
            cli, ["calibrations", "rollback", "--spec", "kitti", "--format", "kitti", "--no-migrate"]
        )
        assert nothing.exit_code == 2 and "no refitted calibration is in use" in nothing.output
    finally:
        get_settings.cache_clear()
