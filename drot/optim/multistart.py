"""Batched multi-start: ``drot.optimize(scene, target, starts=S)``.

A single start converges to the nearest minimum of the image loss; from far away (an object turned
~90° or ~180°, whose silhouette looks alike) that is often a wrong pose, for matched RGBXY and
per-pixel derivatives alike. Here ``S`` starts (:func:`~drot.optim.starts.start_set`: the seeded
random start plus a low-discrepancy set) are optimised together as one batch — per iteration one
batched render of the ``S`` current views (:func:`~drot.render.batch.render_states`), one batched
Sinkhorn solve of the ``S`` matchings, one backward pass — and thinned by *successive halving*:
every ``halving_interval`` of the iterations the starts are ranked by their image loss over every
view and the better ``keep_fraction`` go on, until one is left, so the whole run costs a small
multiple of a single one (``S = 8``, interval 0.25: 8·0.25 + 4·0.25 + 2·0.25 + 0.25 = 3.75 runs of
work, which the batching makes ~2.5 runs of wall time on a CPU).

Each start has its own parameters, Adam state and learning-rate schedule, and its loss depends on
its parameters only, so until the first halving every start follows the same path as a single run
from its start value with the same seed (the view draws are shared), up to float rounding
(``tests/test_multistart.py``). The result describes the best start (lowest image loss at the end)
and keeps every start's history (:attr:`OptimizationResult.starts`).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

from .. import metrics
from ..render.backend import RasterBackend
from ..render.batch import render_states
from ..render.renderer import render
from ..scene.scene import Scene
from .checks import run_report
from .guards import OptimizationDiverged, StepGuard
from .loop import leaf_parameters, object_errors
from .recording import Recorder
from .result import OptimizationResult, StartRun
from .schedule import GradientSchedule
from .settings import OptimizeSettings
from .starts import start_set
from .steps import RgbxyStep, StandardStep
from .targets import Goal, start_values

#: Renders per batch when ranking starts (starts x views), to bound memory.
RANK_CHUNK = 64


@dataclasses.dataclass
class _Start:
    index: int
    initial: dict[str, torch.Tensor]
    params: dict[str, torch.Tensor]
    optimizer: torch.optim.Optimizer
    lr_schedule: Any
    guard: StepGuard
    recorder: Recorder
    image_loss: float | None = None
    stopped: str | None = None
    diverged: OptimizationDiverged | None = None


def halving_iterations(iterations: int, starts: int, interval: float, keep: float) -> list[int]:
    """The iterations after whose step the starts are ranked and thinned (until one is left)."""
    if interval <= 0 or starts <= 1:
        return []
    out, alive, k = [], starts, 1
    while alive > 1:
        it = int(round(k * interval * iterations)) - 1
        if it >= iterations - 1:
            break
        out.append(max(it, 0))
        alive, k = max(1, math.ceil(alive * keep)), k + 1
    return sorted(set(out))


def image_losses(scene: Scene, states: list, goal: Goal, backend: RasterBackend) -> torch.Tensor:
    """Mean squared error over every view of each state's renders against the target images ``[A]``."""
    views = scene.num_views
    entries = [(s, v) for s in states for v in range(views)]
    out = []
    with torch.no_grad():
        for c in range(0, len(entries), RANK_CHUNK):
            chunk = entries[c: c + RANK_CHUNK]
            images = render_states([s for s, _ in chunk], [v for _, v in chunk], scene.resolution, backend).image
            out.append((images.clamp(0, 1) - goal.images[[v for _, v in chunk]].clamp(0, 1)).square().flatten(1).mean(1))
    return torch.cat(out).view(len(states), views).mean(1)


def optimize_starts(scene: Scene, goal: Goal, settings: OptimizeSettings, backend: RasterBackend,
                    empty_views: tuple[int, ...], initial: dict[str, torch.Tensor] | None) -> OptimizationResult:
    """The multi-start loop (called by :func:`drot.optimize` when ``settings.starts > 1``; ``initial``
    replaces start 0)."""
    ms, sched = settings.multistart, settings.schedule
    device = torch.device(settings.device)
    values = start_set(scene, settings.seed, ms.starts, ms.start_set)
    if initial:
        values[0] = start_values(scene, initial, settings.seed)
    unique = [v for i, v in enumerate(values)
              if not any(all(torch.equal(v[k], u[k]) for k in v) for u in values[:i])]
    repeated = () if len(unique) == len(values) else (
        f"{len(values) - len(unique)} of the {len(values)} starts repeated another (fixed start values) and were "
        f"not run",)
    values = unique
    rng = np.random.default_rng(settings.seed)
    schedule = GradientSchedule(sched.strategy, sched.iterations, sched.rgbxy_fraction, settings.seed)
    rgbxy = RgbxyStep(scene, goal, settings, backend, rng) if schedule.strategy.uses_rgbxy else None
    standard = StandardStep(scene, goal, settings, backend, rng)
    quiet = dataclasses.replace(settings.recording, progress=False)
    active = []
    for k, start in enumerate(values):
        params, free = leaf_parameters(scene, start, settings.fixed, device)
        optimizer = torch.optim.Adam(free, lr=sched.lr, betas=(0.9, 0.999))
        active.append(_Start(k, start, params, optimizer,
                             torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=sched.lr_decay),
                             StepGuard(scene, start, goal.params, sched.lr, device),
                             Recorder(quiet, sched.iterations, goal, scene.resolution, scene.num_views, backend, "")))
    runs = list(active)
    halvings = set(halving_iterations(sched.iterations, len(values), ms.halving_interval, ms.keep_fraction))
    progress = _progress(settings, scene)
    states = [scene.evaluate(r.params) for r in active]
    try:
        for it in range(sched.iterations):
            if sched.reset_at_switch and schedule.switches_to_standard(it):
                for r in active:
                    r.optimizer.state.clear()
            for r in active:
                r.optimizer.zero_grad(set_to_none=True)
            losses, seconds = rgbxy.batch_losses(states, it) if schedule.uses_rgbxy(it) else ([None] * len(active), 0.0)
            modes = [RgbxyStep.mode if loss is not None else standard.mode for loss in losses]
            need = [i for i, loss in enumerate(losses) if loss is None]
            for i, loss in zip(need, standard.batch_losses([states[i] for i in need], it) if need else []):
                losses[i] = loss
            kept = []
            for i, r in enumerate(active):
                penalty = None if settings.regularizer is None else settings.regularizer(r.params)
                if penalty is not None:
                    losses[i] = losses[i] + penalty
                if _guarded(r, it, lambda: r.guard.check_loss(it, losses[i], penalty, r.params, r.recorder.history)):
                    kept.append(i)
            if not kept:
                raise _last_divergence(runs)
            sum(losses[i] for i in kept).backward()
            survivors = []
            for i in kept:
                r = active[i]
                r.optimizer.step()
                if not _guarded(r, it, lambda: r.guard.check_parameters(it, r.params, r.recorder.history)):
                    continue
                lr_now = r.optimizer.param_groups[0]["lr"]
                r.lr_schedule.step()
                r.recorder.stepped(it, modes[i], losses[i], lr_now, seconds / len(active))
                survivors.append(r)
            if not survivors:
                raise _last_divergence(runs)
            if len(survivors) != len(active) and rgbxy is not None:
                rgbxy.clear()  # the batch changed: match again
            active = survivors
            last = it == sched.iterations - 1
            with torch.set_grad_enabled(not last):
                states = [scene.evaluate(r.params) for r in active]
            for r, state in zip(active, states):
                r.recorder.complete(state)
            if (it in halvings and len(active) > 1) or last:
                active, states = _rank(scene, goal, backend, active, states, it, ms.keep_fraction, last)
                if rgbxy is not None:
                    rgbxy.clear()
            if progress is not None:
                progress.update(1)
                progress.set_postfix(starts=len(active))
        # The PSNR evaluations of every start (eval_every) are left out, as in a single run.
        wall = runs[0].recorder.elapsed() + runs[0].recorder.eval_seconds - sum(r.recorder.eval_seconds for r in runs)
    finally:
        if progress is not None:
            progress.close()
    return _result(scene, goal, settings, backend, empty_views, runs, active[0], states[0], schedule, wall, repeated)


def _progress(settings: OptimizeSettings, scene: Scene):
    if not settings.recording.progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=settings.schedule.iterations, leave=False, dynamic_ncols=True, mininterval=0.25, disable=None,
                desc=f"{scene.name} {settings.schedule.strategy} seed {settings.seed} x{settings.multistart.starts} starts")


def _guarded(run: _Start, it: int, check) -> bool:
    """Run a guard check; a start that diverges is stopped (the others go on)."""
    try:
        check()
        return True
    except OptimizationDiverged as exc:
        run.stopped = f"diverged at iteration {it}: {exc}"
        run.diverged = exc
        return False


def _last_divergence(runs: list[_Start]) -> OptimizationDiverged:
    """Every start diverged: the exception of the last one to do so."""
    return max((r.diverged for r in runs if r.diverged is not None), key=lambda e: e.iteration)


def _rank(scene, goal, backend, active, states, it, keep, last):
    """Rank the starts by image loss; keep the better ``keep`` share (the best one only at the end)."""
    loss = image_losses(scene, states, goal, backend)
    for r, value in zip(active, loss.tolist()):
        r.image_loss = value
    order = torch.argsort(loss, stable=True).tolist()
    n_keep = max(1, math.ceil(len(active) * keep))
    if last:  # every start ran to the end: the best first
        return [active[i] for i in order], [states[i] for i in order]
    for i in order[n_keep:]:
        active[i].stopped = f"dropped at the halving after iteration {it} (image loss {loss[i]:.4g})"
    chosen = order[:n_keep]
    return [active[i] for i in chosen], [states[i] for i in chosen]


def _result(scene, goal, settings, backend, empty_views, runs, best, state, schedule, wall, repeated
            ) -> OptimizationResult:
    all_views = list(range(scene.num_views))
    with torch.no_grad():
        initial_images = render(scene.evaluate(best.initial), all_views, scene.resolution, backend).image
        final_images = render(state, all_views, scene.resolution, backend).image
    history = best.recorder.history
    by_mode, notes = run_report(history, schedule, empty_views, stacklevel=4)
    starts = tuple(StartRun(r.index, {k: v.detach().clone() for k, v in r.initial.items()},
                            {k: v.detach().clone() for k, v in r.params.items()}, r.recorder.history,
                            r.image_loss, r.stopped) for r in runs)
    return OptimizationResult(
        scene_name=scene.name, settings=settings, parameters={k: v.detach().clone() for k, v in best.params.items()},
        initial_parameters={k: v.detach().clone() for k, v in best.initial.items()},
        target_parameters=None if goal.params is None else {k: v.detach().clone() for k, v in goal.params.items()},
        history=history, initial_images=initial_images.cpu(), final_images=final_images.cpu(),
        target_images=goal.images.cpu(), vertex_mae=history[-1]["vertex_mae"],
        psnr=metrics.psnr(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        ssim=metrics.ssim(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
        wall_seconds=wall, iterations_per_second=settings.schedule.iterations / wall,
        matching_seconds=sum(r.recorder.matching_seconds for r in runs), frames=best.recorder.frames,
        object_vertex_mae=object_errors(scene, state, goal), iterations_by_mode=by_mode, notes=notes + repeated,
        empty_target_views=empty_views, starts=starts, best_start=best.index)
