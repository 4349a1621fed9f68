"""What the applications share: the methods they compare, and the :class:`Problem` protocol.

Methods (:data:`METHODS`), each one call of the shared optimizer (:func:`run_method`):

* ``"hybrid"``: DROT's hybrid strategy (RGBXY derivatives for the first 75 % of the iterations,
  then per-pixel L2; Adam's moments restart at the switch, ``OptimizeSettings.reset_at_switch``).
* ``"hybrid-one-adam"``: the same with one Adam state throughout (``reset_at_switch=False``), for
  comparison: RGBXY gradients are 10-40x smaller than per-pixel L2 gradients (measured on the SMPL
  scene), so the carried-over second moments make the first L2 steps several times the learning
  rate, which can undo a converged fit.
* ``"standard"``: the L2 baseline (standard derivatives through analytic antialiasing).

Short runs: the paper decays the learning rate ×0.999 per iteration over 1000 iterations (to 0.37×);
:func:`schedule_settings` keeps that overall decay for other iteration counts, for every method alike.

A :class:`Problem` is what an application provides to be compared: seeded instances (a scene with
its target and start), how to score parameter values into named errors and a success verdict
(:class:`Score`), and its defaults. :func:`compare` runs methods over seeds on it (every method on
the same instance per seed, with the same settings: only the derivatives differ) and
:func:`summarize` condenses the runs per method. The problems: :class:`drot.apps.furniture.FurnitureProblem`,
:class:`drot.apps.smpl.SmplProblem`, :class:`drot.apps.blendshapes.BlendshapeProblem`.
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from ..optim import OptimizationResult, OptimizeSettings, optimize
from ..scene.scene import Scene

__all__ = ["METHODS", "schedule_settings", "run_method", "Score", "Instance", "Problem", "Run", "compare",
           "summarize"]

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


def shared_settings(settings: Mapping[str, Any], method: str) -> dict:
    """A problem's settings for every method, less those ``method`` does not read (``max_points`` for
    L2): drot's own applications should not trigger drot's "setting is ignored" warning."""
    ignored = {name for name, _ in OptimizeSettings(**{**settings, **_SETTINGS[method]}).ignored()}
    return {k: v for k, v in settings.items() if k not in ignored}


# ------------------------------------------------------------------------------------ the protocol
@dataclasses.dataclass(frozen=True)
class Score:
    """Parameter values scored by their application.

    Attributes:
        errors: error name → value, in the order of :attr:`Problem.columns`: floats, or ``"k/n"``
            counts (columns formatted ``"s"``, e.g. furniture's items within both thresholds).
        success: the application's success verdict (its thresholds, :attr:`Problem.thresholds`).
        details: the application's own errors object (``LayoutErrors``, ``PoseErrors``, ``ExpressionErrors``).
    """

    errors: dict[str, Any]
    success: bool
    details: Any = None


@runtime_checkable
class Instance(Protocol):
    """One seeded instance of a problem: at least a scene whose parameters hold the target and the start
    (the applications' ``FurnitureLayout``, ``SmplFit``, ``ExpressionFit`` add their own fields)."""

    scene: Scene


@runtime_checkable
class Problem(Protocol):
    """What an application provides so that methods can be compared on it.

    Attributes:
        name: the application's name (``"furniture"``, ``"smpl"``, ``"blendshapes"``).
        resolution: default image side (CPU-sized); ``paper_resolution``: the paper's.
        iterations: default iterations per run (CPU-sized; the paper runs 1000).
        settings: :class:`~drot.optim.OptimizeSettings` fields used for every method (e.g. ``max_points``).
        columns: error name → format (``".3f"``, or ``"s"`` for ``"k/n"`` counts), the errors that
            :meth:`score` returns, in order; the first is the main one.
        thresholds: error name → ``("<=" | ">=", bound)``: a run succeeds when every one holds
            (in the columns' units; :meth:`score` gives the verdict).
        rule: the success rule in words.
    """

    name: str
    resolution: int
    paper_resolution: int
    iterations: int
    settings: Mapping[str, Any]
    columns: Mapping[str, str]
    thresholds: Mapping[str, tuple[str, float]]
    rule: str

    def instance(self, seed: int, resolution: int | None = None) -> Instance:
        """The seeded instance (the seed draws its start or its target) at ``resolution`` (default :attr:`resolution`)."""
        ...

    def score(self, instance: Instance, values: dict) -> Score:
        """Named errors and the success verdict of parameter ``values`` against ``instance``'s target."""
        ...


# ------------------------------------------------------------------------------------ comparisons
@dataclasses.dataclass(frozen=True)
class Run:
    """One method on one seeded instance.

    Attributes:
        method, seed: what ran; ``instance``: the problem instance it ran on.
        result: the :class:`~drot.optim.OptimizationResult`.
        start, final: :class:`Score` of the start and of the result.
        wall_seconds: the run and its scoring.
    """

    method: str
    seed: int
    instance: Any
    result: OptimizationResult
    start: Score
    final: Score
    wall_seconds: float

    @property
    def success(self) -> bool:
        return self.final.success

    def row(self) -> dict:
        """A table row: method, seed, the errors, success, the start's main error, wall time, speed."""
        main = next(iter(self.final.errors))
        return {"method": self.method, "seed": self.seed, **self.final.errors, "success": bool(self.final.success),
                "start_" + main: self.start.errors[main], "wall_s": self.wall_seconds,
                "it_per_s": self.result.iterations_per_second}


def compare(problem: Problem, methods: Sequence[str] = ("hybrid", "standard"), seeds: Iterable[int] = (0,),
            iterations: int | None = None, resolution: int | None = None, *, settings: Mapping[str, Any] | None = None,
            method_settings: Mapping[str, Mapping[str, Any]] | None = None,
            on_instance: Callable[[int, Any], None] | None = None,
            on_run: Callable[[Run], None] | None = None) -> list[Run]:
    """Run every method of ``methods`` on the problem's instance for each seed of ``seeds``.

    Per seed one instance (``problem.instance(seed, resolution)``), then each method by
    :func:`run_method` with ``seed``, ``iterations`` (default ``problem.iterations``) and the
    settings ``problem.settings``, updated by ``settings`` (for every method) and by
    ``method_settings[method]`` (e.g. ``record_frames`` for one method only). Each run is scored at
    its start and its end. ``on_instance(seed, instance)`` is called with each instance before its
    runs, ``on_run`` with each :class:`Run` as soon as it is done (for progress output).
    """
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    iterations = iterations or problem.iterations
    resolution = resolution or problem.resolution
    runs = []
    for seed in seeds:
        instance = problem.instance(seed, resolution)
        if on_instance is not None:
            on_instance(seed, instance)
        for method in methods:
            t0 = time.perf_counter()
            extra = {**shared_settings(problem.settings, method), **(settings or {}),
                     **(method_settings or {}).get(method, {})}
            result = run_method(instance.scene, method, iterations, seed=seed, **extra)
            final = problem.score(instance, result.parameters)
            start = problem.score(instance, result.initial_parameters)
            run = Run(method, seed, instance, result, start, final, time.perf_counter() - t0)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    return runs


def summarize(problem: Problem, runs: Sequence[Run]) -> list[dict]:
    """One line per method: mean and median of each error (``"k/n"`` counts summed), successes, mean wall time."""
    lines = []
    for method in dict.fromkeys(r.method for r in runs):
        mine = [r for r in runs if r.method == method]
        line = {"method": METHODS[method]}
        for col, fmt in problem.columns.items():
            vals = [r.final.errors[col] for r in mine]
            if fmt == "s":  # "k/n" counts: sum them
                line[col] = f"{sum(int(v.split('/')[0]) for v in vals)}/{sum(int(v.split('/')[1]) for v in vals)}"
            else:
                line[col] = statistics.mean(vals)
                line[col + " (median)"] = statistics.median(vals)
        line["success"] = f"{sum(r.success for r in mine)}/{len(mine)}"
        line["mean wall_s"] = statistics.mean(r.wall_seconds for r in mine)
        lines.append(line)
    return lines
