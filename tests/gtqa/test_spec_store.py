"""The spec store: uploads kept by content hash, and a job's spec found again by its hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtqa.scoring.calibration import default_calibration_path
from gtqa.spec import SpecError, load_spec
from gtqa.spec.store import UnknownSpecError, find_spec, pin_spec, save_spec, spec_by_hash


def test_a_pinned_shipped_spec_resolves_to_the_shipped_file_and_its_calibration(tmp_path: Path) -> None:
    shipped = load_spec(None)
    pinned = pin_spec(shipped, tmp_path)
    assert (tmp_path / f"{shipped.hash}.md").is_file() and pinned.hash == shipped.hash
    found = spec_by_hash(shipped.hash, tmp_path)
    assert found.path == shipped.path  # not the copy: the default calibration sits beside the shipped file
    assert default_calibration_path(found).is_file()


def test_an_uploaded_spec_is_stored_once_and_found_by_hash_and_prefix(tmp_path: Path) -> None:
    text = Path(load_spec(None).path).read_text(encoding="utf-8")
    assert "\nversion: 1\n" in text
    uploaded = save_spec(text.replace("\nversion: 1\n", "\nversion: 9\n", 1), tmp_path)
    assert uploaded.version == "9" and uploaded.hash != load_spec(None).hash
    assert save_spec(text.replace("\nversion: 1\n", "\nversion: 9\n", 1), tmp_path).hash == uploaded.hash
    assert len(list(tmp_path.glob("*.md"))) == 1
    assert spec_by_hash(uploaded.hash, tmp_path).path == str(tmp_path / f"{uploaded.hash}.md")
    assert find_spec(uploaded.hash[:10], tmp_path).hash == uploaded.hash


def test_an_unknown_hash_or_a_broken_upload_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownSpecError):
        spec_by_hash("0" * 64, tmp_path)
    with pytest.raises(UnknownSpecError):
        spec_by_hash("../../etc/passwd", tmp_path)
    with pytest.raises(SpecError, match="<upload>"):
        save_spec("# not a spec\n\n```yaml\nid: [\n```\n", tmp_path)
    assert not list(tmp_path.glob("*.md"))
