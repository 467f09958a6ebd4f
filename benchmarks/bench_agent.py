"""The LangGraph reviewer and its LLM judge on kitti_tracking 0016: how much it asks, what the judge must
be worth to help, and what the graph itself costs.

    .venv/bin/python benchmarks/bench_agent.py [--seeds 0 1] [--rate 0.08] [--repeat 5] [--data DIR]

1. Triage share: the questions the default ``TriagePolicy`` sends to the judge (flag questions and prose
   rule questions), as a share of the labels, on the clean sequence and on copies with ``--rate`` of
   injected defects (``evals.inject``, one per seed), reviewed with the PointRCNN detections. The
   previous defaults (band 0.2-0.8, every uncertain flag, prose rules on any flagged label) for contrast.
2. Judge accuracy: a scripted judge behind a respx mock of the chat-completions endpoint (no network)
   answers every question from the injection manifest, right with probability ``a``, decided per
   question by a seeded hash (reruns agree; the right answers at a lower ``a`` stay right at a higher
   one). AP and recall at 5 % / 10 % of the reviewed labels against no judge; then the fusion's assumed
   accuracy (``TriagePolicy.judge_accuracy``) right and wrong. Each configuration has a fresh judge cache;
   HTTP calls are counted at the mock, cost comes from the judge's ``JudgeSummary`` (prices from settings,
   token counts from the fake's payloads: 1,200 prompt + 80 completion tokens per call, not a model's).
3. Overhead: ``agents.run.review`` (the graph, no judge) against ``gtqa.review.review_dataset`` (the
   checks called directly) on the same loaded data, chunk sizes 1 and 64, best of ``--repeat`` runs.

Results go to ``benchmarks/out/agent.json``; the injected copies to ``benchmarks/out/agent/seed<S>/``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import respx
from _common import OUT, data_dir, run_info, write_json
from rich.console import Console
from rich.table import Table

from agents.context import TriagePolicy
from agents.judge import build_judge
from agents.judge.testing import FAKE_BASE_URL, fake_settings, scripted_responder
from agents.run import AgentResult, review
from agents.triage import plan_tasks
from evals.inject import inject_folder
from evals.inject.manifest import Family, Manifest
from evals.inject.score import score_injected
from gtqa.domain import Dataset, Finding
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import CompiledSpec, load_spec

COMPLETIONS = f"{FAKE_BASE_URL}/chat/completions"
ACCURACIES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# (real accuracy of the scripted judge, accuracy the fusion assumes)
ASSUMED_GRID = tuple((real, assumed) for real in (0.6, 0.8, 0.95) for assumed in (0.6, 0.8, 0.95))
CONFIDENCE = 1.0  # the scripted judge's stated confidence: the fusion then uses the assumed accuracy as is
POLICIES = {
    "default": TriagePolicy(),
    "previous": TriagePolicy(low=0.2, high=0.8, one_question_per_label=False, prose_needs_issue=False),
}
console = Console(width=160)


@dataclass(frozen=True)
class Case:
    name: str
    dataset: Dataset
    manifest: Manifest | None  # None: the clean sequence
    n_reviewed: int


@dataclass(frozen=True)
class Truth:
    """What the manifest says a judge question is about. A flag question is about a real defect when
    its label carries one or is one of a defect's related labels (the scoring's own rule); a prose
    question (the class rule) when its label's class was flipped. Proposed missing objects have no
    label and never reach the judge, so the dropped-box rule of the scoring never applies here."""

    labels: frozenset[str]
    class_flips: frozenset[str]

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> Truth:
        labels = {e.label for e in manifest.entries if e.label is not None}
        labels |= {r for e in manifest.entries for r in e.related}
        flips = {e.label for e in manifest.of_family(Family.class_flip) if e.label is not None}
        return cls(frozenset(labels), frozenset(flips))

    def is_defect(self, label_id: str, *, prose: bool) -> bool:
        return label_id in (self.class_flips if prose else self.labels)


@dataclass
class ScriptedJudge:
    """Answers a question right with probability ``accuracy``, by a hash of (seed, label, question)."""

    truth: Truth
    accuracy: float
    seed: int = 0
    answers: list[tuple[bool, bool]] = field(default_factory=list)  # (is a defect, answered right)

    def decide(self, data: dict[str, Any]) -> tuple[str, float]:
        label, evidence = data["label"]["id"], data.get("evidence")
        question = f"{evidence['check']}:{evidence['issue_type']}" if evidence else "prose"
        defect = self.truth.is_defect(label, prose=evidence is None)
        right = _unit_hash(f"{self.seed}|{label}|{question}") < self.accuracy
        self.answers.append((defect, right))
        return ("defect" if defect == right else "not_defect"), CONFIDENCE


def _unit_hash(text: str) -> float:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# -- inputs -------------------------------------------------------------------------------------------


def load_cases(source: Path, work: Path, seeds: Sequence[int], rate: float, spec: CompiledSpec) -> list[Case]:
    cases = [_case("clean", source, None, spec)]
    for seed in seeds:
        copy = work / f"seed{seed}"
        manifest = inject_folder(
            source, copy, spec, fmt="kitti-tracking", rate=rate, seed=seed, overwrite=copy.exists()
        )
        cases.append(_case(f"seed{seed}", copy, manifest, spec))
    return cases


def _case(name: str, root: Path, manifest: Manifest | None, spec: CompiledSpec) -> Case:
    dataset = load_dataset(root, "kitti-tracking", predictions=[root / "detections"])
    n_reviewed = sum(spec.is_reviewed(lab.cls) for lab in dataset.labels())
    return Case(name, dataset, manifest, n_reviewed)


def _n_labels(dataset: Dataset) -> int:
    return sum(len(f.labels) for f in dataset.frames)


# -- 1. triage share ----------------------------------------------------------------------------------


def triage_share(
    case: Case, findings: list[Finding], spec: CompiledSpec, policy: TriagePolicy
) -> dict[str, Any]:
    """Questions the policy plans. Triage decides label by label, so planning over the whole sequence
    asks what the graph's per-chunk triage asks (checked against the graph in section 2)."""
    tasks = plan_tasks(findings, case.dataset.frames, spec, policy)
    flags = sum(t.finding is not None for t in tasks)
    n_labels = _n_labels(case.dataset)
    return {
        "case": case.name,
        "labels": n_labels,
        "reviewed": case.n_reviewed,
        "flagged_labels": len({f.label for f in findings if f.label is not None}),
        "questions": len(tasks),
        "flag_questions": flags,
        "prose_questions": len(tasks) - flags,
        "labels_asked": len({t.label.id for t in tasks}),
        "share_of_labels": len(tasks) / n_labels,
        "share_of_reviewed": len(tasks) / case.n_reviewed,
    }


def triage_section(cases: list[Case], spec: CompiledSpec) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in POLICIES}
    for case in cases:
        findings = review_dataset(case.dataset, spec).findings
        for name, policy in POLICIES.items():
            out[name].append(triage_share(case, findings, spec, policy))
    return out


# -- 2. judge accuracy --------------------------------------------------------------------------------


def judged_run(
    case: Case, spec: CompiledSpec, policy: TriagePolicy, accuracy: float | None
) -> dict[str, Any]:
    """Review ``case`` through the graph, with the scripted judge of this accuracy (None: no judge)."""
    assert case.manifest is not None
    start = time.perf_counter()
    if accuracy is None:
        result, calls, judge = review(case.dataset, spec), 0, None
    else:
        judge = ScriptedJudge(Truth.from_manifest(case.manifest), accuracy)
        result, calls = _with_scripted_judge(case.dataset, spec, policy, judge.decide)
    score = score_injected(result.findings, case.manifest, case.n_reviewed)
    row: dict[str, Any] = {
        "case": case.name,
        "accuracy": accuracy,
        "assumed": policy.judge_accuracy if accuracy is not None else None,
        "ap": score.ap,
        "recall@5%": score.recall_at["5%"],
        "recall@10%": score.recall_at["10%"],
        "questions": result.judge_tasks,
        "http_calls": calls,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if judge is not None:
        row.update(_judge_stats(result, judge))
    return row


def _with_scripted_judge(
    dataset: Dataset,
    spec: CompiledSpec,
    policy: TriagePolicy,
    decide: Callable[[dict[str, Any]], tuple[str, float]],
) -> tuple[AgentResult, int]:
    with (
        tempfile.TemporaryDirectory(prefix="gtqa-bench-judge-") as tmp,
        respx.mock(assert_all_called=False) as mock,
    ):
        route = mock.post(COMPLETIONS).mock(side_effect=scripted_responder(decide))
        settings = fake_settings(Path(tmp), judge_max_calls=1_000_000, judge_max_cost_usd=1e6)
        judge = build_judge(settings)
        try:
            result = review(dataset, spec, judge=judge, triage=policy)
        finally:
            judge.close()
        return result, route.call_count


def _judge_stats(result: AgentResult, judge: ScriptedJudge) -> dict[str, Any]:
    summary = result.judge
    assert summary is not None
    n = len(judge.answers)
    return {
        "defects_among_questions": sum(d for d, _ in judge.answers) / n if n else 0.0,
        "answered_right": sum(r for _, r in judge.answers) / n if n else 0.0,
        "summary_calls": summary.calls,
        "needs_human": summary.needs_human,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "cost_usd": summary.cost_usd,
        "cost_per_1000_labels_usd": summary.cost_per_1000_labels_usd,
    }


def accuracy_section(
    cases: list[Case], spec: CompiledSpec, accuracies: Sequence[float], policies: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "none": [judged_run(c, spec, POLICIES["default"], None) for c in cases]
    }
    for name in policies:
        out[name] = [judged_run(c, spec, POLICIES[name], a) for c in cases for a in accuracies]
    return out


def assumed_section(cases: list[Case], spec: CompiledSpec) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        for real, assumed in ASSUMED_GRID:
            policy = TriagePolicy(judge_accuracy=assumed)  # the default band: only the fusion changes
            rows.append(judged_run(case, spec, policy, real))
    return rows


# -- 3. overhead --------------------------------------------------------------------------------------


# The cheapest check: with it the checks cost next to nothing, and what remains is the graph's own cost.
LIGHT_CHECKS = ("degenerate_box",)


def overhead_section(
    dataset: Dataset, spec: CompiledSpec, chunks: Sequence[int], repeat: int
) -> list[dict[str, Any]]:
    rows = []
    for checks in (None, LIGHT_CHECKS):
        for chunk in chunks:
            direct = partial(review_dataset, dataset, spec, chunk_size=chunk, checks=checks)
            graph = partial(review, dataset, spec, chunk_size=chunk, checks=checks)
            wall, cpu = _interleaved_best((direct, graph), repeat)
            name = "all" if checks is None else ",".join(checks)
            rows.append(_overhead_row(name, chunk, len(dataset.frames), wall, cpu))
    return rows


def _interleaved_best(fns: Sequence[Callable[[], object]], repeat: int) -> tuple[list[float], list[float]]:
    """Best wall and best CPU time (this process, all threads) of each function in seconds, the functions
    run in turn ``repeat`` times so that all see the same load from the rest of the machine."""
    wall, cpu = [float("inf")] * len(fns), [float("inf")] * len(fns)
    for _ in range(max(repeat, 1)):
        for i, fn in enumerate(fns):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[i] = min(wall[i], time.perf_counter() - start)
            cpu[i] = min(cpu[i], time.process_time() - start_cpu)
    return wall, cpu


def _overhead_row(
    checks: str, chunk: int, frames: int, wall: list[float], cpu: list[float]
) -> dict[str, Any]:
    ms = 1000 / frames
    return {
        "checks": checks,
        "chunk_size": chunk,
        "frames": frames,
        "direct_ms_per_frame": wall[0] * ms,
        "graph_ms_per_frame": wall[1] * ms,
        "overhead_ms_per_frame": (wall[1] - wall[0]) * ms,
        "ratio": wall[1] / wall[0],
        "direct_cpu_ms_per_frame": cpu[0] * ms,
        "graph_cpu_ms_per_frame": cpu[1] * ms,
        "cpu_ratio": cpu[1] / cpu[0],
    }


# -- printing -----------------------------------------------------------------------------------------


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    return table


def print_triage(section: dict[str, list[dict[str, Any]]]) -> None:
    columns = ["policy", "data", "labels", "reviewed", "flagged", "flag q", "prose q", "labels asked"]
    columns += ["share", "of reviewed"]
    table = _table("1. triage: questions to the judge, share of all labels and of reviewed labels", columns)
    for name, rows in section.items():
        for r in rows:
            table.add_row(
                name, r["case"], str(r["labels"]), str(r["reviewed"]), str(r["flagged_labels"]),
                str(r["flag_questions"]), str(r["prose_questions"]), str(r["labels_asked"]),
                f"{r['share_of_labels']:.1%}", f"{r['share_of_reviewed']:.1%}",
            )  # fmt: skip
    console.print(table)


def print_accuracy(section: dict[str, list[dict[str, Any]]]) -> None:
    columns = ["policy", "data", "judge a", "AP", "ΔAP", "R@5%", "R@10%", "ΔR@10%"]
    columns += ["questions", "HTTP calls", "defects asked", "right", "$ / 1k labels"]
    table = _table("2. scripted judge of accuracy a (fusion assumes 0.8) against no judge", columns)
    base = {r["case"]: r for r in section["none"]}
    for name, rows in section.items():
        for r in rows:
            b = base[r["case"]]
            table.add_row(name if r["accuracy"] is not None else "no judge", *_accuracy_cells(r, b))
    console.print(table)


def _accuracy_cells(r: dict[str, Any], b: dict[str, Any]) -> list[str]:
    judged = r["accuracy"] is not None
    return [
        r["case"],
        f"{r['accuracy']:.2f}" if judged else "-",
        f"{r['ap']:.3f}",
        f"{r['ap'] - b['ap']:+.3f}",
        f"{r['recall@5%']:.3f}",
        f"{r['recall@10%']:.3f}",
        f"{r['recall@10%'] - b['recall@10%']:+.3f}",
        str(r["questions"]),
        str(r["http_calls"]),
        f"{r['defects_among_questions']:.1%}" if judged else "-",
        f"{r['answered_right']:.1%}" if judged else "-",
        f"{r['cost_per_1000_labels_usd']:.4f}" if judged else "-",
    ]


def print_assumed(rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> None:
    columns = ("data", "real a", "assumed", "AP", "ΔAP", "R@10%", "ΔR@10%", "right")
    table = _table("2b. assumed judge accuracy (the fusion's) against the real one", columns)
    by_case = {r["case"]: r for r in base}
    for r in rows:
        b = by_case[r["case"]]
        table.add_row(
            r["case"],
            f"{r['accuracy']:.2f}",
            f"{r['assumed']:.2f}",
            f"{r['ap']:.3f}",
            f"{r['ap'] - b['ap']:+.3f}",
            f"{r['recall@10%']:.3f}",
            f"{r['recall@10%'] - b['recall@10%']:+.3f}",
            f"{r['answered_right']:.1%}",
        )
    console.print(table)


def print_overhead(rows: list[dict[str, Any]], repeat: int) -> None:
    columns = ["checks", "chunk", "direct ms/frame", "graph ms/frame", "overhead ms/frame", "ratio"]
    columns += ["direct CPU ms/frame", "graph CPU ms/frame", "CPU ratio"]
    table = _table(f"3. overhead, no judge: best of {repeat}, interleaved", columns)
    for r in rows:
        table.add_row(
            r["checks"],
            str(r["chunk_size"]),
            *(f"{r[k]:.2f}" for k in ("direct_ms_per_frame", "graph_ms_per_frame", "overhead_ms_per_frame")),
            f"{r['ratio']:.3f}",
            *(f"{r[k]:.2f}" for k in ("direct_cpu_ms_per_frame", "graph_cpu_ms_per_frame")),
            f"{r['cpu_ratio']:.3f}",
        )
    console.print(table)


def _check_graph_plans_as_triage(
    triage: dict[str, list[dict[str, Any]]], judged: dict[str, list[dict[str, Any]]]
) -> None:
    """The graph's per-chunk triage must ask what section 1 counted over the whole sequence."""
    for name, rows in judged.items():
        if name == "none":
            continue
        planned = {r["case"]: r["questions"] for r in triage[name]}
        for r in rows:
            if r["questions"] != planned[r["case"]] or r["http_calls"] != r["questions"]:
                raise RuntimeError(
                    f"{name}/{r['case']}: the graph asked {r['questions']} ({r['http_calls']} HTTP calls),"
                    f" triage planned {planned[r['case']]}"
                )


SECTIONS = ("triage", "judge", "overhead")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="kitti_tracking folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="injected copies")
    parser.add_argument("--judged-seeds", type=int, default=2, help="judge runs on the first N seeds")
    parser.add_argument("--rate", type=float, default=0.08)
    parser.add_argument("--accuracies", type=float, nargs="+", default=list(ACCURACIES))
    parser.add_argument(
        "--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES), help="for the judge runs"
    )
    parser.add_argument("--repeat", type=int, default=5, help="overhead: best of this many runs")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 64], help="overhead: chunk sizes")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    parser.add_argument("--work", type=Path, default=OUT / "agent", help="where the injected copies go")
    parser.add_argument("--out", type=Path, default=OUT / "agent.json")
    return parser


def run(args: argparse.Namespace, source: Path) -> dict[str, Any]:
    spec = load_spec()
    cases = load_cases(source, args.work, args.seeds, args.rate, spec)
    injected = [c for c in cases if c.manifest is not None][: args.judged_seeds]
    out: dict[str, Any] = {"spec": f"{spec.name}@{spec.hash[:12]}"}
    if "triage" in args.sections or "judge" in args.sections:
        out["triage"] = triage_section(cases, spec)
        print_triage(out["triage"])
    if "judge" in args.sections:
        out["judge_accuracy"] = accuracy_section(injected, spec, args.accuracies, args.policies)
        _check_graph_plans_as_triage(out["triage"], out["judge_accuracy"])
        print_accuracy(out["judge_accuracy"])
        out["assumed_accuracy"] = assumed_section(injected, spec)
        print_assumed(out["assumed_accuracy"], out["judge_accuracy"]["none"])
    if "overhead" in args.sections:
        rows = overhead_section(cases[0].dataset, spec, args.chunks, args.repeat)
        print_overhead(rows, args.repeat)
        out["overhead"] = {"repeat": args.repeat, "rows": rows}
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    source = args.data or data_dir() / "kitti_tracking"
    if not source.is_dir():
        print(f"no kitti_tracking at {source} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    payload = {
        "run": run_info(),
        "dataset": str(source),
        "rate": args.rate,
        "seeds": args.seeds,
        "judged_seeds": args.seeds[: args.judged_seeds],
        "policies": {name: asdict(p) for name, p in POLICIES.items()},
        "scripted_judge": {
            "confidence": CONFIDENCE,
            "tokens_per_call": "the fake's: 1200 prompt + 80 completion",
        },
        **run(args, source),
    }
    write_json(args.out, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
