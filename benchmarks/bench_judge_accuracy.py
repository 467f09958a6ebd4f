"""The plumbing of ``gtqa evals judge-accuracy`` on kitti_rechecked, against a loopback
OpenAI-compatible server whose accuracy is known (no model is reachable here).

    .venv/bin/python benchmarks/bench_judge_accuracy.py [--data DIR] [--per-type N] [--max-calls N]

A real HTTP server on 127.0.0.1 answers every chat.completions request with a well-formed structured
verdict, right with probability ``a`` (drawn per question from a hash of the label, the issue type and
``a``, so a rerun gives the same answers), at a stated confidence ``a``, with the token counts of
``agents.judge.testing`` (1,200 prompt + 80 completion: gpt-4o-mini prices give the cost). For ``a`` in
{0.6, 0.8, 0.95} the command measures the judge as it would a real one; the figures say whether the
measurement recovers ``a`` (its interval covers it), which break-even verdict it reaches, the fitted
fusion accuracy, the cost per 1,000 labels, and the wall time per question. A last run caps the calls
(``--max-calls 20``) to show the cap holds. Writes ``benchmarks/out/judge-accuracy/summary.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import OUT, data_dir, run_info, write_json

from agents.judge.testing import chat_completion, fake_settings, verdict_content
from evals.harness.dataset import from_file
from evals.judge_accuracy.ask import AccuracyConfig, JudgeAccuracy, measure_judge
from gtqa.formats import load_dataset
from gtqa.scoring.calibration import default_scorer
from gtqa.spec import load_spec

HERE = OUT / "judge-accuracy"


def _truth(root: Path) -> dict[tuple[str, str], int]:
    """(label id, issue type) -> audit outcome of every askable audited flag, as the command sees them."""
    import asyncio

    from agents.run import areview
    from evals.harness import collect
    from evals.harness.dataset import audited_frames

    data = load_dataset(root, "kitti", [root / "pred_2"])
    evals = from_file(root / "recheck.csv", data)
    spec = load_spec()
    scorer = default_scorer(spec, data.format).scorer
    findings = asyncio.run(areview(audited_frames(data, evals), spec, scorer=scorer)).findings
    items = collect.eval_items(findings, evals)
    return {
        (f.label, f.type.value): i.outcome
        for f, i in zip(findings, items, strict=True)
        if f.label is not None and i.outcome is not None
    }


def _handler(accuracy: float, truth: dict[tuple[str, str], int]) -> type[BaseHTTPRequestHandler]:
    class Scripted(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "".join(p.get("text", "") for p in body["messages"][-1]["content"] if isinstance(p, dict))
            data = json.loads(text.split("<label_data>", 1)[1].split("</label_data>", 1)[0])
            label, kind = data["label"]["id"], (data.get("evidence") or {}).get("issue_type", "")
            draw = int(hashlib.sha256(f"{label}|{kind}|{accuracy}".encode()).hexdigest()[:8], 16) / 2**32
            real = truth.get((label, kind), 0) == 1
            says_defect = real if draw < accuracy else not real
            verdict = "defect" if says_defect else "not_defect"
            content = verdict_content(verdict, rule_ids=(), issue_type=None, confidence=accuracy)
            payload = json.dumps(chat_completion(content)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Scripted


@contextmanager
def _server(accuracy: float, truth: dict[tuple[str, str], int]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(accuracy, truth))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _measure(root: Path, accuracy: float, truth: dict[tuple[str, str], int], **kw: Any) -> dict[str, Any]:
    data = load_dataset(root, "kitti", [root / "pred_2"])
    evals = from_file(root / "recheck.csv", data)
    spec = load_spec()
    config = AccuracyConfig(
        dataset=data, evals=evals, spec=spec, scorer=default_scorer(spec, data.format).scorer,
        cache_dir=HERE / f"cache-{accuracy}-{kw.get('max_calls', 0)}", **kw,
    )  # fmt: skip
    with _server(accuracy, truth) as url:
        settings = fake_settings(HERE, judge_base_url=url, judge_max_retries=0)
        start = time.perf_counter()
        r: JudgeAccuracy = measure_judge(config, settings)
        seconds = time.perf_counter() - start
    print(f"a={accuracy}: {r.verdict.value}: {r.sentence}", file=sys.stderr)
    return {
        "scripted_accuracy": accuracy, "seconds": round(seconds, 2), "calls": r.calls,
        "asked": r.pooled.asked, "population": r.population,
        "per_type": {t.type: [t.accuracy, t.lo, t.hi, t.decided] for t in r.per_type},
        "pooled": [r.pooled.accuracy, r.pooled.lo, r.pooled.hi], "weighted": [r.accuracy, r.lo, r.hi],
        "covers": r.lo is not None and r.hi is not None and r.lo <= accuracy <= r.hi,
        "ece": r.ece, "verdict": r.verdict.value, "fusion_accuracy": r.fusion_accuracy,
        "questions_per_label": r.questions_per_label, "cost_per_1000_labels_usd": r.cost_per_1000_labels_usd,
        "cost_usd": r.cost_usd, "failures": r.failures,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="kitti_rechecked folder")
    parser.add_argument("--per-type", type=int, default=60)
    parser.add_argument("--max-calls", type=int, default=400)
    args = parser.parse_args()
    root = args.data or data_dir() / "kitti_rechecked"
    if not (root / "recheck.csv").is_file():
        print(f"no kitti_rechecked at {root} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    HERE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    truth = _truth(root)
    rows = [
        _measure(root, a, truth, per_type=args.per_type, max_calls=args.max_calls) for a in (0.6, 0.8, 0.95)
    ]
    capped = _measure(root, 0.8, truth, per_type=args.per_type, max_calls=20)
    summary = {
        "run": run_info(),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
        "capped": capped,
    }
    write_json(HERE / "summary.json", summary)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
