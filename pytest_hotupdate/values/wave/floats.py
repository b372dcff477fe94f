"""Rust-exact floats for WAVE: :func:`format_float` writes an ``f32``/``f64`` as Rust's
``Display`` does (shortest round-trip digits in the value's own width, positional, ties to the
larger magnitude), and :func:`parse_f32` reads decimal text into the nearest ``f32`` as Rust
does (one rounding, not the double rounding of going through ``f64``).
"""

from __future__ import annotations

import math
import re
import struct

# ---------------------------------------------------------------------------------------------
# Floats: Rust-exact formatting and f32 parsing
# ---------------------------------------------------------------------------------------------

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")
_LOG10_2 = 0.30102999566398120


def _to_f32(x: float) -> float:
    """Round a Python float to the nearest f32 (overflow gives infinity)."""
    try:
        return _F32.unpack(_F32.pack(x))[0]  # type: ignore[no-any-return]
    except OverflowError:
        return math.copysign(math.inf, x)


def _shortest(mant: int, minus: int, plus: int, exp: int, inclusive: bool) -> tuple[str, int]:
    """Rust's ``flt2dec`` shortest digits (Dragon): value ``mant * 2**exp``, rounding interval
    ``(mant - minus, mant + plus) * 2**exp`` (closed when ``inclusive``). Returns ``(digits, k)``
    with value ~ ``0.digits * 10**k``. Among the shortest candidates the nearest wins and an
    exact tie rounds up (larger magnitude), as Rust does."""
    if exp >= 0:
        m, mi, pl, s = mant << exp, minus << exp, plus << exp, 1
    else:
        m, mi, pl, s = mant, minus, plus, 1 << -exp
    h = m + pl
    # k: the smallest integer with h/s < 10**k (inclusive) or h/s <= 10**k.
    k = math.ceil((h.bit_length() - s.bit_length()) * _LOG10_2)

    def fits(k: int) -> bool:
        if k >= 0:
            lhs, rhs = h, s * 10**k
        else:
            lhs, rhs = h * 10 ** (-k), s
        return bool(lhs < rhs if inclusive else lhs <= rhs)

    while not fits(k):
        k += 1
    while fits(k - 1):
        k -= 1
    if k - 1 >= 0:
        s *= 10 ** (k - 1)
    else:
        t = 10 ** (1 - k)
        m, mi, pl = m * t, mi * t, pl * t
    digits: list[int] = []
    while True:
        d, m = divmod(m, s)
        digits.append(d)
        if inclusive:
            down = m <= mi
            up = s <= m + pl
        else:
            down = m < mi
            up = s < m + pl
        if down or up:
            break
        m *= 10
        mi *= 10
        pl *= 10
    if up and (not down or 2 * m >= s):
        i = len(digits) - 1
        while i >= 0 and digits[i] == 9:
            digits[i] = 0
            i -= 1
        if i >= 0:
            digits[i] += 1
        else:
            digits = [1] + [0] * (len(digits) - 1) + [0]
            k += 1
    return "".join(map(str, digits)), k


def _positional(digits: str, k: int) -> str:
    n = len(digits)
    if k <= 0:
        return "0." + "0" * (-k) + digits
    if k < n:
        return digits[:k] + "." + digits[k:]
    return digits + "0" * (k - n)


def _decode(bits: int, frac_bits: int, exp_bias: int) -> tuple[int, int, int, int, bool]:
    """(mant, minus, plus, exp, inclusive) as Rust's ``flt2dec::decoder::decode``."""
    e = bits >> frac_bits
    f = bits & ((1 << frac_bits) - 1)
    if e == 0:  # subnormal (zero handled by the caller)
        mant, exp = f << 1, -exp_bias
        return mant, 1, 1, exp, (mant & 1) == 0
    mant = f | (1 << frac_bits)
    exp = e - exp_bias
    inclusive = (mant & 1) == 0
    if f == 0:
        return mant << 2, 1, 2, exp - 2, inclusive
    return mant << 1, 1, 1, exp - 1, inclusive


def format_float(value: float, kind: str = "f64") -> str:
    """Rust ``Display`` of an ``f32`` or ``f64`` as the WAVE writer prints it.

    ``nan``, ``inf``, ``-inf``; otherwise the shortest digits that round-trip in the value's
    own width (``kind``), positional (never exponent form), no trailing ``.0``, ``-0`` for
    negative zero. For ``f32`` the value is first rounded to the nearest f32.
    """
    x = float(value)
    if x != x:
        return "nan"
    if kind == "f32":
        x = _to_f32(x)
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    if kind == "f32":
        bits = _U32.unpack(_F32.pack(x))[0] & 0x7FFFFFFF
        mant, minus, plus, exp, inclusive = _decode(bits, 23, 150)
    else:
        bits = _U64.unpack(_F64.pack(x))[0] & 0x7FFFFFFFFFFFFFFF
        mant, minus, plus, exp, inclusive = _decode(bits, 52, 1075)
    digits, k = _shortest(mant, minus, plus, exp, inclusive)
    text = _positional(digits, k)
    return "-" + text if neg else text


_NUMBER_PARTS = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?\Z")


def parse_f32(text: str) -> float:
    """Parse a WAVE number token to the nearest f32, rounding the exact decimal once."""
    if text == "nan":
        return math.nan
    if text == "inf":
        return math.inf
    if text == "-inf":
        return -math.inf
    m = _NUMBER_PARTS.match(text)
    if m is None:  # pragma: no cover - the lexer guarantees the shape
        raise ValueError(text)
    sign = -1.0 if m.group(1) == "-" else 1.0
    frac = m.group(3) or ""
    digits = (m.group(2) + frac).lstrip("0")
    if not digits:
        return math.copysign(0.0, sign)
    exp_text = m.group(4) or "0"
    exp_digits = exp_text.lstrip("+-").lstrip("0")
    if len(exp_digits) > 9:  # |exponent| >= 10**9: certainly out of f32 range
        return sign * math.inf if exp_text[0] != "-" else math.copysign(0.0, sign)
    e10 = int(("-" if exp_text[0] == "-" else "") + (exp_digits or "0")) - len(frac)
    mag = e10 + len(digits)  # 10**(mag-1) <= value < 10**mag
    if mag >= 40:
        return sign * math.inf
    if mag <= -46:
        return math.copysign(0.0, sign)
    if len(digits) > 200:
        # Every f32 rounding boundary has fewer than 200 significant digits, so the tail only
        # matters through a sticky nonzero digit.
        sticky = "1" if digits[200:].strip("0") else ""
        e10 += len(digits) - 200 - len(sticky)
        digits = digits[:200] + sticky
    n = int(digits)
    if e10 >= 0:
        num, den = n * 10**e10, 1
    else:
        num, den = n, 10 ** (-e10)
    t = num.bit_length() - den.bit_length()
    if (num < (den << t)) if t >= 0 else ((num << -t) < den):
        t -= 1
    # 2**t <= value < 2**(t+1)
    e2 = max(t - 23, -149)
    if e2 >= 0:
        a, b = num, den << e2
    else:
        a, b = num << -e2, den
    q, r = divmod(a, b)
    if 2 * r > b or (2 * r == b and q & 1):
        q += 1
    if e2 >= 0 and (q << e2) >= 1 << 128:
        return sign * math.inf
    return sign * math.ldexp(q, e2)
