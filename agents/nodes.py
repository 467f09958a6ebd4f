"""The reviewer graph's nodes. Each reads the state it needs and the runtime context; none holds state.

Prompts live in ``prompts/``, the judge's client comes from the context, and nothing here builds
settings or clients.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.context import ReviewContext
from agents.judge import JudgeRequest, JudgeResult
from agents.state import JudgeTask, JudgeTaskInput, ReviewInput, ReviewState
from agents.triage import flag_key, plan_tasks
from gtqa.checks.base import CheckParams, label_finding
from gtqa.checks.runner import run_checks
from gtqa.checks.scope import ReviewScope, canonical_frames
from gtqa.domain import Finding, IssueType, JudgeOpinion, Verdict
from gtqa.scoring import mark_followers, review_order
from gtqa.scoring.judge_fusion import fuse_judge
from gtqa.scoring.priors import prior_probability
from gtqa.spec.rules import JudgeRule

JUDGE_NODE = "judge"
FUSE_NODE = "fuse"


def load_frames(state: ReviewInput, runtime: Runtime[ReviewContext]) -> ReviewState:
    """The chunk's frames and their context, every class spelt as the spec spells it: triage matches
    a prose rule's ``applies_to`` and the judge is shown ``label.cls``, so an aliased label (a BDD
    file's ``Pedestrian`` for the spec's ``pedestrian``) must not miss its rules. Frames a source
    gives already canonical (``build_context``'s) are passed on as they are, not copied."""
    ctx = runtime.context
    frames = list(canonical_frames(ctx.source.frames(state["frame_ids"]), ctx.spec))
    context = list(canonical_frames(ctx.source.context(frames, ctx.context_frames), ctx.spec))
    return {"frames": frames, "context": context}


def check_frames(state: ReviewState, runtime: Runtime[ReviewContext]) -> ReviewState:
    ctx = runtime.context
    scope = ReviewScope(
        frames=tuple(state["frames"]),
        spec=ctx.spec,
        stats=ctx.stats,
        context=tuple(state["context"]),
        load_image=ctx.load_image,
    )
    run = run_checks(scope, ctx.checks)
    return {"raw": run.findings, "errors": run.errors}


def score(state: ReviewState, runtime: Runtime[ReviewContext]) -> ReviewState:
    ctx = runtime.context
    return {"findings": ctx.scorer.score(state["raw"], ctx.spec)}


def triage(state: ReviewState, runtime: Runtime[ReviewContext]) -> ReviewState:
    ctx = runtime.context
    if ctx.judge is None or not ctx.judge.enabled:
        return {"tasks": []}
    return {"tasks": plan_tasks(state["findings"], state["frames"], ctx.spec, ctx.triage)}


def route_to_judge(state: ReviewState) -> list[Send] | str:
    tasks = state.get("tasks") or []
    return [Send(JUDGE_NODE, {"task": t}) for t in tasks] if tasks else FUSE_NODE


async def judge(state: JudgeTaskInput, runtime: Runtime[ReviewContext]) -> ReviewState:
    ctx = runtime.context
    assert ctx.judge is not None  # triage sends nothing without one
    task = state["task"]
    result = await ctx.judge.ajudge(judge_request(task, ctx))
    return {"opinions": [(task.key, opinion_of(result))]}


def judge_request(task: JudgeTask, ctx: ReviewContext) -> JudgeRequest:
    """The question about one task: its label and rules, with the image crop when the frame has one."""
    assert ctx.judge is not None
    image = ctx.load_image(task.frame.image) if task.frame.image else None
    crop = ctx.judge.crop(image, task.label.box) if image is not None else None
    size = (task.frame.width, task.frame.height) if task.frame.width and task.frame.height else None
    neighbours = tuple(lab for lab in task.frame.labels if lab.id != task.label.id)
    return JudgeRequest.from_domain(
        task.rules, task.label, finding=task.finding, image=crop, neighbours=neighbours, image_size=size
    )


def opinion_of(result: JudgeResult) -> JudgeOpinion:
    v = result.verdict
    return JudgeOpinion(
        verdict=v.verdict if v else None, confidence=v.confidence if v else None,
        reasoning=v.reasoning if v else result.reason,
        failure=result.failure,
        rule_ids=tuple(v.rule_ids) if v else result.rule_ids, model=result.model,
        prompt_id=result.prompt_id, prompt_version=result.prompt_version,
        prompt_tokens=result.usage.prompt_tokens, completion_tokens=result.usage.completion_tokens,
        cost_usd=result.cost_usd, cached=result.cached,
    )  # fmt: skip


def fuse(state: ReviewState, runtime: Runtime[ReviewContext]) -> ReviewState:
    """Fuse each verdict into its flag; a prose rule judged broken becomes a flag of its own."""
    ctx = runtime.context
    opinions = dict(state.get("opinions") or [])
    accuracy = ctx.triage.judge_accuracy
    findings = [
        fuse_judge(f, opinions[k], accuracy=accuracy) if (k := flag_key(f)) in opinions else f
        for f in state["findings"]
    ]
    for task in state.get("tasks") or []:
        opinion = opinions.get(task.key)
        if task.finding is None and opinion is not None and opinion.verdict == Verdict.defect:
            findings.append(_prose_finding(task, opinion, ctx))
    if not opinions:
        return {"findings": sorted(findings, key=review_order)}
    # The judge moved some probabilities: which flag leads on each object may have changed too.
    return {"findings": mark_followers(findings)}


class _JudgeRuleParams(CheckParams):
    rule: str


def _prose_finding(task: JudgeTask, opinion: JudgeOpinion, ctx: ReviewContext) -> Finding:
    rule = task.rules[0]
    params = rule.params
    issue = params.issue_type if isinstance(params, JudgeRule) else IssueType.spec_violation
    check = f"judge:{rule.id}"
    base = label_finding(
        task.label,
        issue,
        0.0,
        check,
        f"the judge finds it breaks rule {rule.id!r}: {opinion.reasoning}",
        _JudgeRuleParams(rule=rule.id),
        rule_ids=(rule.id,),
    )
    prior = prior_probability(ctx.spec.priors.for_check(check), 0.0)
    start = base.model_copy(update={"score": prior, "spec_hash": ctx.spec.hash, "evidence": (check,)})
    return fuse_judge(start, opinion, accuracy=ctx.triage.judge_accuracy)
