"""The Prometheus metrics of the service, defined once for the API and the workers (plain
``prometheus_client`` objects in its default registry; no web or queue imports here).

Who updates what: the API sets the two gauges from the database when ``/metrics`` is scraped (so every
API process reports the same truth); the workers observe task latency and count judge calls and cost in
their own processes and expose them on their own endpoint (or a ``PROMETHEUS_MULTIPROC_DIR``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUEUE_ITEMS = Gauge("gtqa_queue_items", "Review queue items, by status", ["status"])
REVIEW_JOBS = Gauge("gtqa_review_jobs", "Review jobs, by status", ["status"])
TASK_SECONDS = Histogram(
    "gtqa_task_seconds",
    "Wall time of a worker task, seconds",
    ["task"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
JUDGE_CALLS = Counter("gtqa_judge_calls", "LLM judge API requests", ["model", "outcome"])
JUDGE_COST_USD = Counter("gtqa_judge_cost_usd", "LLM judge spend, US dollars", ["model"])
