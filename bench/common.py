"""What every benchmark module shares: the table row and small formatting helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 300


@dataclass
class Row:
    figure: str
    value: str
    baseline: str
    ratio: float
    target: str
    passed: bool
    informational: bool = False

    @property
    def status(self) -> str:
        word = "pass" if self.passed else "FAIL"
        return f"{word} (info)" if self.informational else word


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"



def run_child(code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter (the repository on its path); return its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=CHILD_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed (exit {proc.returncode}):\n{proc.stderr}")
    return proc.stdout
