"""The reviewer graph, built by a factory:

    load_frames -> check_frames -> score -> triage -(Send, one per uncertain flag)-> judge -> fuse
                                                   \\------------(nothing to ask)-----------/

No checkpointer (batch runs never wait for a human: the review queue is storage plus pages); the
recursion limit is set explicitly on every run; only loading frames retries, and only on transient
errors (the judge retries inside its own client, on 408/409/429/5xx and connection errors).
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from agents import nodes
from agents.context import ReviewContext
from agents.state import ReviewInput, ReviewOutput, ReviewState

# load, checks, score, triage, judge, fuse: six steps; the limit leaves room and fails loudly on a loop.
RECURSION_LIMIT = 16
TRANSIENT_ERRORS = (ConnectionError, TimeoutError)

ReviewGraph = CompiledStateGraph[ReviewState, ReviewContext, ReviewInput, ReviewOutput]


def build_graph() -> ReviewGraph:
    builder: StateGraph[ReviewState, ReviewContext, ReviewInput, ReviewOutput] = StateGraph(
        ReviewState, context_schema=ReviewContext, input_schema=ReviewInput, output_schema=ReviewOutput
    )
    builder.add_node(
        "load_frames", nodes.load_frames, retry_policy=RetryPolicy(max_attempts=3, retry_on=TRANSIENT_ERRORS)
    )
    builder.add_node("check_frames", nodes.check_frames)
    builder.add_node("score", nodes.score)
    builder.add_node("triage", nodes.triage)
    builder.add_node(nodes.JUDGE_NODE, nodes.judge)
    builder.add_node(nodes.FUSE_NODE, nodes.fuse)
    builder.add_edge(START, "load_frames")
    builder.add_edge("load_frames", "check_frames")
    builder.add_edge("check_frames", "score")
    builder.add_edge("score", "triage")
    builder.add_conditional_edges("triage", nodes.route_to_judge, [nodes.JUDGE_NODE, nodes.FUSE_NODE])
    builder.add_edge(nodes.JUDGE_NODE, nodes.FUSE_NODE)
    builder.add_edge(nodes.FUSE_NODE, END)
    return builder.compile(checkpointer=None, name="gtqa-reviewer")


def run_config() -> RunnableConfig:
    return {"recursion_limit": RECURSION_LIMIT}
