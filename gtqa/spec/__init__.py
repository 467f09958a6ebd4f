"""The written QA spec: Markdown prose with machine-readable ``rule`` blocks, compiled once."""

from gtqa.spec.compile import (
    FORMAT_SPECS,
    SPECS_DIR,
    compile_spec,
    compile_text,
    load_spec,
    shipped_spec_path,
)
from gtqa.spec.compiled import CompiledSpec, Rule, content_hash
from gtqa.spec.errors import SpecError

__all__ = [
    "FORMAT_SPECS",
    "SPECS_DIR",
    "CompiledSpec",
    "Rule",
    "SpecError",
    "compile_spec",
    "compile_text",
    "content_hash",
    "load_spec",
    "shipped_spec_path",
]
