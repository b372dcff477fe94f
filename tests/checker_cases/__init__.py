"""Fixtures of the checker's tests: WIT sources, a component builder, vendored schemas.

``sarif-schema-2.1.0.json`` is the OASIS SARIF 2.1.0 JSON schema (errata01, 112,768 bytes, the
file published as ``Schemata/sarif-schema-2.1.0.json`` in oasis-tcs/sarif-spec), vendored so that
the tests never download it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from checker.tool import wasm_tools_executable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SARIF_SCHEMA = HERE / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = REPO / "checker" / "report.schema.json"
WIT_DEPS = REPO / "sample_components" / "wit-deps"

#: Dependencies a case may name in its text: marker -> (folder under wit-deps, version override).
DEPS = {
    "golem:api/save-snapshot@1.1.0": ("golem-api-1.1.0", None),
    "golem:api/load-snapshot@1.1.0": ("golem-api-1.1.0", None),
    "golem:api/save-snapshot@1.5.0": ("golem-api-1.5.0", None),
    "golem:api/load-snapshot@1.5.0": ("golem-api-1.5.0", None),
    "golem:api/save-snapshot@9.0.0": ("golem-api-1.1.0", "9.0.0"),
    "wasi:clocks/wall-clock@0.2.0": ("wasi-clocks-0.2.0", None),
    "wasi:clocks/wall-clock@0.2.3": ("wasi-clocks-0.2.0", "0.2.3"),
    "wasi:random/random@0.2.0": ("wasi-random-0.2.0", None),
}


def write_wit(folder: Path, text: str) -> Path:
    """Write ``text`` as ``folder/wit/main.wit`` with the shared deps it names; return the
    ``wit`` directory."""
    wit = folder / "wit"
    if wit.exists():
        shutil.rmtree(wit)
    wit.mkdir(parents=True)
    (wit / "main.wit").write_text(text, encoding="utf-8")
    for marker, (dep, version) in DEPS.items():
        if marker not in text:
            continue
        target = wit / "deps" / f"{dep}-{version or 'orig'}"
        if target.exists():
            continue
        shutil.copytree(WIT_DEPS / dep, target)
        if version is not None:
            for f in target.glob("*.wit"):
                f.write_text(
                    re.sub(r"^package ([\w:-]+)@[\d.]+;", rf"package \1@{version};",
                           f.read_text(encoding="utf-8"), flags=re.MULTILINE),
                    encoding="utf-8",
                )
    return wit


def world_name(text: str) -> str:
    m = re.search(r"^\s*world\s+([\w-]+)", text, flags=re.MULTILINE)
    assert m, "a case's WIT needs a world"
    return m.group(1)


class ComponentBuilder:
    """Builds WIT-only components (``embed --dummy`` + ``component new``), cached by text."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.exe = wasm_tools_executable() or "wasm-tools"
        self._cache: dict[str, Path] = {}

    def _key(self, text: str, kind: str) -> str:
        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()[:16]

    def wit_dir(self, text: str) -> Path:
        """``text`` as a WIT directory (with deps)."""
        key = self._key(text, "wit")
        if key not in self._cache:
            self._cache[key] = write_wit(self.root / key, text)
        return self._cache[key]

    def component(self, text: str) -> Path:
        """``text`` built into a component (a dummy core module: only the WIT matters)."""
        key = self._key(text, "component")
        if key not in self._cache:
            folder = self.root / key
            wit = write_wit(folder, text)
            core, out = folder / "core.wasm", folder / "component.wasm"
            for argv in (
                [self.exe, "component", "embed", "--dummy", str(wit), "-w", world_name(text),
                 "-o", str(core)],
                [self.exe, "component", "new", str(core), "-o", str(out)],
            ):
                proc = subprocess.run(argv, capture_output=True, text=True, check=False)
                assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr}\n{text}"
            self._cache[key] = out
        return self._cache[key]


def env_without_bytecode_flag() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
