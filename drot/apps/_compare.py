"""How the application examples and benchmark run each method: one call of the shared optimizer.

* ``"hybrid"``: DROT's hybrid strategy (RGBXY derivatives for the first 75 % of the iterations,
  then per-pixel L2; Adam's moments restart at the switch, ``OptimizeSettings.reset_at_switch``).
* ``"hybrid-one-adam"``: the same with one Adam state throughout (``reset_at_switch=False``), for
  comparison: RGBXY gradients are 10-40x smaller than per-pixel L2 gradients (measured on the SMPL
  scene), so the carried-over second moments make the first L2 steps several times the learning
  rate, which can undo a converged fit.
* ``"standard"``: the L2 baseline (standard derivatives through analytic antialiasing).

Short runs: the paper decays the learning rate ×0.999 per iteration over 1000 iterations (to 0.37×);
:func:`schedule_settings` keeps that overall decay for other iteration counts, for every method alike.
"""
from __future__ import annotations

from ..optim.loop import OptimizationResult, optimize
from ..scene.scene import Scene

#: Method → label for tables.
METHODS = {
    "hybrid": "DROT-hybrid",
    "hybrid-one-adam": "DROT-hybrid, one Adam state",
    "standard": "L2 (standard derivatives)",
}
_SETTINGS = {"hybrid": {"strategy": "hybrid"},
             "hybrid-one-adam": {"strategy": "hybrid", "reset_at_switch": False},
             "standard": {"strategy": "standard"}}


def schedule_settings(iterations: int) -> dict:
    """``iterations`` and the ``lr_decay`` giving the paper's overall decay (0.999¹⁰⁰⁰ ≈ 0.37) over them."""
    if int(iterations) < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    return {"iterations": int(iterations), "lr_decay": 0.999 ** (1000 / int(iterations))}


def run_method(scene: Scene, method: str, iterations: int, seed: int = 0, initial=None,
               **settings) -> OptimizationResult:
    """Run ``method`` (a key of :data:`METHODS`) on ``scene`` for ``iterations`` steps with :func:`drot.optimize`.

    ``settings`` are :class:`~drot.optim.OptimizeSettings` fields, the same for every method; the
    learning-rate decay defaults to :func:`schedule_settings`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return optimize(scene, initial=initial, **{**schedule_settings(iterations), **settings, **_SETTINGS[method],
                                               "seed": seed})
