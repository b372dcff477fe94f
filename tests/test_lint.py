"""Ruff (the rule set in pyproject.toml: pyflakes, isort, bugbear, pyupgrade) and
``mypy --strict`` are clean on the project's code; CI runs them through this test."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: what ruff checks: the package, the checker, the tests, the benchmarks and the sample
#: build script (the samples' guest code is built for componentize-py and left as written)
LINTED = ["pytest_hotupdate", "checker", "tests", "bench", "sample_components/build.py"]
#: what mypy checks strictly: the shipped code
TYPED = ["pytest_hotupdate", "checker"]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_ruff_is_clean() -> None:
    done = _run("ruff", "check", "--no-cache", *LINTED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    done = _run("mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), *TYPED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_what_it_is_asked_to_find(tmp_path: Path) -> None:
    """The rule set is live: a file with an unused import and a mutable default fails."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x=[]):\n    return x\n")
    done = _run("ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                str(bad), cwd=tmp_path)
    assert done.returncode == 1
    assert "F401" in done.stdout and "B006" in done.stdout
