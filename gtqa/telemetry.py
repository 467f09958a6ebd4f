"""The Prometheus metrics of the service (plain ``prometheus_client`` objects in its default registry; no
web or queue imports here).

The API sets every gauge from the database when ``/metrics`` is scraped, so every API process reports
the same truth and the workers need no metrics endpoint of their own: the review chunks' start and end
times, and the judge's opinions and spend stored with the findings, are the record.
"""

from __future__ import annotations

from prometheus_client import Gauge

QUEUE_ITEMS = Gauge("gtqa_queue_items", "Review queue items, by status", ["status"])
REVIEW_JOBS = Gauge("gtqa_review_jobs", "Review jobs, by status", ["status"])
CHUNK_SECONDS = Gauge(
    "gtqa_chunk_seconds",
    "Wall time of a review chunk (a worker task), over the last 1,000 finished, seconds",
    ["quantile"],
)
JUDGE_CALLS = Gauge("gtqa_judge_calls", "LLM judge requests recorded with findings (cache hits not counted)")
JUDGE_COST_USD = Gauge("gtqa_judge_cost_usd", "LLM judge spend recorded with findings, US dollars")
