"""The README's complete example (``examples/test_counter_hotupdate.py``), copied into an empty
directory beside the counter component's revisions, passes as is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sample_components.build import build

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "test_counter_hotupdate.py"


def test_the_complete_example_passes_as_is(pytester: pytest.Pytester) -> None:
    (pytester.path / EXAMPLE.name).write_text(EXAMPLE.read_text())
    for n in (1, 2, 3, 4):
        (pytester.path / f"counter-v{n}.wasm").write_bytes(build("counter", f"v{n}").read_bytes())
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers", "-v")
    result.assert_outcomes(passed=13)
    result.stdout.fnmatch_lines([
        "*::test_a_reader_survives_every_automatic_update[[]counter-0-to-1-automatic[]] PASSED*",
        "*::test_a_reader_survives_every_automatic_update[[]counter-2-to-3-automatic[]] PASSED*",
        "*= hot updates =*",
        ("*::test_v4_refuses_snapshots_and_the_worker_keeps_its_state * counter-1 * counter * "
        "2 -> 3 * manual * failed *"),
        "12 update(s) in 10 test(s): 9 succeeded, 3 failed",
    ])


def test_the_readme_shows_the_example_file() -> None:
    readme = (REPO / "README.md").read_text()
    example = EXAMPLE.read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert example in blocks, "the README's complete example differs from " + str(EXAMPLE)
