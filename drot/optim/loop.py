"""The optimisation loop shared by every application: ``drot.optimize(scene, target)``.

Per iteration the loop evaluates the scene **once** at the current parameters (a
:class:`~drot.render.state.SceneState`) and hands that state to the step the
:class:`~drot.optim.schedule.GradientSchedule` picks — :class:`~drot.optim.steps.RgbxyStep`
(matched RGBXY derivatives) or :class:`~drot.optim.steps.StandardStep` (per-pixel L2) — then
takes an Adam step (lr 0.02 decayed ×0.999 per iteration, one view per iteration, as in the
paper). The state evaluated for the next iteration completes the record of this one
(:class:`~drot.optim.recording.Recorder`). Because the steps only see a state, a batch of
parameter sets can later be evaluated in one pass and handed to the same steps.

Before the loop, :mod:`~drot.optim.resources` refuses a run that cannot fit in memory and
:mod:`~drot.optim.checks` a target that shows nothing; in the loop,
:class:`~drot.optim.guards.StepGuard` stops at a non-finite loss or parameter and warns when one
diverges; after it, :func:`~drot.optim.checks.run_report` says what the strategy actually did.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch

from .. import metrics
from ..render.backend import get_backend
from ..render.renderer import render
from ..scene.scene import Scene
from .checks import check_foreground, check_run_settings, run_report
from .guards import StepGuard
from .recording import Recorder
from .resources import check_memory
from .result import OptimizationResult
from .schedule import GradientSchedule
from .settings import OptimizeSettings
from .steps import RgbxyStep, StandardStep
from .targets import resolve_goal, start_values


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
        settings: :class:`OptimizeSettings`; keyword ``overrides`` replace single settings by their
            flat names (``lam=0.1``, ``strategy="standard"``, ...).
        initial: start values (name → tensor); default: drawn from the scene with ``settings.seed``.

    Returns:
        :class:`OptimizationResult`.

    Raises:
        ValueError: bad settings or target, e.g. a target that shows nothing in any view.
        MemoryError: the renders would not fit in the available memory (checked before rendering).
        drot.optim.OptimizationDiverged: the loss or a parameter became NaN or inf (it names the
            iteration and carries the history so far and the last finite values).
    """
    settings = dataclasses.replace(settings or OptimizeSettings(), **overrides)
    for name, why in settings.ignored():
        warnings.warn(f"drot.optimize: setting {name!r} is ignored: {why}", UserWarning, stacklevel=2)
    device, backend, goal, empty_views = prepare_run(scene, target, settings)
    if settings.multistart.starts > 1:
        from .multistart import optimize_starts

        return optimize_starts(scene, goal, settings, backend, empty_views, initial)
    schedule_settings = settings.schedule
    rng = np.random.default_rng(settings.seed)
    all_views = list(range(scene.num_views))
    start = start_values(scene, initial, settings.seed)
    params, free = leaf_parameters(scene, start, settings.fixed, device)
    optimizer = torch.optim.Adam(free, lr=schedule_settings.lr, betas=(0.9, 0.999))
    lr_schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=schedule_settings.lr_decay)
    schedule = GradientSchedule(schedule_settings.strategy, schedule_settings.iterations,
                                schedule_settings.rgbxy_fraction, settings.seed)
    rgbxy = RgbxyStep(scene, goal, settings, backend, rng) if schedule.strategy.uses_rgbxy else None
    standard = StandardStep(scene, goal, settings, backend, rng)
    guard = StepGuard(scene, start, goal.params, schedule_settings.lr, device)

    state = scene.evaluate(params)  # the one evaluation of iteration 0
    with torch.no_grad():
        initial_images = render(state, all_views, scene.resolution, backend).image
    recorder = Recorder(settings.recording, schedule_settings.iterations, goal, scene.resolution, scene.num_views,
                        backend, f"{scene.name} {schedule_settings.strategy} seed {settings.seed}")
    try:
        for it in range(schedule_settings.iterations):
            if schedule_settings.reset_at_switch and schedule.switches_to_standard(it):
                optimizer.state.clear()  # Adam re-initialises its moments lazily on the next step
            optimizer.zero_grad(set_to_none=True)
            loss, matching_seconds = rgbxy.loss(state, it) if schedule.uses_rgbxy(it) else (None, 0.0)
            mode = RgbxyStep.mode
            if loss is None:  # a standard iteration (or no view could be matched)
                mode = standard.mode
                loss = standard.loss(state, it)
            penalty = None if settings.regularizer is None else settings.regularizer(params)
            if penalty is not None:
                loss = loss + penalty
            guard.check_loss(it, loss, penalty, params, recorder.history)
            loss.backward()
            optimizer.step()
            guard.check_parameters(it, params, recorder.history)
            lr_now = optimizer.param_groups[0]["lr"]
            lr_schedule.step()
            recorder.stepped(it, mode, loss, lr_now, matching_seconds)
            last = it == schedule_settings.iterations - 1
            with torch.set_grad_enabled(not last):  # the next iteration's state; after the last, the final one
                state = scene.evaluate(params)
            recorder.complete(state)
        wall = recorder.elapsed()
    finally:
        recorder.close()

    with torch.no_grad():
        final_images = render(state, all_views, scene.resolution, backend).image
    by_mode, notes = run_report(recorder.history, schedule, empty_views)
    return OptimizationResult(
        scene_name=scene.name, settings=settings, parameters={k: v.detach().clone() for k, v in params.items()},
        initial_parameters={k: v.detach().clone() for k, v in start.items()},
        target_parameters=None if goal.params is None else {k: v.detach().clone() for k, v in goal.params.items()},
        history=recorder.history, initial_images=initial_images.cpu(), final_images=final_images.cpu(),
        target_images=goal.images.cpu(), vertex_mae=recorder.history[-1]["vertex_mae"],
        psnr=metrics.psnr(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        ssim=metrics.ssim(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        wall_seconds=wall, iterations_per_second=schedule_settings.iterations / wall,
        matching_seconds=recorder.matching_seconds, frames=recorder.frames,
        object_vertex_mae=object_errors(scene, state, goal), iterations_by_mode=by_mode, notes=notes,
        empty_target_views=empty_views,
    )


def prepare_run(scene: Scene, target, settings: OptimizeSettings):
    """What every run needs before its loop: ``(device, backend, goal, empty target views)``, after
    refusing settings, memory needs and targets that cannot work (and seeding torch)."""
    device = torch.device(settings.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but CUDA is not available in this torch build/machine")
    backend = get_backend(settings.backend, device)
    torch.manual_seed(settings.seed)
    check_run_settings(settings, scene)
    check_memory(scene.resolution, scene.num_views * settings.multistart.starts, int(scene.mesh.faces.shape[0]),
                 device, f"scene {scene.name!r}" + (f" ({settings.multistart.starts} starts: views x starts renders)"
                                                    if settings.multistart.starts > 1 else ""))
    goal = resolve_goal(scene, target, device, backend)
    empty_views = check_foreground(goal, scene, stacklevel=4)
    return device, backend, goal, empty_views


def leaf_parameters(scene: Scene, start: dict[str, torch.Tensor], fixed: tuple[str, ...], device: torch.device
                     ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """The optimised leaf tensors (name → tensor, from ``start``) and those Adam moves (not ``fixed``)."""
    unknown_fixed = set(fixed) - {p.name for p in scene.parameters}
    if unknown_fixed:
        raise ValueError(f"fixed names unknown parameter(s) {sorted(unknown_fixed)}; scene parameters: "
                         f"{[p.name for p in scene.parameters]}")
    params = {p.name: start[p.name].detach().clone().to(device).requires_grad_(p.name not in fixed)
              for p in scene.parameters}
    free = [v for k, v in params.items() if k not in fixed]
    if not free:
        raise ValueError("every parameter is fixed: nothing to optimise")
    return params, free


def object_errors(scene: Scene, state, goal) -> dict[str, float] | None:
    """Each object's final vertex error, for a scene of several objects with known target vertices."""
    if goal.vertices is None or not scene.objects:
        return None
    return {name: metrics.vertex_mae(state.vertices[a:b], goal.vertices[a:b])
            for name, (a, b) in scene.object_ranges().items()}

