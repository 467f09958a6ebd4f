"""``gtqa serve``'s supervisor: the back-off before restarting a child that died doubles at each death
in a row up to its ceiling and starts again from the first step once the child has run as long as the
ceiling; each death is logged in the child's log. (The restart itself, with a real service, is
``tests/workers/test_supervise.py``.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli.serve import _Child, _Children


def _died(children: _Children, child: _Child, ran_s: float) -> float:
    """Let ``child`` die after running ``ran_s`` seconds; the back-off the supervisor chose."""
    now = child.started + ran_s
    children._schedule(child, 3, now)
    assert child.restart_at == now + child.delay
    child.started, child.restart_at = child.restart_at, None  # restarted when its back-off ran out
    return child.delay


def _child(tmp_path: Path) -> tuple[_Children, _Child]:
    children = _Children(tmp_path / "logs", backoff_s=1.0, backoff_max_s=60.0)
    children.folder.mkdir(parents=True)
    proc = subprocess.Popen(["true"])
    proc.wait()
    return children, _Child("worker", ["worker"], proc, started=1000.0)


def test_a_child_that_keeps_dying_waits_twice_as_long_each_time_up_to_the_ceiling(tmp_path: Path) -> None:
    children, child = _child(tmp_path)
    assert [_died(children, child, ran_s=2.0) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    log = (tmp_path / "logs" / "worker.log").read_text()
    assert log.count("gtqa serve: the worker process stopped (exit status 3); restarting it in") == 8
    assert "restarting it in 60s" in log


def test_a_child_that_ran_as_long_as_the_ceiling_starts_again_from_the_first_step(tmp_path: Path) -> None:
    children, child = _child(tmp_path)
    assert [_died(children, child, ran_s=2.0) for _ in range(4)] == [1, 2, 4, 8]
    assert _died(children, child, ran_s=60.0) == 1
    assert _died(children, child, ran_s=59.0) == 2
