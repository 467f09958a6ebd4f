from __future__ import annotations

import pkgutil

import gtqa.checks.geometry as geometry
from gtqa.checks.registry import CHECKS, get_check
from gtqa.domain import CheckFamily
from gtqa.spec import load_spec


def test_every_geometry_module_is_registered_with_a_stated_prior() -> None:
    spec = load_spec()
    modules = [m.name for m in pkgutil.iter_modules(geometry.__path__) if not m.name.startswith("_")]
    registered = {c.fn.__module__ for c in CHECKS}
    for name in modules:
        assert f"gtqa.checks.geometry.{name}" in registered, name
    for check in CHECKS:
        if check.family is CheckFamily.geometry:
            assert check.id in spec.priors.checks, f"no prior for {check.id} in the spec's priors rule"
            assert all(r in spec.rules for r in check.rule_ids), check.rule_ids
            check.params_for(spec)  # the spec's defaults validate
    assert get_check("occlusion_overlap").rule_ids == ("occlusion",)
