"""Pin every declared minimum to the oldest release that installs here.

For each requirement with a lower bound (``name>=X``) among the package's
runtime dependencies and the extras named on the command line, find the
oldest release that satisfies the requirement and that pip can install on the
running interpreter as a wheel (``--only-binary=:all:``: a release with no
wheel for this Python would have to be built from source, which for numpy or
scipy fails or takes an hour), and print ``name==version`` lines: a
constraints file for ``pip install -c FILE -e ".[test]"``. A requirement
without a lower bound (ruff) is left to pip, which takes the newest.

Run it with the interpreter of the environment to pin (``make test-min`` does
it in ``.venv-min``); it asks the package index once per requirement for the
list of releases, then once per release tried, oldest first. What it tried is
written to standard error.

Usage::

    python maint_tools/min_requirements.py [EXTRA ...] > constraints.txt
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def declared_requirements(extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    requirements = {}
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        # the same package in two extras: keep the stricter lower bound
        name = requirement.name.lower()
        if name not in requirements or _lower_bound(requirement) > _lower_bound(
            requirements[name]
        ):
            requirements[name] = requirement
    return list(requirements.values())


def _lower_bound(requirement):
    bounds = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return max(bounds, default=Version("0"))


def releases(name):
    """Every release of ``name`` the index lists for this interpreter, oldest first."""
    out = subprocess.run(
        [*PIP, "index", "versions", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("Available versions:"))
    versions = []
    for text in line.partition(":")[2].split(","):
        try:
            versions.append(Version(text.strip()))
        except InvalidVersion:
            continue
    return sorted(versions)


def has_wheel(name, version):
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                *PIP,
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                folder,
                f"{name}=={version}",
            ],
            capture_output=True,
            text=True,
        )
    return done.returncode == 0


def oldest_installable(requirement):
    for version in releases(requirement.name):
        if not requirement.specifier.contains(version):
            continue  # below the minimum, or a pre-release
        if has_wheel(requirement.name, version):
            return version
        print(
            f"  {requirement.name} {version}: no wheel for this Python", file=sys.stderr
        )
    raise SystemExit(f"No release of {requirement} installs on this Python.")


def main(extras):
    python = ".".join(map(str, sys.version_info[:3]))
    print(f"Oldest releases installable on Python {python}:", file=sys.stderr)
    for requirement in declared_requirements(extras):
        if _lower_bound(requirement) == Version("0"):
            print(f"  {requirement}: no minimum declared, newest", file=sys.stderr)
            continue
        version = oldest_installable(requirement)
        print(f"  {requirement} -> {version}", file=sys.stderr)
        print(f"{requirement.name}=={version}")


if __name__ == "__main__":
    main(sys.argv[1:])
