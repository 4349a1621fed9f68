"""Settings of :func:`drot.optimize`, grouped by concern, with the paper's defaults.

:class:`OptimizeSettings` holds four groups — :class:`ScheduleSettings` (strategy, iterations,
Adam), :class:`MatchingSettings` (the RGBXY matching), :class:`L2Settings` (the standard-derivative
iterations) and :class:`RecordSettings` (history extras, frames, progress bar) — plus the run-wide
fields (seed, device, backend, fixed parameters, regulariser).

Every group field also has a *flat* name, the field's own name (unique across the groups and the
run-wide fields: :data:`FLAT` refuses a name twice when this module is imported), so the short
forms keep working::

    OptimizeSettings(lam=0.1, iterations=300)            # = OptimizeSettings(matching=MatchingSettings(lam=0.1), ...)
    drot.optimize(scene, lam=0.1)                        # keyword overrides
    settings.replace(strategy="standard", lam=0.3)       # a copy: flat names, groups or run-wide fields
    settings.lam                                         # = settings.matching.lam

``repr(settings)`` shows only what differs from the defaults, by flat name.

Validation reads the registries (matchers, strategies, L2 schedules), so a new component is
accepted here as soon as it is registered. :meth:`OptimizeSettings.ignored` lists settings that
were changed from their default but that the chosen components do not read (``drot.optimize``
warns about each, naming it).
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any, Callable, Iterator

import torch

from ..matching import MATCHERS
from ..matching.base import check_lam
from ..matching.sinkhorn import SOLVERS
from ..render.soft import SoftRasSettings
from .multiscale import L2_SCHEDULES
from .schedule import STRATEGIES


#: How background pixels enter a matching (:attr:`MatchingSettings.background`).
BACKGROUND_MODES = ("auto", "exclude", "include")


def unknown_names(unknown, valid) -> str:
    """``'lamb' (did you mean 'lam'?), 'x'``: the unknown names, each with the closest valid one if any."""
    import difflib

    return ", ".join(f"{k!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, valid, 1)) else "")
                     for k in unknown)


def _positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ScheduleSettings:
    """Which derivatives drive each iteration, for how long, and Adam's step.

    Attributes:
        strategy: a registered strategy (:data:`drot.optim.schedule.STRATEGIES`): ``"hybrid"``
            (default), ``"basic"``, ``"random"``, ``"standard"`` (L2 baseline) or ``"softras"``.
        iterations: number of gradient steps.
        lr, lr_decay: Adam learning rate and its per-iteration multiplicative decay.
        rgbxy_fraction: share of iterations using RGBXY derivatives in the hybrid strategy.
        reset_at_switch: in ``hybrid``, restart Adam's moment estimates at the switch to standard
            derivatives: the per-pixel L2 gradients have another scale than the OT loss's, and
            second moments carried over from the RGBXY phase make the first L2 steps far too
            small or too large. ``False`` keeps one Adam state throughout.
        appearance_gradients: where parameters that do not move pixels (the ``appearance`` kinds:
            diffuse, specular, texture, environment) take their gradients in RGBXY iterations:
            ``"rgbxy"`` (the paper: the OT loss's colour term, like every parameter) or
            ``"standard"`` (the per-pixel L2 loss of a view, while the geometric parameters take
            RGBXY derivatives; a scene with appearance parameters only then runs standard
            derivatives throughout).
        optimizer: ``"adam"`` (the paper's: every coordinate scaled by its own gradient history) or
            ``"vector_adam"`` (:mod:`drot.optim.vector_adam`: the three coordinates of a
            translation, axis-angle, vertex offset or camera shift share one second moment, so a
            step follows the gradient's direction within each vector).
        translation_frame: ``"world"`` (the paper: translations optimised as world-space offsets)
            or ``"view"`` (:mod:`drot.optim.view_frame`: image position and log depth in view 0,
            so a slide is not also a push away from the camera; one vector to ``vector_adam``).
        offset_smoothness: weight of the smoothness prior on per-vertex offsets
            (:mod:`drot.optim.smoothness`: the mean squared uniform Laplacian of the offsets over the
            squared bounding-box diagonal, added to every iteration's loss); 0 (the paper) = none.
    """

    strategy: str = "hybrid"
    iterations: int = 1000
    lr: float = 0.02
    lr_decay: float = 0.999
    rgbxy_fraction: float = 0.75
    reset_at_switch: bool = True
    appearance_gradients: str = "rgbxy"
    optimizer: str = "adam"
    translation_frame: str = "world"
    offset_smoothness: float = 0.0

    def __post_init__(self) -> None:
        if (isinstance(self.offset_smoothness, bool) or not isinstance(self.offset_smoothness, (int, float))
                or not math.isfinite(self.offset_smoothness) or self.offset_smoothness < 0):
            raise ValueError(f"offset_smoothness must be a finite number >= 0, got {self.offset_smoothness!r}")
        if self.translation_frame not in ("world", "view"):
            raise ValueError(f"translation_frame must be 'world' or 'view', got {self.translation_frame!r}")
        if self.optimizer not in ("adam", "vector_adam"):
            raise ValueError(f"optimizer must be 'adam' or 'vector_adam', got {self.optimizer!r}")
        if self.appearance_gradients not in ("rgbxy", "standard"):
            raise ValueError(f"appearance_gradients must be 'rgbxy' or 'standard', got {self.appearance_gradients!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {unknown_names([self.strategy], STRATEGIES)}; "
                             f"choose one of {', '.join(STRATEGIES)}")
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations <= 0:
            raise ValueError(f"iterations must be a positive integer, got {self.iterations!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be positive and finite, got {self.lr}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0.0 <= self.rgbxy_fraction <= 1.0:
            raise ValueError(f"rgbxy_fraction must be in [0, 1], got {self.rgbxy_fraction}")


@dataclasses.dataclass(frozen=True)
class MatchingSettings:
    """The RGBXY iterations: which pixels are matched to which, how, and how often.

    Attributes:
        matcher: a registered matcher (:data:`drot.matching.MATCHERS`): ``"sinkhorn"``,
            ``"bipartite"``, ``"identity"`` or ``"flow"`` (optical flow, needs OpenCV).
        lam: λ of the matching cost (Eq. 13), colour vs position, in [0, 1].
        blur: Sinkhorn ε as GeomLoss's blur (a length; the entropic temperature is blur²).
        scaling: ε-annealing factor of the Sinkhorn solver.
        sinkhorn_solver: ``"fast"`` (drot's dense solver), ``"multiscale"`` (drot's sparse
            coarse-to-fine solver), ``"auto"`` (multiscale from 8192 points per side on with drot._C
            built, CPU; from 65536 otherwise; else fast) or ``"geomloss"`` (the reference).
        max_points: optional cap on points per side of a matching (random subsampling).
        sinkhorn_reach: ``None`` (the paper's balanced transport) or a length > 0 in the embedded
            RGBXY space: unbalanced transport (GeomLoss's ``reach``), pixels without a counterpart
            within about that distance left unmatched.
        match_interval: K — a new matching every K + 1 iterations, reused in between.
        background: ``"exclude"`` (foreground pixels only, each side normalised to mass 1),
            ``"include"`` (all pixels, paper §5.2.2, background pooled in ``background_pool``² blocks)
            or ``"auto"`` (exclude when the target has a foreground mask, else include).
        background_pool: pooling block size for background pixels in include mode (1 = exact).

    Which of ``lam`` … ``max_points`` a matcher reads is declared by the matcher itself
    (``Matcher.options``); the others are ignored for it.
    """

    matcher: str = "sinkhorn"
    lam: float = 0.5
    blur: float = 0.01
    scaling: float = 0.5
    sinkhorn_solver: str = "auto"
    max_points: int | None = None
    sinkhorn_reach: float | None = None
    match_interval: int = 5
    background: str = "auto"
    background_pool: int = 4

    def __post_init__(self) -> None:
        if self.matcher not in MATCHERS:
            raise ValueError(f"unknown matcher {unknown_names([self.matcher], MATCHERS)}; "
                             f"valid names: {', '.join(MATCHERS)}")
        check_lam(self.lam)
        if not (self.blur > 0 and math.isfinite(self.blur)):
            raise ValueError(f"Sinkhorn blur (ε) must be positive and finite, got {self.blur}")
        if not 0 < self.scaling < 1:
            raise ValueError(f"Sinkhorn scaling must be in (0, 1), got {self.scaling}")
        if isinstance(self.match_interval, bool) or not isinstance(self.match_interval, int) or self.match_interval < 0:
            raise ValueError(f"match interval K must be an integer >= 0 (0 = match every iteration), "
                             f"got {self.match_interval!r}")
        if self.sinkhorn_solver not in SOLVERS:
            raise ValueError(f"unknown Sinkhorn solver {self.sinkhorn_solver!r}; valid solvers: {', '.join(SOLVERS)}")
        if self.max_points is not None:
            _positive_int("max_points", self.max_points, 2)
        if self.sinkhorn_reach is not None and not (self.sinkhorn_reach > 0 and math.isfinite(self.sinkhorn_reach)):
            raise ValueError(f"sinkhorn_reach must be None (balanced transport) or a finite length > 0, "
                             f"got {self.sinkhorn_reach!r}")
        if self.background not in BACKGROUND_MODES:
            raise ValueError(f"background must be one of {', '.join(map(repr, BACKGROUND_MODES))}, got {self.background!r}")
        if self.background_pool < 1:
            raise ValueError(f"background_pool must be >= 1, got {self.background_pool}")


@dataclasses.dataclass(frozen=True)
class L2Settings:
    """The standard-derivative (per-pixel L2) iterations.

    Attributes:
        l2_schedule: a registered L2 schedule (:data:`drot.optim.multiscale.L2_SCHEDULES`):
            ``"fixed"`` (the scene's resolution), ``"multires"`` (render and compare at
            l2_start_resolution² → full, coarse to fine) or ``"downsampled"`` (render at full
            resolution, compare images area-downsampled to l2_start_resolution² → full).
        l2_start_resolution: short side of the coarsest level of those schedules.
        l2_supersample: ``k > 1``: geometry's standard derivatives through a ``k`` x finer render,
            area-averaged, of the residual at the resolution itself (:mod:`drot.optim.steps`); 1: the paper.
        soft_sigma, soft_gamma: σ (coverage sharpness, squared NDC units) and γ (depth softmax) of
            the soft rasterizer that strategies rendering soft images (``"softras"``) use.
    """

    l2_schedule: str = "fixed"
    l2_start_resolution: int = 8
    l2_supersample: int = 1
    soft_sigma: float = 1e-4
    soft_gamma: float = 1e-4

    def __post_init__(self) -> None:
        if self.l2_schedule not in L2_SCHEDULES:
            raise ValueError(f"unknown l2_schedule {self.l2_schedule!r}; choose one of {', '.join(L2_SCHEDULES)}")
        _positive_int("l2_start_resolution", self.l2_start_resolution)
        _positive_int("l2_supersample", self.l2_supersample)
        SoftRasSettings(sigma=self.soft_sigma, gamma=self.soft_gamma)  # validates them


@dataclasses.dataclass(frozen=True)
class RecordSettings:
    """What the loop records besides the loss (none of it changes the optimisation).

    Attributes:
        eval_every: every that many iterations (and at the last one), render every view and record
            the image PSNR in the history (``psnr``); 0 = never. Its time is left out of the timings.
        progress: show a progress bar (only when stderr is a terminal).
        record_frames: number of animation frames to keep (0 = none), rendered from ``frame_view``.
        frame_view: the view the animation shows (checked against the scene's views by ``drot.optimize``).
    """

    eval_every: int = 0
    progress: bool = False
    record_frames: int = 0
    frame_view: int = 0

    def __post_init__(self) -> None:
        _positive_int("eval_every", self.eval_every, 0)
        _positive_int("record_frames", self.record_frames, 0)
        _positive_int("frame_view", self.frame_view, 0)


#: How a multi-start run places its starts (:attr:`StartSettings.start_set`).
START_SETS = ("sobol", "random")


@dataclasses.dataclass(frozen=True)
class StartSettings:
    """Batched multi-start (the start axis of :mod:`drot.optim.loop`, thinned by :mod:`drot.optim.halving`): how many starts, where, and how they are thinned.

    Attributes:
        starts: number of starts optimised together as one batch (1 = a single run). Start 0 is
            always the seeded random start of a single run.
        start_set: ``"sobol"``: the other starts form a scrambled Sobol (low-discrepancy) set —
            uniform over SO(3) for 3-D rotations (``rotation``, ``euler``), over the
            ``init_range`` box for everything else; ``"random"``: independent seeded draws.
        halving_interval: successive halving every this fraction of the iterations: the starts are
            ranked by their image loss over every view and the better ``keep_fraction`` kept,
            until one is left (0 = never: every start runs to the end).
        keep_fraction: share of the starts kept at each halving (at least one is kept).
        coarse_scale: the phases before the last halving (several starts still running) render,
            match and rank at this fraction of the scene's resolution, and the surviving start
            finishes at full resolution (1 = every phase at full resolution; no effect without
            halving or with one start; not used where the coarse short side would be under 64 px:
            measured on drot's any-angle benchmark, phases at 32² or 48² of a 64² scene lost the
            small features that tell the pose — 38/40 instead of 40/40).
        jump_interval: every this fraction of the iterations, up to the end of the RGBXY phase,
            each start's rotations are composed with the look-alike turns of
            :mod:`drot.optim.jumps` (the cube group; quarter and half turns about a fixed axis),
            scored by image loss, and the start jumps to the best proposal when it is lower
            (0 = never, the paper's method; with one start too). Before a halving it runs first,
            so the ranking sees the jumped poses.
    """

    starts: int = 1
    start_set: str = "sobol"
    halving_interval: float = 0.25
    keep_fraction: float = 0.5
    coarse_scale: float = 0.5
    jump_interval: float = 0.0

    def __post_init__(self) -> None:
        _positive_int("starts", self.starts)
        if not 0.0 <= self.jump_interval < 1.0:
            raise ValueError(f"jump_interval must be a fraction of the iterations in [0, 1), got {self.jump_interval}")
        if self.start_set not in START_SETS:
            raise ValueError(f"start_set must be one of {', '.join(map(repr, START_SETS))}, got {self.start_set!r}")
        if not 0.0 <= self.halving_interval < 1.0:
            raise ValueError(f"halving_interval must be a fraction of the iterations in [0, 1), got {self.halving_interval}")
        if not 0.0 < self.keep_fraction < 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1), got {self.keep_fraction}")
        if not 0.0 < self.coarse_scale <= 1.0:
            raise ValueError(f"coarse_scale must be a fraction of the resolution in (0, 1], got {self.coarse_scale}")


#: The groups, by field name of :class:`OptimizeSettings`.
GROUPS: dict[str, type] = {"schedule": ScheduleSettings, "matching": MatchingSettings, "l2": L2Settings,
                           "recording": RecordSettings, "multistart": StartSettings}
#: The run-wide fields of :class:`OptimizeSettings` (not in a group).
_TOP = ("fixed", "regularizer", "seed", "device", "backend")


def flat_names(groups: dict[str, type], top: tuple[str, ...] = _TOP) -> dict[str, str]:
    """Flat name → group field name, for every field of ``groups``. TypeError when a name is a field of
    two groups, or also a run-wide field or a group's name: a flat name must say which field it is."""
    flat: dict[str, str] = {}
    for group, cls in groups.items():
        for field in dataclasses.fields(cls):
            if field.name in flat:
                raise TypeError(f"settings: {cls.__name__}.{field.name} and {groups[flat[field.name]].__name__}."
                                f"{field.name} share the flat name {field.name!r}; rename one of them")
            if field.name in top or field.name in groups:
                raise TypeError(f"settings: {cls.__name__}.{field.name} has the name of a field of OptimizeSettings "
                                f"itself ({field.name!r}); rename it")
            flat[field.name] = group
    return flat


#: Flat name → group field name, for every group field (checked unique when this module is imported).
FLAT: dict[str, str] = flat_names(GROUPS)


@dataclasses.dataclass(frozen=True, init=False)
class OptimizeSettings:
    """Every knob of :func:`drot.optimize`, grouped by concern (see the module docstring).

    Attributes:
        schedule, matching, l2, recording, multistart: the groups (each field also readable and settable by its
            flat name, e.g. ``settings.lam``, ``OptimizeSettings(lam=0.1)`` or ``settings.replace(lam=0.1)``).
        fixed: names of parameters held at their start values (not optimised), e.g. the shape of
            a warp while a first stage recovers its pose.
        regularizer: optional callable ``values -> scalar tensor`` (parameter name → current value)
            added to the loss of every iteration, e.g. a thin-plate spline's bending energy.
        seed: seeds the start values, the view draws and the matcher.
        device: ``"cpu"`` or ``"cuda"``.
        backend: rendering backend name or ``"auto"``.
    """

    schedule: ScheduleSettings
    matching: MatchingSettings
    l2: L2Settings
    recording: RecordSettings
    multistart: StartSettings
    fixed: tuple[str, ...]
    regularizer: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None
    seed: int
    device: str
    backend: str

    def __init__(self, schedule: ScheduleSettings | None = None, matching: MatchingSettings | None = None,
                 l2: L2Settings | None = None, recording: RecordSettings | None = None,
                 multistart: StartSettings | None = None, fixed: tuple[str, ...] | list[str] = (), regularizer=None, seed: int = 0, device: str = "cpu",
                 backend: str = "auto", **flat: Any) -> None:
        groups = {"schedule": schedule, "matching": matching, "l2": l2, "recording": recording,
                  "multistart": multistart}
        for name, group in groups.items():
            if group is not None and not isinstance(group, GROUPS[name]):
                raise TypeError(f"OptimizeSettings({name}=...) must be a {GROUPS[name].__name__}, "
                                f"got {type(group).__name__}")
        unknown = sorted(set(flat) - set(FLAT))
        if unknown:
            raise TypeError(f"OptimizeSettings got unknown setting(s) {unknown_names(unknown, [*FLAT, *_TOP])}; "
                            f"valid settings: {', '.join([*_TOP, *FLAT])}")
        for name, cls in GROUPS.items():
            changes = {k: v for k, v in flat.items() if FLAT[k] == name}
            base = groups[name] or cls()
            object.__setattr__(self, name, dataclasses.replace(base, **changes) if changes else base)
        if isinstance(fixed, str):
            raise ValueError(f"fixed must be a sequence of parameter names, got the string {fixed!r}")
        object.__setattr__(self, "fixed", tuple(fixed))
        object.__setattr__(self, "regularizer", regularizer)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0 (numpy's generators refuse negative seeds), got {seed!r}")
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "device", str(device))
        object.__setattr__(self, "backend", backend)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not attributes: the flat names of group fields.
        group = FLAT.get(name)
        if group is None:
            raise AttributeError(f"OptimizeSettings has no setting {name!r}")
        return getattr(object.__getattribute__(self, group), name)

    def replace(self, **changes: Any) -> "OptimizeSettings":
        """A copy with ``changes``: flat names (``lam=0.1``), whole groups (``matching=MatchingSettings()``)
        or run-wide fields (``seed=3``); flat names apply on top of a group given in the same call.
        Unknown names are a TypeError naming the closest valid one."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return OptimizeSettings(**{**fields, **changes})

    def __repr__(self) -> str:
        changed = [f"{k}={v!r}" for k, v in self.flat().items() if v is not DEFAULTS[k] and v != DEFAULTS[k]]
        return f"OptimizeSettings({', '.join(changed)})"

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (group fields, then the run-wide ones)."""
        out = {k: getattr(getattr(self, group), k) for k, group in FLAT.items()}
        out.update({k: getattr(self, k) for k in _TOP})
        return out

    def ignored(self) -> Iterator[tuple[str, str]]:
        """``(setting, why)`` for every setting changed from its default that the chosen strategy,
        matcher or L2 schedule does not read."""
        strategy = STRATEGIES[self.schedule.strategy]
        changed = {k for k, v in self.flat().items() if k in FLAT and v != DEFAULTS[k]}
        why: dict[str, str] = {}
        if not strategy.uses_rgbxy:
            for k in (f.name for f in dataclasses.fields(MatchingSettings)):
                why[k] = f"strategy {strategy.name!r} does no matching"
        else:
            matcher = MATCHERS[self.matching.matcher]
            for k in matcher_options() - set(matcher.options.values()):
                why[k] = f"matcher {matcher.name!r} does not read it (it reads: {', '.join(matcher.options.values())})"
        if not strategy.uses_standard:
            for k in (f.name for f in dataclasses.fields(L2Settings)):
                why[k] = f"strategy {strategy.name!r} has no standard-derivative iteration"
        elif not strategy.soft:
            why.update({k: f"only soft-rasterizing strategies read it (strategy is {strategy.name!r})"
                        for k in ("soft_sigma", "soft_gamma")})
        if self.l2.l2_schedule == "fixed":
            why.setdefault("l2_start_resolution", "l2_schedule 'fixed' has a single level")
        for k in strategy.ignores:
            why.setdefault(k, f"strategy {strategy.name!r} does not read it")
        if self.multistart.starts == 1:
            for k in ("start_set", "halving_interval", "keep_fraction", "coarse_scale"):
                why[k] = "a single start (starts = 1)"
        elif self.multistart.halving_interval == 0:
            why["coarse_scale"] = "no halving (halving_interval = 0): every phase runs at full resolution"
        if self.recording.record_frames == 0:
            why.setdefault("frame_view", "no frames are recorded (record_frames = 0)")
        for k in sorted(changed & set(why)):
            yield k, why[k]


#: Default value of every setting, by flat name.
DEFAULTS = {**{f.name: f.default for cls in GROUPS.values() for f in dataclasses.fields(cls)},
            **{k: v.default for k, v in inspect.signature(OptimizeSettings.__init__).parameters.items() if k in _TOP}}


def matcher_options() -> set[str]:
    """Matching settings that some registered matcher reads and others may not (``Matcher.options``)."""
    return {key for cls in MATCHERS.values() for key in cls.options.values()}
