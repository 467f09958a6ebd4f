"""The conventions every ``gtqa`` command shares (docs/cli.md): help on every option, on/off options as
``--X/--no-X``, ``--predictions [N:]PATH``, input errors as ``error: <file>:<line>: …`` with exit
status 2 and no traceback, and standard output that a redirection does not wrap."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli._common import predictions_per_dataset
from cli.main import app, main
from gtqa.domain import Finding, JudgeOpinion

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TYPERS_OWN = ("help", "install_completion", "show_completion")
GOOD = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"
REVERSED = "Car 0.00 0 -1.58 300.00 150.00 290.00 220.00 1.5 1.6 3.9 5.0 1.6 20.0 -1.5"


def _commands(command: Any, path: str = "gtqa") -> Iterator[tuple[str, Any]]:
    """Every command and group under ``command`` (typer's own click: compared by shape, not class)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


def _options() -> Iterator[tuple[str, Any]]:
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name == "option" and param.name not in TYPERS_OWN:
                yield path, param


def _kitti(root: Path, lines: list[str]) -> Path:
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000001.txt").write_text("\n".join(lines) + "\n")
    return root


def test_every_option_of_every_command_has_help() -> None:
    options = list(_options())
    assert len(options) > 80, "the walk found the commands' options"
    missing = [f"{path} {param.opts[0]}" for path, param in options if not (param.help or "").strip()]
    assert missing == []


def test_an_option_that_can_be_turned_off_is_named_no_x() -> None:
    pairs = [(path, param) for path, param in _options() if param.secondary_opts]
    assert any(param.opts == ["--exhaustive"] for _, param in pairs), "evals run and calibrate have it"
    wrong = [
        f"{path} {param.opts[0]}/{param.secondary_opts[0]}"
        for path, param in pairs
        if param.secondary_opts != [f"--no-{param.opts[0].removeprefix('--')}"]
    ]
    assert wrong == []


def test_predictions_belong_to_the_numbered_dataset_and_bare_paths_to_the_first() -> None:
    got = predictions_per_dataset(["a", "2:b", "1:c", "2:d"], 2)
    assert got == [(Path("a"), Path("c")), (Path("b"), Path("d"))]
    assert predictions_per_dataset([], 3) == [(), (), ()]
    assert predictions_per_dataset(["./3:x"], 1) == [(Path("./3:x"),)]
    with pytest.raises(typer.BadParameter, match="no dataset number 2"):
        predictions_per_dataset(["2:b"], 1)
    with pytest.raises(typer.BadParameter, match="no dataset number 1"):
        predictions_per_dataset(["b"], 0)


def test_serve_refuses_predictions_of_a_dataset_it_was_not_given(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path), "-p", f"2:{tmp_path}"])
    unboxed = " ".join(result.output.replace("│", " ").split())  # typer's usage error, in a box
    assert result.exit_code == 2 and "there is no dataset number 2" in unboxed, result.output


def test_a_bad_line_is_one_error_naming_its_file_and_line(tmp_path: Path) -> None:
    data = _kitti(tmp_path / "d", [GOOD])
    audits = tmp_path / "audits.jsonl"
    audits.write_text('{"id": "a1", "frame": "000001"\n')
    for argv in (
        ["calibrate", "-d", str(data), "-a", str(audits), "--out", str(tmp_path / "c.json")],
        ["evals", "run", "--audits", str(audits), "--dataset", str(data), "--out", str(tmp_path / "r.json")],
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert errors and errors[0].startswith(f"error: {audits}:1: "), result.stderr
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_missing_dataset_is_an_error_naming_it_with_status_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["scan", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: {tmp_path / 'nope'}: "), missing.stderr


def test_a_path_that_cannot_be_written_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _kitti(tmp_path / "d", [GOOD, REVERSED])
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "findings.jsonl"  # its folder is a file
    monkeypatch.setattr(sys, "argv", ["gtqa", "scan", str(data), "--format", "kitti", "--out", str(out)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'a-file'}" in err and "Traceback" not in err


def test_redirected_output_keeps_every_message_whole(tmp_path: Path) -> None:
    data = _kitti(tmp_path / "d", [GOOD, REVERSED])
    out = tmp_path / "f.jsonl"
    result = runner.invoke(app, ["scan", str(data), "--format", "kitti", "--out", str(out)])
    assert result.exit_code == 0, result.output
    findings = [Finding.model_validate_json(line) for line in out.read_text().splitlines()]
    longest = max((f.message for f in findings), key=len)
    assert len(longest) > 40, "a message long enough to have been folded at 80 columns"
    rows = result.stdout.splitlines()  # CliRunner's standard output is not a terminal
    assert any(longest in row for row in rows), result.stdout


def test_every_field_of_the_findings_file_is_documented() -> None:
    documented = DOCS.read_text(encoding="utf-8")
    fields = list(Finding.model_fields)
    assert {"cls", "proposed_box", "track", "raw", "rule_ids", "heuristic_score", "judge"} <= set(fields)
    assert [f for f in fields if f"| `{f}` |" not in documented] == []
    judge_row = next(row for row in documented.splitlines() if row.startswith("| `judge` |"))
    assert [f for f in JudgeOpinion.model_fields if f"`{f}`" not in judge_row] == []
