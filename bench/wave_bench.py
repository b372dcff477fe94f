"""The WAVE parser on one large string, against ``json.loads`` on the same text.

``WAVE parse 20 MB string``: :func:`pytest_hotupdate.values.wave_parse` of a 20 MB ``string``
literal (printable text with an escaped line break every line and escaped quotes, as
``wave_encode`` writes a text document; the same text is valid JSON) vs ``json.loads`` of that
text, interleaved, median of the repetitions. Targets: time at most 2x ``json.loads``, and the
parse's peak memory (``tracemalloc``, the text itself not counted) at most 3x the text's size.
``--quick`` uses 2 MB.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import tracemalloc

from bench.common import Row, _ms, _progress
from pytest_hotupdate.values import Prim, wave_parse

FIG_WAVE = "WAVE parse {what} string"
_LINE = 'The quick brown fox jumps over the lazy dog: \\"WAVE\\" text, tabs\\tand all. '


def wave_text(size: int) -> str:
    """A WAVE (and JSON) string literal of ``size`` characters."""
    line = _LINE + "\\n"
    body = line * (size // len(line) + 1)
    return '"' + body[: size - 2].rstrip("\\") + '"'


def _peak_bytes(parse: object, text: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        value = parse(text)  # type: ignore[operator]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del value
    return peak


def bench_wave_string(size: int, repeat: int) -> Row:
    what = f"{size / 1e6:g} MB"
    text = wave_text(size)
    string = Prim("string")

    def parse(t: str) -> object:
        return wave_parse(string, t)

    if parse(text) != json.loads(text):
        raise RuntimeError("wave_parse and json.loads disagree on the benchmark text")
    wave_times, json_times = [], []
    for rep in range(repeat):
        _progress(f"WAVE parse {what} string: repetition {rep + 1}/{repeat}")
        gc.collect()
        started = time.perf_counter()
        parse(text)
        wave_times.append(time.perf_counter() - started)
        gc.collect()
        started = time.perf_counter()
        json.loads(text)
        json_times.append(time.perf_counter() - started)
    peak = _peak_bytes(parse, text)
    value, base = statistics.median(wave_times), statistics.median(json_times)
    ratio = value / base
    memory = peak / len(text)
    return Row(FIG_WAVE.format(what=what),
               f"{_ms(value)}, peak {peak / 1e6:.1f} MB ({memory:.2f}x text)",
               f"{_ms(base)} json.loads", ratio,
               "time <= 2x json.loads, peak <= 3x text", ratio <= 2 and memory <= 3)
