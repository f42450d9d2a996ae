"""envs/*.yaml (per-rule conda environments for `--sdm conda`) against requirements.txt: every
pinned package at the version the project tests, and each environment holding every third-party
package its rules' scripts import (measured by importing them)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
#: Import name → distribution name, where they differ.
DISTRIBUTION = {"yaml": "pyyaml", "torchpme": "torch-pme", "sklearn": "scikit-learn"}


def requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return pins


def env_pins(path: Path) -> dict[str, str]:
    """The pip pins of a conda environment file, ``{name: version}``."""
    pip = next(d["pip"] for d in yaml.safe_load(path.read_text())["dependencies"] if isinstance(d, dict))
    return {re.sub(r"\[.*\]", "", spec.split("==")[0]).lower(): spec.split("==")[1] for spec in pip}


def direct_imports() -> set[str]:
    """Top-level names the library and the workflow scripts import themselves."""
    names = set()
    for path in [*(REPO / "src" / "ionnp").rglob("*.py"), *(REPO / "workflow" / "scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def rule_scripts() -> dict[str, list[Path]]:
    """Scripts run under each environment file, from the rule files' conda:/script: pairs."""
    by_env: dict[str, list[Path]] = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env, script in re.findall(r'conda:\s*"\.\./\.\./envs/([\w.]+)"\s*script:\s*"\.\./scripts/([\w.]+)"',
                                      smk.read_text()):
            by_env.setdefault(env, []).append(REPO / "workflow" / "scripts" / script)
    return by_env


@pytest.mark.parametrize("env", sorted(p.name for p in (REPO / "envs").glob("*.yaml")))
def test_environment_pins_match_requirements(env):
    pins, required = env_pins(REPO / "envs" / env), requirements()
    wrong = {name: (version, required.get(name)) for name, version in pins.items() if required.get(name) != version}
    assert not wrong, f"envs/{env}: pinned (here, requirements.txt): {wrong}"


@pytest.mark.parametrize("env", sorted(rule_scripts()))
def test_environment_holds_what_its_rules_import(env):
    """Import every module each script imports (ionnp's too, transitively) in a fresh
    interpreter and list the third-party packages loaded that ionnp imports itself (not their
    own dependencies, which the installer resolves): each must be in the environment."""
    modules = set()
    for script in rule_scripts()[env]:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
            elif isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
    modules -= {"_ionnp_path"}
    probe = ("import importlib, sys, json\n"
             f"sys.path.insert(0, {str(REPO / 'src')!r})\n"
             f"for m in {sorted(modules)!r}: importlib.import_module(m)\n"
             "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    loaded = set(yaml.safe_load(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                               check=True).stdout))
    third_party = {DISTRIBUTION.get(name, name) for name in loaded & direct_imports()
                   if DISTRIBUTION.get(name, name) in requirements()}
    missing = third_party - set(env_pins(REPO / "envs" / env))
    assert not missing, f"envs/{env} lacks {sorted(missing)}, imported by {[s.name for s in rule_scripts()[env]]}"
