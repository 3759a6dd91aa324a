"""The one DP cell of soft-DTW, shared by every kernel (CPU and CUDA, forward and backward).

For a cell with predecessor values ``up`` (i-1, j), ``left`` (i, j-1) and
``dg`` (i-1, j-1) (+inf where outside the grid or the band):

    mn = min(up, left, dg)
    e_p = exp(-(p - mn) / gamma)   for each predecessor p, exactly 0 once
                                   (p - mn) / gamma >= cut
    forward:   R = D + mn - gamma * log(e_up + e_left + e_dg)
    backward:  the soft-min probabilities e_p / (e_up + e_left + e_dg)

``cut`` (17 for float32, 37 for float64) is where ``exp(-cut) < eps / 2``:
such a term cannot change the sum (>= 1, the smallest predecessor's term is
exactly 1), so dropping it changes the value by at most about one unit in the
last place; forward and backward drop the same terms, so the gradient is the
exact derivative of what the forward computed, and it leaves exact zeros in
the gradient away from the alignment (which the cost gradient exploits).
The backward recomputes the probabilities from the stored predecessor values
with this same function, never through ``exp((R' - R - D) / gamma)``, which
loses all precision in float32 at small gamma.

The cell is written once, here, and compiled for each target by
:func:`make_cell` with that target's decorator and exponential: the CPU
kernels pass a vectorisable polynomial ``exp`` (``_fastmath.py``), the CUDA
kernels ``math.exp``.  Nothing here imports Numba.
"""


def make_cell(jit, exp_neg):
    """Compile the cell for one target.

    ``jit``: the target's decorator for an inlined device function, e.g.
    ``numba.njit(inline="always")`` or ``numba.cuda.jit(device=True, inline=True)``.
    ``exp_neg(t, cut)``: ``exp(t)`` for ``-cut < t <= 0``, exactly 0 for
    ``t <= -cut`` (including ``-inf``) and exactly 1 at ``t == 0``.

    Returns ``softmin_terms(up, left, dg, inv_gamma, cut) -> (mn, e_up,
    e_left, e_dg)`` as described in the module docstring.
    """

    @jit
    def softmin_terms(up, left, dg, inv, cut):
        mn = min(up, min(left, dg))
        return (mn, exp_neg((mn - up) * inv, cut), exp_neg((mn - left) * inv, cut),
                exp_neg((mn - dg) * inv, cut))

    return softmin_terms
