"""An auditor can work one job's part of the queue (``/ui/review?job=N``): the page offers every job with
pending items, and the next item after a claim, a decision or a skip comes from the chosen job only,
even when another job's items rank higher. No browser: the page's own routes over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from api.ui.session import COOKIE, csrf_token, load_secret, verify
from gtqa.storage import pending_by_job


@contextmanager
def _auditor(site) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with httpx.Client(base_url=site.url, follow_redirects=False, timeout=30) as client:
        assert client.post("/ui/login", data={"token": site.tokens["auditor"]}).status_code == 303
        secret = load_secret(site.settings.home)
        session = verify(secret, client.cookies[COOKIE], time.time())
        assert session is not None
        yield client, {"X-CSRF-Token": csrf_token(secret, session)}


def test_the_page_offers_each_job_with_its_pending_items(site) -> None:
    first = site.seed(name="first", frames=4)
    second = site.seed(name="second", frames=6)
    with site.sessions() as session:
        jobs = {q.job_id: (q.dataset, q.pending) for q in pending_by_job(session)}
    assert jobs == {first.job_id: ("first", 4), second.job_id: ("second", 6)}
    with _auditor(site) as (client, _):
        page = client.get(f"/ui/review?job={second.job_id}").text
    assert f'data-job="{second.job_id}"' in page
    assert f'<option value="{second.job_id}" selected>job {second.job_id} · second (batch' in page
    assert "6 pending" in page and "4 pending" in page and "all jobs (10 pending)" in page
    assert f"left in job {second.job_id}'s queue" in page
    with _auditor(site) as (client, _):  # the menu's "all jobs" submits an empty job: the whole queue
        whole = client.get("/ui/review?job=")
    assert whole.status_code == 200 and "data-job=" not in whole.text and "left in the queue" in whole.text
    with _auditor(site) as (client, _):
        assert client.get("/ui/review?job=0").status_code == 422
        assert client.get("/ui/review?job=x").status_code == 422


def test_claims_decisions_and_skips_stay_in_the_chosen_job(site) -> None:
    site.seed(name="first", frames=6)  # seeded first: its flags rank as high as the second's
    chosen = site.seed(name="second", frames=6)
    query = f"?job={chosen.job_id}"
    with _auditor(site) as (client, csrf):
        first = client.post(f"/ui/api/next{query}", json={}, headers=csrf).json()
        shown = first["context"]["item"]
        assert shown["job_id"] == chosen.job_id
        # What is left is the chosen job's 6 (5 once the claim shows in the page's read), not the queue's 10.
        assert first["pace"]["pending"] in (5, 6)
        seen = {shown["id"]}
        for n in range(4):
            if n % 2:
                response = client.post(f"/ui/api/items/{shown['id']}/skip{query}", json={}, headers=csrf)
            else:
                verdict = {"verdict": "not_defect", "seconds": 3.0}
                response = client.post(
                    f"/ui/api/items/{shown['id']}/decision{query}", json=verdict, headers=csrf
                )
            assert response.status_code == 200, response.text
            shown = response.json()["context"]["item"]
            assert shown["job_id"] == chosen.job_id and shown["id"] not in seen
            seen.add(shown["id"])
        # Without the choice, the whole queue: the first job's items are there too.
        client.post(f"/ui/api/items/{shown['id']}/skip", json={}, headers=csrf)
        jobs = set()
        while (context := client.post("/ui/api/next", json={}, headers=csrf).json()["context"]) is not None:
            jobs.add(context["item"]["job_id"])
            client.post(f"/ui/api/items/{context['item']['id']}/skip", json={}, headers=csrf)
        assert jobs == {chosen.job_id - 1, chosen.job_id}
