"""The spec author's pages on the running server: the specs and their versions, one spec rendered rule by
rule (ids, sections, prose) with its stored eval runs, and the judge's prompt files."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from agents.judge.prompts import PROMPTS_DIR, prompt_ids
from evals.harness.store import save_run
from evals.harness.testing import flag, make_run
from gtqa.scoring.calibration import default_calibration_status


@pytest.fixture
def reader(site) -> httpx.Client:
    client = httpx.Client(base_url=site.url, follow_redirects=False, timeout=30)
    assert client.post("/ui/login", data={"token": site.tokens["spec_author"]}).status_code == 303
    return client


def test_the_specs_page_lists_every_version(site, reader) -> None:
    page = reader.get("/ui/specs")
    assert page.status_code == 200
    assert f'href="/ui/specs/{site.spec.hash}"' in page.text
    assert site.spec.name in page.text and "default" in page.text


def test_a_spec_page_renders_its_rules_and_its_eval_results(site, reader) -> None:
    items = [flag(f"{i:06d}", f"{i}:0", 0.9 if i % 2 else 0.2, i % 2) for i in range(12)]
    run = make_run(items, run_id="ui-run-0001", spec_hash=site.spec.hash, spec_name=site.spec.name)
    summary = save_run(run, site.settings.home)
    page = reader.get(f"/ui/specs/{site.spec.hash}")
    assert page.status_code == 200
    ids = re.findall(r'<article class="rule" id="rule-([^"]+)"', page.text)
    assert ids == list(site.spec.rules)
    for rule in site.spec.rules.values():
        assert f"line {rule.line}" in page.text
    table = re.search(r'<table class="data" id="runs-[0-9a-f]{12}">(.*?)</table>', page.text, re.S)
    assert table is not None, "the version's eval runs are shown"
    assert summary.id[:12] in table.group(1)
    precision = summary.headline["precision"]
    assert precision is not None and f'data-value="{float(precision)!r}"' in table.group(1)
    assert reader.get("/ui/specs/no-such-spec").status_code == 404


def test_a_spec_page_says_whether_its_default_calibration_applies(site, reader) -> None:
    status = default_calibration_status(site.spec)
    page = reader.get(f"/ui/specs/{site.spec.hash}")
    assert page.status_code == 200 and status is not None
    shown = re.search(r'<p id="calibration-status" data-applies="(yes|no)">(.*?)</p>', page.text, re.S)
    assert shown is not None and shown.group(1) == ("yes" if status.applies else "no")
    assert html.escape(status.note) in shown.group(2)


def test_the_prompts_page_shows_every_prompt_and_version(reader) -> None:
    page = reader.get("/ui/prompts")
    assert page.status_code == 200
    for pid in prompt_ids(PROMPTS_DIR):
        assert f'id="prompt-{pid}"' in page.text
