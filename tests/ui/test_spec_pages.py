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


def test_rule_prose_is_rendered_as_markdown_and_html_in_it_is_escaped() -> None:
    from api.ui.templates import markdown

    text = "A `Van` is **taller** than a car.\n\n- one\n- two\n\n"
    html = markdown(text + "<script>alert(1)</script> [x](javascript:alert(1))")
    assert "<code>Van</code>" in html and "<strong>taller</strong>" in html and "<li>one</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html
    assert "<h5>The box</h5>" in markdown("## The box")  # below the page's rule headings (h3)


def test_a_spec_page_shows_backticked_prose_as_code(site, reader) -> None:
    page = reader.get(f"/ui/specs/{site.spec.hash}")
    prose = [r.prose for r in site.spec.rules.values() if "`" in r.prose]
    assert prose, "the shipped spec has rule prose with code spans"
    rules = page.text.split('<article class="rule"', 1)[1]
    assert '<div class="rule-prose">' in rules and "<code>" in rules
    assert "`" not in re.sub(r"<pre>.*?</pre>", "", rules, flags=re.S)


def test_latest_precision_on_the_specs_page_comes_from_a_run_of_the_spec_as_written(site, reader) -> None:
    from datetime import UTC, datetime

    from evals.harness.runfile import RunConfiguration

    def run(run_id: str, score: float, minute: int, **config: object) -> None:
        items = [flag(f"{i:06d}", f"{i}:0", score if i % 2 else 0.9, i % 2) for i in range(10)]
        at = datetime(2026, 12, 6, 20, minute, tzinfo=UTC)
        save_run(make_run(items, run_id=run_id, spec_hash=site.spec.hash, spec_name=site.spec.name,
                          started_at=at, config=RunConfiguration(**config)), site.settings.home)  # fmt: skip

    run("written-run-0001", 0.9, 0, name="as shipped")  # precision 0.5 (every flag raised, half real)
    run(
        "excluded-run-0002", 0.1, 5, name="no pred_bad_box", checks_excluded=("pred_bad_box",)
    )  # 0 raised real
    row = re.search(rf'href="/ui/specs/{site.spec.hash}".*?</tr>', reader.get("/ui/specs").text, re.S)
    assert row is not None
    assert "0.500" in row.group(0) and "spec as written" in reader.get("/ui/specs").text
    page = reader.get(f"/ui/specs/{site.spec.hash}").text
    assert "as shipped" in page and "no pred_bad_box" in page and "excluded pred_bad_box" in page
    assert "written-run-0001" in page and "excluded-run-0002" in page  # whole ids, never cut
    assert "off (gpt-4o-mini)" not in page
