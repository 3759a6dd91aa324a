"""Vectorisable ``exp`` and ``log`` for the CPU soft-DTW kernels (Numba).

Numba's ``math.exp`` / ``math.log`` are calls into libm, which LLVM cannot
vectorise (no SVML here), so a loop over a whole anti-diagonal would run one
cell at a time.  The two functions below are plain arithmetic (range
reduction, a polynomial, an integer shift), which LLVM turns into SIMD code;
both are specialised per dtype (float32 / float64) with coefficients of that
dtype, so float32 inputs are computed in float32 throughout.  They only
cover the domains the soft-DTW cell needs:

``exp_neg(t, cut)``: ``exp(t)`` for ``-cut < t <= 0``, exactly 0 for
``t <= -cut`` (also ``-inf``) and exactly 1 at ``t == 0``.  Cody-Waite
reduction ``t = -k ln2 + r``, ``|r| <= ln2 / 2`` (``k >= 0`` is rounded by a
truncating conversion, not libm's ``floor``), Taylor polynomial of degree 7
(float32) or 12 (float64) for ``exp(r)``, times ``2^-k`` built by an integer
shift.  Relative error about 1 ulp (float32 7.6e-8 measured).

``log_1to3(s)``: ``log(s)`` for ``1 <= s <= 3`` (the soft-min sum of three
terms in [0, 1], one of them 1).  ``s`` is scaled by 1, 1/2 or 1/4 into
``[1/sqrt2, sqrt2]``, then ``log(u) = 2 atanh(z)``, ``z = (u - 1) / (u + 1)``,
``|z| <= 0.172``, odd series to ``z^9`` (float32) or ``z^21`` (float64).
Exactly 0 at ``s == 1``.

Calling them outside compiled code is an error (they are stubs for Numba).
"""

import math

import numpy as np
from numba import literal_unroll, types
from numba.extending import overload


def exp_neg(t, cut):  # pragma: no cover - replaced by the overload in compiled code
    raise NotImplementedError("exp_neg is only available inside Numba-compiled code")


def log_1to3(s):  # pragma: no cover - replaced by the overload in compiled code
    raise NotImplementedError("log_1to3 is only available inside Numba-compiled code")


# Cody-Waite split of ln 2: k * LN2_HI is exact for the |k| <= 64 used here
_LN2_HI_32, _LN2_LO_32 = 0.693145751953125, 1.428606765330187e-06
_LN2_HI_64, _LN2_LO_64 = 6.93147180369123816490e-01, 1.90821492927058770002e-10

# Horner coefficients, highest degree first: exp(r) = sum r^n / n! (Taylor, degree 7 / 12)
_EXP_32 = tuple(1 / math.factorial(n) for n in range(7, -1, -1))
_EXP_64 = tuple(1 / math.factorial(n) for n in range(12, -1, -1))
# log(u) = z * sum (2 / (2n + 1)) z^2n, z = (u - 1) / (u + 1) (atanh series to z^9 / z^21)
_LOG_32 = tuple(2 / (2 * n + 1) for n in range(4, -1, -1))
_LOG_64 = tuple(2 / (2 * n + 1) for n in range(10, -1, -1))
_SQRT2, _LN2 = math.sqrt(2.0), math.log(2.0)


def _impls(f, ln2_hi, ln2_lo, exp_coefs, log_coefs):
    """exp_neg and log_1to3 for the float type ``f`` (np.float32 or np.float64):
    every constant is converted to ``f`` so that float32 stays float32."""
    ln2_hi, ln2_lo, log2e = f(ln2_hi), f(ln2_lo), f(-1 / _LN2)
    exp_coefs = tuple(f(c) for c in exp_coefs)
    log_coefs = tuple(f(c) for c in log_coefs)
    half, one, zero, quarter = f(0.5), f(1.0), f(0.0), f(0.25)
    sqrt2, two_sqrt2, ln2, ln4 = f(_SQRT2), f(2 * _SQRT2), f(_LN2), f(2 * _LN2)
    two_m62 = f(2.0 ** -62)

    def exp_impl(t, cut):
        tc = max(t, -cut)  # finite everywhere, so the unused lanes stay finite too
        k = int(tc * log2e + half)  # round(-tc / ln2) >= 0, no libm floor
        kf = f(k)
        r = (tc + kf * ln2_hi) + kf * ln2_lo
        p = zero
        for c in literal_unroll(exp_coefs):  # unrolled when compiled: plain FMAs
            p = p * r + c
        scale = f(1 << (62 - k)) * two_m62  # 2^-k, 0 <= k <= 54
        return p * scale if t > -cut else zero

    def log_impl(s):
        u = s * quarter if s > two_sqrt2 else (s * half if s > sqrt2 else s)
        off = ln4 if s > two_sqrt2 else (ln2 if s > sqrt2 else zero)
        z = (u - one) / (u + one)
        z2 = z * z
        q = zero
        for c in literal_unroll(log_coefs):
            q = q * z2 + c
        return z * q + off

    return exp_impl, log_impl


_IMPLS = {
    types.float32: _impls(np.float32, _LN2_HI_32, _LN2_LO_32, _EXP_32, _LOG_32),
    types.float64: _impls(np.float64, _LN2_HI_64, _LN2_LO_64, _EXP_64, _LOG_64),
}


@overload(exp_neg)
def _exp_neg(t, cut):
    impls = _IMPLS.get(t)
    return None if impls is None else impls[0]


@overload(log_1to3)
def _log_1to3(s):
    impls = _IMPLS.get(s)
    return None if impls is None else impls[1]
