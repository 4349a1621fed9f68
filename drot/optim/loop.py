"""The optimisation loop shared by every application: ``drot.optimize(scene, target)``.

Per iteration, :class:`~drot.optim.schedule.GradientSchedule` picks the derivatives:

* **RGBXY** (paper Eq. 15): every ``K + 1`` iterations a view is drawn, rendered, its covered pixels
  become point proxies (frozen barycentrics) and are matched to the target pixels by the matcher
  (Sinkhorn optimal transport by default). For the next ``K`` iterations the same proxies and
  the same matching are reused — only the proxies' colours and positions are re-evaluated at the
  current parameters — and the loss pulls every proxy toward its matched target.
* **standard** (Eq. 5): a random view is rendered with antialiasing and compared per pixel (L2).
  The Table 1 (e) baselines vary this step: the resolution it renders and compares at
  (``l2_schedule``, :mod:`drot.optim.multiscale`) and, with ``strategy="softras"``, a soft rasterizer
  (:mod:`drot.render.soft`) instead of the hard one.

Adam with lr 0.02 decayed ×0.999 per iteration, one view per iteration, as in the paper.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .. import metrics
from ..render.soft import SoftRasSettings, soft_render
from .losses import image_l2_loss, rgbxy_loss
from ..matching import MATCHERS, image_points, make_matcher
from ..matching.base import check_lam
from .multiscale import L2_SCHEDULES, ResolutionSchedule, downsample
from ..render.proxies import point_proxies
from ..render.backend import get_backend
from ..render.renderer import render
from .schedule import L2_ONLY_STRATEGIES, STRATEGIES, GradientSchedule
from ..scene.scene import Scene


@dataclasses.dataclass(frozen=True)
class OptimizeSettings:
    """Every knob of :func:`optimize`, with the paper's defaults.

    Attributes:
        strategy: ``"hybrid"`` (default), ``"basic"``, ``"random"``, ``"standard"`` (L2 baseline) or
            ``"softras"`` (L2 on soft-rasterized images, the SoftRas-style baseline).
        iterations: number of gradient steps.
        lr, lr_decay: Adam learning rate and its per-iteration multiplicative decay.
        rgbxy_fraction: share of iterations using RGBXY derivatives in the hybrid strategy.
        lam: λ of the matching cost (Eq. 13), colour vs position, in [0, 1].
        blur: Sinkhorn ε as GeomLoss's blur (a length; the entropic temperature is blur²).
        scaling: ε-annealing factor of the Sinkhorn solver.
        match_interval: K — a new matching every K + 1 iterations, reused in between.
        matcher: ``"sinkhorn"``, ``"bipartite"``, ``"identity"`` or ``"flow"`` (optical flow, needs OpenCV).
        sinkhorn_solver: ``"auto"``/``"fast"`` (drot's solver) or ``"geomloss"`` (GeomLoss, the reference).
        background: ``"exclude"`` (foreground pixels only, each side normalised to mass 1),
            ``"include"`` (all pixels, paper §5.2.2, background pooled in ``background_pool``² blocks)
            or ``"auto"`` (exclude when the target has a foreground mask, else include).
        background_pool: pooling block size for background pixels in include mode (1 = exact).
        max_points: optional cap on points per side of a matching (random subsampling).
        l2_schedule: resolution of the per-pixel L2 iterations: ``"fixed"`` (the scene's),
            ``"multires"`` (render and compare at l2_start_resolution² → full, coarse to fine) or
            ``"downsampled"`` (render at full resolution, compare images area-downsampled to
            l2_start_resolution² → full); see :mod:`drot.optim.multiscale`.
        l2_start_resolution: short side of the coarsest level of those schedules.
        soft_sigma, soft_gamma: σ (coverage sharpness, squared NDC units) and γ (depth softmax) of
            the soft rasterizer used by ``strategy="softras"``.
        reset_at_switch: in ``hybrid``, restart Adam's moment estimates at the switch to standard
            derivatives: the per-pixel L2 gradients have another scale than the OT loss's, and
            second moments carried over from the RGBXY phase make the first L2 steps far too
            small or too large (measured in the README). ``False`` keeps one Adam state throughout.
        fixed: names of parameters held at their start values (not optimised), e.g. the shape of
            a warp while a first stage recovers its pose.
        regularizer: optional callable ``values -> scalar tensor`` (parameter name → current value)
            added to the loss of every iteration, e.g. a thin-plate spline's bending energy.
        eval_every: every that many iterations (and at the last one), render every view and record
            the image PSNR in the history (``psnr``); 0 = never. The time it takes is left out of
            ``seconds`` and of the it/s figures.
        seed: seeds the start values, the view draws and the matcher.
        device: ``"cpu"`` or ``"cuda"``.
        backend: rendering backend name or ``"auto"``.
        progress: show a progress bar.
        record_frames: number of animation frames to keep (0 = none), rendered from ``frame_view``.
        frame_view: the view the animation shows.
    """

    strategy: str = "hybrid"
    iterations: int = 1000
    lr: float = 0.02
    lr_decay: float = 0.999
    rgbxy_fraction: float = 0.75
    lam: float = 0.5
    blur: float = 0.01
    scaling: float = 0.5
    match_interval: int = 5
    matcher: str = "sinkhorn"
    sinkhorn_solver: str = "auto"
    background: str = "auto"
    background_pool: int = 4
    max_points: int | None = None
    l2_schedule: str = "fixed"
    l2_start_resolution: int = 8
    soft_sigma: float = 1e-4
    soft_gamma: float = 1e-4
    reset_at_switch: bool = True
    fixed: tuple[str, ...] = ()
    regularizer: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None
    eval_every: int = 0
    seed: int = 0
    device: str = "cpu"
    backend: str = "auto"
    progress: bool = False
    record_frames: int = 0
    frame_view: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not isinstance(self.iterations, int) or self.iterations <= 0:
            raise ValueError(f"iterations must be a positive integer, got {self.iterations!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be positive and finite, got {self.lr}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        check_lam(self.lam)
        if not isinstance(self.match_interval, int) or self.match_interval < 0:
            raise ValueError(f"match interval K must be an integer >= 0 (0 = match every iteration), got {self.match_interval!r}")
        if not self.blur > 0:
            raise ValueError(f"Sinkhorn blur (ε) must be positive, got {self.blur}")
        if not 0 < self.scaling < 1:
            raise ValueError(f"Sinkhorn scaling must be in (0, 1), got {self.scaling}")
        if self.matcher not in MATCHERS:
            raise ValueError(f"unknown matcher {self.matcher!r}; valid names: {', '.join(MATCHERS)}")
        if self.l2_schedule not in L2_SCHEDULES:
            raise ValueError(f"unknown l2_schedule {self.l2_schedule!r}; choose one of {', '.join(L2_SCHEDULES)}")
        if not isinstance(self.l2_start_resolution, int) or self.l2_start_resolution < 1:
            raise ValueError(f"l2_start_resolution must be a positive integer, got {self.l2_start_resolution!r}")
        SoftRasSettings(sigma=self.soft_sigma, gamma=self.soft_gamma)  # validates them
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ValueError(f"eval_every must be an integer >= 0, got {self.eval_every!r}")
        if self.background not in ("auto", "exclude", "include"):
            raise ValueError(f"background must be 'auto', 'exclude' or 'include', got {self.background!r}")
        if self.background_pool < 1:
            raise ValueError(f"background_pool must be >= 1, got {self.background_pool}")
        if self.record_frames < 0:
            raise ValueError(f"record_frames must be >= 0, got {self.record_frames}")


@dataclasses.dataclass(frozen=True)
class OptimizationResult:
    """What :func:`optimize` returns.

    Attributes:
        scene_name, settings: what was run.
        parameters: name → final value.
        initial_parameters: name → start value.
        target_parameters: name → target value, or None when the target was given as images.
        history: one dict per iteration: ``iteration``, ``mode`` ("rgbxy"/"standard"/"softras"),
            ``loss``, ``vertex_mae`` (None without target parameters), ``lr``, ``seconds`` (since
            start), ``matching_seconds`` (time spent matching in this iteration); with
            ``eval_every`` also ``psnr`` (over every view; None between evaluations).
        initial_images, final_images, target_images: float ``[V, H, W, 3]`` renders of every view.
        vertex_mae: final mean absolute vertex error (None without target parameters).
        psnr, ssim: final image metrics over all views.
        wall_seconds: total optimisation time; ``iterations_per_second`` likewise.
        frames: animation frames ``[H, 2W + 2, 3]`` (current render | target, side by side), possibly empty.
    """

    scene_name: str
    settings: OptimizeSettings
    parameters: dict[str, torch.Tensor]
    initial_parameters: dict[str, torch.Tensor]
    target_parameters: dict[str, torch.Tensor] | None
    history: list[dict[str, Any]]
    initial_images: torch.Tensor
    final_images: torch.Tensor
    target_images: torch.Tensor
    vertex_mae: float | None
    psnr: float
    ssim: float
    wall_seconds: float
    iterations_per_second: float
    matching_seconds: float
    frames: list[torch.Tensor]

    def summary(self) -> dict[str, Any]:
        """Scalar figures of the run (for tables, JSON and CSV)."""
        return {
            "scene": self.scene_name, "method": self.settings.strategy, "seed": self.settings.seed,
            "iterations": self.settings.iterations, "vertex_mae": self.vertex_mae, "psnr": self.psnr,
            "ssim": self.ssim, "it_per_s": self.iterations_per_second, "wall_s": self.wall_seconds,
            "matching_s": self.matching_seconds,
            "parameters": {k: v.tolist() for k, v in self.parameters.items()},
        }


# --------------------------------------------------------------------------- targets
def _check_finite(values: dict[str, torch.Tensor], what: str) -> None:
    for name, v in values.items():
        if not torch.isfinite(torch.as_tensor(v)).all():
            raise ValueError(f"{what} parameter {name!r} contains NaN or inf")


def _load_image_file(path: str | os.PathLike) -> torch.Tensor:
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"target image not found: {path}")
    try:
        arr = np.asarray(iio.imread(path))
    except Exception as exc:
        raise ValueError(f"cannot read target image {path}: {exc}") from exc
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    scale = 65535.0 if arr.dtype == np.uint16 else (255.0 if arr.dtype == np.uint8 else 1.0)
    return torch.from_numpy(arr.astype(np.float32) / scale)


def _target_images(target, scene: Scene) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Normalise a target given as images → (``[V, H, W, 3]`` in [0, 1], optional mask ``[V, H, W]``)."""
    if isinstance(target, (str, os.PathLike)):
        target = [target]
    if isinstance(target, (list, tuple)):
        target = torch.stack([_load_image_file(p) if isinstance(p, (str, os.PathLike)) else torch.as_tensor(p)
                              for p in target])
    images = torch.as_tensor(target, dtype=torch.float32)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] not in (3, 4):
        raise ValueError(f"target images must be [V, H, W, 3 or 4], got shape {tuple(images.shape)}")
    if images.shape[0] != scene.num_views:
        raise ValueError(f"scene {scene.name!r} has {scene.num_views} views but {images.shape[0]} target images were given")
    if tuple(images.shape[1:3]) != scene.resolution:
        raise ValueError(f"target images are {tuple(images.shape[1:3])} pixels but the scene renders at "
                         f"{scene.resolution}; resize them or change the scene resolution")
    if not torch.isfinite(images).all():
        raise ValueError("target images contain NaN or inf")
    mask = None
    if images.shape[-1] == 4:
        mask = images[..., 3] > 0.5
        images = images[..., :3] * mask[..., None]
    return images.clamp(0, 1), mask


@dataclasses.dataclass(frozen=True)
class _Goal:
    """The target, whatever form it was given in: images ``[V, H, W, 3]``, optional foreground mask
    ``[V, H, W]``, and — when known — the target parameter values and world vertices."""

    images: torch.Tensor
    mask: torch.Tensor | None
    params: dict[str, torch.Tensor] | None
    vertices: torch.Tensor | None


def _resolve_goal(scene: Scene, target, device: torch.device, backend) -> _Goal:
    if target is None:
        params = scene.target_values()
    elif isinstance(target, Scene):
        if target.num_views != scene.num_views or target.resolution != scene.resolution:
            raise ValueError("a target scene must have the same number of views and resolution as the scene")
        params = target.target_values()
        if set(params) != {p.name for p in scene.parameters}:
            raise ValueError(f"target scene parameters {sorted(params)} differ from the scene's "
                             f"{sorted(p.name for p in scene.parameters)}")
    elif isinstance(target, dict):
        params = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in target.items()}
        missing = {p.name for p in scene.parameters} - set(params)
        if missing:
            raise ValueError(f"target values missing for parameter(s) {sorted(missing)}")
    else:
        images, mask = _target_images(target, scene)
        return _Goal(images.to(device), None if mask is None else mask.to(device), None, None)
    _check_finite(params, "target")
    for p in scene.parameters:
        if tuple(params[p.name].shape) != tuple(p.target.shape):
            raise ValueError(f"target value of {p.name!r} has shape {tuple(params[p.name].shape)}, "
                             f"expected {tuple(p.target.shape)}")
    params = {k: v.to(device) for k, v in params.items()}
    with torch.no_grad():
        state = scene.evaluate(params, device)
        frame = render(state, list(range(scene.num_views)), scene.resolution, backend)
    return _Goal(frame.image, frame.mask, params, state.vertices)


def _start_values(scene: Scene, initial: dict[str, torch.Tensor] | None, seed: int) -> dict[str, torch.Tensor]:
    start = scene.initial_values(seed)
    for name, value in (initial or {}).items():
        if name not in start:
            raise ValueError(f"initial value given for unknown parameter {name!r}; scene parameters: {sorted(start)}")
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.shape != start[name].shape:
            raise ValueError(f"initial value of {name!r} has shape {tuple(value.shape)}, expected {tuple(start[name].shape)}")
        start[name] = value
    _check_finite(start, "initial")
    return start


class _RgbxyStep:
    """RGBXY iterations: point proxies of one view matched to its target pixels, reused for K + 1 iterations."""

    def __init__(self, scene: Scene, goal: _Goal, settings: OptimizeSettings, background: str, backend,
                 rng: np.random.Generator) -> None:
        self.scene, self.goal, self.settings, self.background = scene, goal, settings, background
        self.backend, self.rng = backend, rng
        kwargs: dict[str, Any] = {"lam": settings.lam}
        if settings.matcher == "sinkhorn":
            kwargs.update(blur=settings.blur, scaling=settings.scaling, max_points=settings.max_points,
                          seed=settings.seed, solver=settings.sinkhorn_solver)
        elif settings.matcher == "flow":
            kwargs.update(resolution=scene.resolution)  # the flow runs on the images the points came from
        self.matcher = make_matcher(settings.matcher, **kwargs)
        self.target_points: dict[int, Any] = {}
        self.current = None  # (view, frozen rast, matched targets [N, 5]) of this matching period
        self.last_match = -10 ** 9

    def _target_points(self, view: int):
        if view not in self.target_points:
            mask = None if self.goal.mask is None else self.goal.mask[view]
            self.target_points[view] = image_points(self.goal.images[view], mask, background=self.background,
                                                    pool=self.settings.background_pool)[0]
        return self.target_points[view]

    def _rematch(self, params: dict[str, torch.Tensor], it: int) -> None:
        view = int(self.rng.integers(self.scene.num_views))
        self.current = None
        if self.background == "exclude" and not bool(self.goal.mask[view].any()):
            return  # the target object is outside this view: nothing to pull toward
        with torch.no_grad():
            frame = render(self.scene.evaluate(params), [view], self.scene.resolution, self.backend, antialias=False)
        if not frame.mask.any():
            return  # the object left this view: no proxy to pull
        source, _ = image_points(frame.image[0], frame.mask[0], background=self.background,
                                 pool=self.settings.background_pool)
        matching = self.matcher.match(source, self._target_points(view))
        # Foreground points come first, in the same row-major pixel order as the proxies.
        self.current = (view, frame.rast.detach(), matching.targets[: int(frame.mask.sum())])
        self.last_match = it

    def loss(self, params: dict[str, torch.Tensor], it: int) -> tuple[torch.Tensor | None, float]:
        """The OT loss of iteration ``it`` (None when no view can be matched) and the seconds spent matching."""
        seconds = 0.0
        if self.current is None or it - self.last_match > self.settings.match_interval:
            t0 = time.perf_counter()
            self._rematch(params, it)
            seconds = time.perf_counter() - t0
        if self.current is None:
            return None, seconds
        view, rast, matched = self.current
        proxies = point_proxies(self.scene.evaluate(params), [view], rast, self.backend)
        return rgbxy_loss(proxies.rgbxy, matched, self.settings.lam), seconds


class _StandardStep:
    """Per-pixel L2 iterations: one random view, rendered (hard with antialiasing, or soft for
    ``softras``) at the render resolution of the L2 schedule and compared with the target at its
    loss resolution."""

    def __init__(self, scene: Scene, goal: _Goal, settings: OptimizeSettings, backend,
                 rng: np.random.Generator) -> None:
        self.scene, self.goal, self.backend, self.rng = scene, goal, backend, rng
        self.schedule = ResolutionSchedule(settings.l2_schedule, settings.iterations, scene.resolution,
                                           settings.l2_start_resolution)
        self.soft = (SoftRasSettings(settings.soft_sigma, settings.soft_gamma)
                     if settings.strategy == "softras" else None)
        self.mode = "softras" if self.soft is not None else "standard"
        self._targets: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def _target(self, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Target images ``[V, h, w, 3]`` and float foreground masks ``[V, h, w]`` at ``size``."""
        if size not in self._targets:
            goal = self.goal
            if size == self.scene.resolution:
                mask = goal.mask if goal.mask is not None else goal.images.amax(-1) > 1e-6
                images, masks = goal.images, mask.to(goal.images.dtype)
            elif self.schedule.mode == "multires" and goal.params is not None:
                with torch.no_grad():  # coarse to fine renders the target at each level too
                    frame = render(self._state(goal.params, size), list(range(self.scene.num_views)), size,
                                   self.backend)
                images, masks = frame.image, frame.mask.to(frame.image.dtype)
            else:  # area-downsample the full-resolution target (and images given without parameters)
                full_images, full_masks = self._target(self.scene.resolution)
                images, masks = downsample(full_images, size), downsample(full_masks[..., None], size)[..., 0]
            self._targets[size] = (images, masks)
        return self._targets[size]

    def _state(self, params: dict[str, torch.Tensor], size: tuple[int, int]):
        """The scene at ``params``, its background image (if any) resized to a ``size`` render."""
        state = self.scene.evaluate(params)
        if state.background is not None and size != self.scene.resolution:
            state = dataclasses.replace(state, background=downsample(state.background, size))
        return state

    def loss(self, params: dict[str, torch.Tensor], it: int) -> torch.Tensor:
        view = int(self.rng.integers(self.scene.num_views))
        render_size, loss_size = self.schedule.at(it)
        state = self._state(params, render_size)
        images, masks = self._target(loss_size)
        if self.soft is None:
            image = render(state, [view], render_size, self.backend).image[0]
            return image_l2_loss(downsample(image, loss_size), images[view])
        frame = soft_render(state, [view], render_size, self.backend, self.soft)
        # L2 on the soft image and on the soft silhouette (the SoftRas fitting loss).
        silhouette = downsample(frame.silhouette[0][..., None], loss_size)
        return (image_l2_loss(downsample(frame.image[0], loss_size), images[view])
                + image_l2_loss(silhouette, masks[view][..., None]))


# ---------------------------------------------------------------------- the loop
def optimize(scene: Scene, target=None, settings: OptimizeSettings | None = None, *,
             initial: dict[str, torch.Tensor] | None = None, **overrides) -> OptimizationResult:
    """Recover ``scene``'s parameters so that its renders match ``target``.

    Args:
        scene: the scene; its declared parameters are optimised.
        target: what to match —
            ``None``: the scene's own declared target values (rendered);
            a :class:`Scene`: another scene with the same views (its parameter targets are the goal);
            a dict name → value: target parameter values;
            images: a tensor ``[V, H, W, 3|4]`` (alpha = foreground mask) or a list of image files,
            one per view, at the scene's resolution.
        settings: :class:`OptimizeSettings`; keyword ``overrides`` replace single fields.
        initial: start values (name → tensor); default: drawn from the scene with ``settings.seed``.

    Returns:
        :class:`OptimizationResult`.
    """
    settings = dataclasses.replace(settings or OptimizeSettings(), **overrides)
    device = torch.device(settings.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but CUDA is not available in this torch build/machine")
    backend = get_backend(settings.backend, device)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    all_views = list(range(scene.num_views))

    goal = _resolve_goal(scene, target, device, backend)
    background = settings.background
    if background == "auto":
        background = "exclude" if goal.mask is not None else "include"
    if background == "exclude" and goal.mask is None:
        # Without a mask the scenes' black background defines the foreground.
        goal = dataclasses.replace(goal, mask=goal.images.amax(-1) > 1e-6)

    start = _start_values(scene, initial, settings.seed)
    unknown_fixed = set(settings.fixed) - {p.name for p in scene.parameters}
    if unknown_fixed:
        raise ValueError(f"fixed names unknown parameter(s) {sorted(unknown_fixed)}; scene parameters: "
                         f"{[p.name for p in scene.parameters]}")
    params = {p.name: start[p.name].detach().clone().to(device).requires_grad_(p.name not in settings.fixed)
              for p in scene.parameters}
    free = [v for k, v in params.items() if k not in settings.fixed]
    if not free:
        raise ValueError("every parameter is fixed: nothing to optimise")
    optimizer = torch.optim.Adam(free, lr=settings.lr, betas=(0.9, 0.999))
    lr_schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=settings.lr_decay)
    schedule = GradientSchedule(settings.strategy, settings.iterations, settings.rgbxy_fraction, settings.seed)
    rgbxy = (_RgbxyStep(scene, goal, settings, background, backend, rng)
             if settings.strategy not in L2_ONLY_STRATEGIES else None)
    standard = _StandardStep(scene, goal, settings, backend, rng)

    def render_views(views: list[int]) -> torch.Tensor:
        with torch.no_grad():
            return render(scene.evaluate(params), views, scene.resolution, backend).image

    initial_images = render_views(all_views)
    frame_every = max(1, settings.iterations // settings.record_frames) if settings.record_frames else 0
    frames: list[torch.Tensor] = []
    history: list[dict[str, Any]] = []
    total_matching = 0.0
    eval_seconds = 0.0  # time spent on eval_every renders, left out of the timings
    progress = None
    if settings.progress:
        from tqdm.auto import tqdm
        progress = tqdm(total=settings.iterations, desc=f"{scene.name} {settings.strategy} seed {settings.seed}",
                        leave=False, dynamic_ncols=True, mininterval=0.25,
                        disable=None)  # None: no bar when stderr is not a terminal (logs, CI)
    t_start = time.perf_counter()
    for it in range(settings.iterations):
        if settings.reset_at_switch and schedule.switches_to_standard(it):
            optimizer.state.clear()  # Adam re-initialises its moments lazily on the next step
        optimizer.zero_grad(set_to_none=True)
        loss, matching_seconds = rgbxy.loss(params, it) if schedule.uses_rgbxy(it) else (None, 0.0)
        mode = "rgbxy"
        if loss is None:  # a standard iteration (or no view could be matched)
            mode = standard.mode
            loss = standard.loss(params, it)
        if settings.regularizer is not None:
            loss = loss + settings.regularizer(params)
        loss.backward()
        optimizer.step()
        lr_now = optimizer.param_groups[0]["lr"]
        lr_schedule.step()
        total_matching += matching_seconds
        record: dict[str, Any] = {"iteration": it, "mode": mode, "loss": float(loss.detach()), "lr": lr_now,
                                  "seconds": time.perf_counter() - t_start - eval_seconds,
                                  "matching_seconds": matching_seconds, "vertex_mae": None}
        if goal.vertices is not None:
            with torch.no_grad():
                record["vertex_mae"] = metrics.vertex_mae(scene.world_vertices(params), goal.vertices)
        if settings.eval_every:
            record["psnr"] = None
            if it % settings.eval_every == 0 or it == settings.iterations - 1:
                t_eval = time.perf_counter()
                record["psnr"] = metrics.psnr(render_views(all_views).clamp(0, 1), goal.images.clamp(0, 1))
                eval_seconds += time.perf_counter() - t_eval
        history.append(record)
        if frame_every and (it % frame_every == 0 or it == settings.iterations - 1):
            img = render_views([settings.frame_view])[0]
            divider = torch.full_like(img[:, :2], 0.5)  # grey bar between the current render and the target
            frames.append(torch.cat([img, divider, goal.images[settings.frame_view]], 1).clamp(0, 1).cpu())
        if progress is not None:
            progress.update(1)
            if record["vertex_mae"] is not None:
                progress.set_postfix(mae=f"{record['vertex_mae']:.4f}", loss=f"{record['loss']:.2e}")
    wall = time.perf_counter() - t_start - eval_seconds
    if progress is not None:
        progress.close()

    final_images = render_views(all_views)
    return OptimizationResult(
        scene_name=scene.name, settings=settings, parameters={k: v.detach().clone() for k, v in params.items()},
        initial_parameters={k: v.detach().clone() for k, v in start.items()},
        target_parameters=None if goal.params is None else {k: v.detach().clone() for k, v in goal.params.items()},
        history=history, initial_images=initial_images.cpu(), final_images=final_images.cpu(),
        target_images=goal.images.cpu(), vertex_mae=history[-1]["vertex_mae"],
        psnr=metrics.psnr(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        ssim=metrics.ssim(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        wall_seconds=wall, iterations_per_second=settings.iterations / wall,
        matching_seconds=total_matching, frames=frames,
    )
