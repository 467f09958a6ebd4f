"""The written QA spec: Markdown prose with machine-readable ``rule`` blocks, compiled once."""

from gtqa.spec.compile import SPECS_DIR, compile_spec, compile_text, load_spec
from gtqa.spec.compiled import CompiledSpec, Rule, content_hash
from gtqa.spec.errors import SpecError

__all__ = [
    "SPECS_DIR",
    "CompiledSpec",
    "Rule",
    "SpecError",
    "compile_spec",
    "compile_text",
    "content_hash",
    "load_spec",
]
