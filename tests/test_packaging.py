"""The package's metadata: tested ranges whose lower bounds are the locked versions."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def locked() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def test_every_dependency_is_a_range_from_its_locked_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = locked()
    for text in project["dependencies"]:
        req = Requirement(text)
        lower = [s.version for s in req.specifier if s.operator == ">="]
        upper = [s.version for s in req.specifier if s.operator == "<"]
        assert lower == [lock[canonicalize_name(req.name)]], text  # CI tests the lower bound
        assert len(upper) == 1 and not req.specifier.contains(upper[0]), text
        assert req.specifier.contains(lock[canonicalize_name(req.name)]), text
