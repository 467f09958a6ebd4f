"""The service's specs: the configured default, the shipped ones and uploads kept under
``<settings.home>/specs`` (see ``gtqa.spec.store``). A spec a batch is ingested under is pinned there,
so its review job can always be resolved by hash, even after the shipped file changes."""

from __future__ import annotations

from pathlib import Path

from api.errors import ApiError, spec_problems
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, SpecError, load_spec, shipped_spec_path, store
from gtqa.spec.store import UnknownSpecError, all_specs, find_spec, pin_spec, spec_by_hash


def spec_folder(settings: Settings) -> Path:
    return store.spec_folder(settings.home)


def default_spec(settings: Settings, data_format: str | None = None) -> CompiledSpec:
    """The configured spec (GTQA_SPEC_PATH), else the shipped spec for ``data_format``'s data (KITTI's
    without one); pinned."""
    try:
        spec = load_spec(str(settings.spec_path or shipped_spec_path(data_format)))
        return pin_spec(spec, spec_folder(settings))
    except SpecError as exc:
        raise spec_problems(exc) from None


def resolve_spec(settings: Settings, ref: str) -> CompiledSpec:
    """A spec a client names (hash, hash prefix or name); 422 if there is none."""
    try:
        spec = find_spec(ref, spec_folder(settings), extra=[_configured(settings)])
        return pin_spec(spec, spec_folder(settings))
    except UnknownSpecError as exc:
        raise ApiError(422, "unknown_spec", str(exc.args[0])) from None
    except SpecError as exc:
        raise spec_problems(exc) from None


def job_spec(settings: Settings, spec_hash: str) -> CompiledSpec:
    """The spec a job was created under (404 ``unknown_spec`` if it is gone)."""
    return spec_by_hash(spec_hash, spec_folder(settings), extra=[_configured(settings)])


def job_spec_or_none(settings: Settings, spec_hash: str) -> CompiledSpec | None:
    """``job_spec``, or None if it is gone (a view of the job's items then leaves the rules out)."""
    try:
        return job_spec(settings, spec_hash)
    except UnknownSpecError:
        return None


def known_specs(settings: Settings) -> list[CompiledSpec]:
    return all_specs(spec_folder(settings), extra=[_configured(settings)])


def lookup_spec(settings: Settings, ref: str) -> CompiledSpec:
    """A spec by hash, prefix or name for reading; ``UnknownSpecError`` (404) if none."""
    return find_spec(ref, spec_folder(settings), extra=[_configured(settings)])


def _configured(settings: Settings) -> CompiledSpec:
    try:
        return load_spec(str(settings.spec_path) if settings.spec_path else None)
    except SpecError as exc:
        raise spec_problems(exc) from None
