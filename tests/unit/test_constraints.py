"""constraints.txt, the lock that `make run`/`make test` install with, stays the truth: every dependency of
pyproject.toml is pinned there to a version its range allows, and the suite runs on exactly those versions."""

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"not an exact pin: {line!r}"
        assert canonicalize_name(name) not in found, f"pinned twice: {name}"
        found[canonicalize_name(name)] = version
    return found


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(r) for r in listed]


def test_every_dependency_is_pinned_within_its_range():
    locked = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in constraints.txt: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={locked[name]} outside {requirement.specifier}")


def test_installed_versions_are_the_pinned_ones():
    drift = {}
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. a package another platform needs
        if installed != version:
            drift[name] = (installed, version)
    assert drift == {}, "installed ≠ constraints.txt: run `make test` (it reinstalls) or `make lock`"


def test_playwright_stays_on_the_release_line_that_drives_debians_chromium():
    """The browser tests drive Debian's chromium, not a downloaded one: a Playwright release is tied to it."""
    [playwright] = [r for r in requirements() if r.name == "playwright"]
    assert not playwright.specifier.contains("1.66.0")
    assert pins()["playwright"].startswith("1.65.")
