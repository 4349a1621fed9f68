"""The optimisation loop shared by every application: ``drot.optimize(scene, target)``.

One loop for one start and for many: the parameters are held as stacked ``[S, *shape]`` tensors
(a single run is ``S = 1``), and per iteration the loop

1. evaluates the scene **once** for every start (``Scene.evaluate`` of the stacked values: one
   :class:`~drot.render.state.SceneState` with a start axis),
2. hands that state to the step the :class:`~drot.optim.schedule.GradientSchedule` picks —
   :class:`~drot.optim.steps.RgbxyStep` (matched RGBXY derivatives: one render of the drawn view
   for every start, one batched Sinkhorn solve, one point-proxy call) or
   :class:`~drot.optim.steps.StandardStep` (per-pixel L2) — which returns one loss per start,
3. takes one backward pass of their sum and one Adam step (Adam is elementwise, so one Adam over the
   stacked tensors is ``S`` independent Adams; lr 0.02 decayed ×0.999 per iteration, one view per
   iteration, as in the paper).

Each start's loss depends on its own parameters only, so every start follows the path a single
run from its start value would (up to float rounding). With several starts
(:class:`~drot.optim.settings.StartSettings`: ``starts=S``; start 0 is the seeded start of a
single run, the others a low-discrepancy set from :func:`~drot.optim.starts.start_set`) the batch
is thinned by *successive halving* (:mod:`~drot.optim.halving`): every ``halving_interval`` of the
run the starts are ranked by their image loss over every view and the better ``keep_fraction`` go
on (parameters and Adam moments thinned by index) until one is left. A start that diverges is
dropped; when every start has, the run raises :class:`~drot.optim.guards.OptimizationDiverged`.

Before the loop, :mod:`~drot.optim.resources` refuses a run that cannot fit in memory and
:mod:`~drot.optim.checks` a target that shows nothing; after it,
:func:`~drot.optim.checks.run_report` says what the strategy actually did.
"""
from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import torch

from .. import metrics
from ..render.backend import get_backend
from ..render.renderer import render
from ..scene.scene import Scene
from .checks import check_foreground, check_run_settings, run_report
from .coarse import CoarseProblem, coarse_resolution
from .observability import check_observable
from .guards import OptimizationDiverged, StepGuard
from .halving import halving_iterations, image_losses, keep_best
from .jumps import jump_iterations, propose_jumps
from .recording import Recorder
from .resources import check_memory
from .result import OptimizationResult, StartRun
from .schedule import GradientSchedule
from .settings import OptimizeSettings
from .starts import start_set
from .steps import RgbxyStep, StandardStep
from .targets import Goal, object_errors, resolve_goal, start_values
from .gradient_source import appearance_split, routed_backward
from .vector_adam import make_optimizer
from .smoothness import OffsetSmoothness
from .view_frame import view_frame


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
            flat names (``lam=0.1``, ``strategy="standard"``, ``starts=8``, ...).
        initial: start values (name → tensor) of start 0; default: drawn from the scene with ``settings.seed``.

    Returns:
        :class:`OptimizationResult` of the best start (with ``starts`` listing every start).

    Raises:
        ValueError: bad settings or target, e.g. a target that shows nothing in any view.
        MemoryError: the renders would not fit in the available memory (checked before rendering).
        drot.optim.OptimizationDiverged: the loss or a parameter became NaN or inf (every start's;
            it names the iteration and carries the history so far and the last finite values).
    """
    settings = (settings or OptimizeSettings()).replace(**overrides)
    for name, why in settings.ignored():
        warnings.warn(f"drot.optimize: setting {name!r} is ignored: {why}", UserWarning, stacklevel=2)
    device, backend, goal, empty_views = prepare_run(scene, target, settings)
    return _Run(scene, goal, settings, backend, empty_views, initial).run()


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
                                                    if settings.multistart.starts > 1 else ""),
                 step_scale=settings.l2.l2_supersample)
    goal = resolve_goal(scene, target, device, backend)
    empty_views = check_foreground(goal, scene, stacklevel=4)
    return device, backend, goal, empty_views


def stacked_parameters(scene: Scene, starts: list[dict[str, torch.Tensor]], fixed: tuple[str, ...],
                       device: torch.device) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """The optimised leaf tensors, name → ``[S, *shape]`` (start ``i`` of ``starts`` in row ``i``), and
    those Adam moves (not ``fixed``)."""
    unknown_fixed = set(fixed) - {p.name for p in scene.parameters}
    if unknown_fixed:
        raise ValueError(f"fixed names unknown parameter(s) {sorted(unknown_fixed)}; scene parameters: "
                         f"{[p.name for p in scene.parameters]}")
    params = {p.name: torch.stack([s[p.name].detach() for s in starts]).to(device).requires_grad_(p.name not in fixed)
              for p in scene.parameters}
    free = [v for k, v in params.items() if k not in fixed]
    if not free:
        raise ValueError("every parameter is fixed: nothing to optimise")
    return params, free


@dataclasses.dataclass
class _Start:
    """What the loop keeps of one start besides its row of the stacked parameters."""

    index: int
    initial: dict[str, torch.Tensor]
    guard: StepGuard
    recorder: Recorder
    image_loss: float | None = None
    stopped: str | None = None
    diverged: OptimizationDiverged | None = None
    final: dict[str, torch.Tensor] | None = None
    jumps: list[tuple[int, float, float]] = dataclasses.field(default_factory=list)


class _Run:
    """One call of :func:`optimize`: the starts, their stacked parameters and Adam, and the loop."""

    def __init__(self, scene: Scene, goal: Goal, settings: OptimizeSettings, backend, empty_views, initial) -> None:
        self.scene, self.goal, self.settings, self.backend, self.empty_views = scene, goal, settings, backend, empty_views
        ms, sched = settings.multistart, settings.schedule
        self.device = torch.device(settings.device)
        values = start_set(scene, settings.seed, ms.starts, ms.start_set) if ms.starts > 1 else \
            [start_values(scene, initial, settings.seed)]
        if initial and ms.starts > 1:
            values[0] = start_values(scene, initial, settings.seed)
        unique = [v for i, v in enumerate(values)
                  if not any(all(torch.equal(v[k], u[k]) for k in v) for u in values[:i])]
        self.repeated = () if len(unique) == len(values) else (
            f"{len(values) - len(unique)} of the {len(values)} starts repeated another (fixed start values) and "
            f"were not run",)
        check_observable(scene, unique[0], settings.fixed, backend, self.device)  # before any iteration
        self.rng = np.random.default_rng(settings.seed)
        self.schedule = GradientSchedule(sched.strategy, sched.iterations, sched.rgbxy_fraction, settings.seed)
        self.rgbxy = RgbxyStep(scene, goal, settings, backend, self.rng) if self.schedule.strategy.uses_rgbxy else None
        self.standard = StandardStep(scene, goal, settings, backend, self.rng)
        self.halvings = set(halving_iterations(sched.iterations, len(unique), ms.halving_interval, ms.keep_fraction))
        self.jumps = set(jump_iterations(sched.iterations, ms.jump_interval, self.schedule.switch_at - 1
                                         if self.schedule.strategy.switches else sched.iterations - 1))
        self.rgbxy_moves, self.appearance_names = appearance_split(
            scene, settings.fixed, sched.appearance_gradients == "standard" and self.schedule.strategy.uses_rgbxy)
        self._appearance_losses = None
        # Before the last halving the starts only have to reach their basins: those phases run at
        # coarse_scale of the resolution (their own steps, sharing the view draws' generator).
        size = coarse_resolution(scene.resolution, ms.coarse_scale) if self.halvings else None
        self.coarse = None if size is None else CoarseProblem.of(scene, goal, size)
        self.coarse_rgbxy = self.coarse_standard = None
        if self.coarse is not None:
            self.coarse_rgbxy = RgbxyStep(self.coarse.scene, self.coarse.goal, settings, backend, self.rng) \
                if self.rgbxy is not None else None
            self.coarse_standard = StandardStep(self.coarse.scene, self.coarse.goal, settings, backend, self.rng)
        single = len(unique) == 1 and ms.starts == 1
        recording = settings.recording if single else dataclasses.replace(settings.recording, progress=False)
        label = f"{scene.name} {sched.strategy} seed {settings.seed}"
        self.active = [_Start(k, v, StepGuard(scene, v, goal.params, sched.lr, self.device),
                              Recorder(recording, sched.iterations, goal, scene.resolution, scene.num_views, backend,
                                       label)) for k, v in enumerate(unique)]
        self.runs = list(self.active)
        self.params, free = stacked_parameters(scene, unique, settings.fixed, self.device)
        # translation_frame="view": the optimiser's translations are (u, v, log depth) in view 0's frame
        self.frame = view_frame(scene, unique[0], settings.fixed) if sched.translation_frame == "view" else None
        if self.frame is not None:
            for k in self.frame.names:
                self.params[k] = self.frame.to_internal(k, self.params[k].detach()).requires_grad_(True)
        self.optimizer = self._optimizer(self.params, sched.lr)
        self.smoothness = OffsetSmoothness(scene, settings.fixed, sched.offset_smoothness)  # falsy when off
        self.progress = None
        if not single and settings.recording.progress:
            from tqdm.auto import tqdm
            self.progress = tqdm(total=sched.iterations, leave=False, dynamic_ncols=True, mininterval=0.25,
                                 disable=None, desc=f"{label} x{ms.starts} starts")

    # ------------------------------------------------------------------ the loop
    def run(self) -> OptimizationResult:
        sched, settings = self.settings.schedule, self.settings
        state = self.scene.evaluate(self.values())  # the one evaluation of iteration 0
        views = list(range(self.scene.num_views))
        with torch.no_grad():  # the declared start (start 0) as the result shows it
            self.initial_images = render(state, views, self.scene.resolution, self.backend,
                                         starts=[0] * len(views)).image.cpu()
        t_start = time.perf_counter()
        try:
            for it in range(sched.iterations):
                if sched.reset_at_switch and self.rgbxy_moves and self.schedule.switches_to_standard(it):
                    self.optimizer.state.clear()  # Adam re-initialises its moments lazily on the next step
                self.optimizer.zero_grad(set_to_none=True)
                losses, modes, seconds = self._losses(state, it)
                kept = self._check_losses(it, losses)
                self._backward(sum(losses[i] for i in kept), kept)
                self.optimizer.step()
                lr_now = self.optimizer.param_groups[0]["lr"]
                for group in self.optimizer.param_groups:  # ExponentialLR's update, for every start at once
                    group["lr"] = group["lr"] * sched.lr_decay
                kept = self._check_parameters(it, kept)
                for i in kept:
                    self.active[i].recorder.stepped(it, modes[i], losses[i], lr_now, seconds / len(self.active))
                if len(kept) != len(self.active):
                    self._keep(kept, f"diverged at iteration {it}")
                last = it == sched.iterations - 1
                with torch.set_grad_enabled(not last):  # the next iteration's state; after the last, the final one
                    state = self.scene.evaluate(self.values())
                values = self.values(detach=True)
                for i, r in enumerate(self.active):
                    r.recorder.complete(state.start(i), {k: v[i] for k, v in values.items()})
                if it in self.jumps and not last:
                    state = self._jump(state, it)
                if (it in self.halvings and len(self.active) > 1) or last:
                    state = self._rank(state, it, last)
                if self.progress is not None:
                    self.progress.update(1)
                    self.progress.set_postfix(starts=len(self.active))
            # The eval_every renders of every start are left out of the wall time.
            wall = time.perf_counter() - t_start - sum(r.recorder.eval_seconds for r in self.runs)
        finally:
            for r in self.runs:
                r.recorder.close()
            if self.progress is not None:
                self.progress.close()
        return self._result(state.start(0), wall)

    def _coarse_phase(self, it: int) -> bool:
        """Whether iteration ``it`` runs at the coarse resolution (up to the last halving)."""
        return self.coarse is not None and it <= max(self.halvings)

    def _losses(self, state, it: int):
        """Every active start's loss (a list of scalars), its mode, and the seconds spent matching."""
        n = len(self.active)
        rgbxy, standard_step = self.rgbxy, self.standard
        if self._coarse_phase(it):
            rgbxy, standard_step, state = self.coarse_rgbxy, self.coarse_standard, self.coarse.state(state)
        self._appearance_losses = None
        losses, matched, seconds = (rgbxy.losses(state, it) if self.schedule.uses_rgbxy(it) and self.rgbxy_moves
                                    else (None, None, 0.0))
        if losses is None:
            standard = standard_step.losses(state, it)
            out, modes = list(standard.unbind(0)), [standard_step.mode] * n
        else:
            out, modes = list(losses.unbind(0)), [RgbxyStep.mode] * n
            standard = None
            if not bool(matched.all()):  # a start with nothing matched takes a standard step
                standard = standard_step.losses(state, it)
                for i in (~matched).nonzero().squeeze(1).tolist():
                    out[i], modes[i] = standard[i], standard_step.mode
            if self.appearance_names:  # appearance_gradients="standard": those parameters take L2's
                standard = standard_step.losses(state, it) if standard is None else standard
                self._appearance_losses = list(standard.unbind(0))
        if self.smoothness:  # offset_smoothness: every start's prior in one batched call
            out = [o + prior.to(o.dtype) for o, prior in zip(out, self.smoothness(self.values()))]
        regularizer = self.settings.regularizer
        if regularizer is not None:
            self._penalties = []
            values = self.values()
            for i in range(n):
                penalty = regularizer({k: v[i] for k, v in values.items()})
                self._penalties.append(penalty)
                if penalty is not None:
                    out[i] = out[i] + penalty
        return out, modes, seconds

    def _check_losses(self, it: int, losses) -> list[int]:
        kept, stacked = [], self.values(detach=True)
        for i, r in enumerate(self.active):
            penalty = self._penalties[i] if self.settings.regularizer is not None else None
            values = {k: v[i] for k, v in stacked.items()}
            if self._guarded(r, it, lambda: r.guard.check_loss(it, losses[i], penalty, values, r.recorder.history)):
                kept.append(i)
        if not kept:
            raise self._last_divergence()
        return kept

    def _check_parameters(self, it: int, kept: list[int]) -> list[int]:
        survivors, stacked = [], self.values(detach=True)
        for i in kept:
            r = self.active[i]
            values = {k: v[i] for k, v in stacked.items()}
            grads = {k: None if v.grad is None else v.grad[i] for k, v in self.params.items()}
            if self._guarded(r, it, lambda: r.guard.check_parameters(it, values, r.recorder.history, grads)):
                survivors.append(i)
        if not survivors:
            raise self._last_divergence()
        return survivors

    @staticmethod
    def _guarded(run: _Start, it: int, check) -> bool:
        """Run a guard check; a start that diverges is stopped (the others go on)."""
        try:
            check()
            return True
        except OptimizationDiverged as exc:
            run.stopped = f"diverged at iteration {it}: {exc}"
            run.diverged = exc
            return False

    def _last_divergence(self) -> OptimizationDiverged:
        """Every start diverged: the exception of the last one to do so."""
        return max((r.diverged for r in self.runs if r.diverged is not None), key=lambda e: e.iteration)

    def values(self, detach: bool = False) -> dict[str, torch.Tensor]:
        """The scene's values ``[S, *shape]`` of the optimised tensors (translations from view 0's frame)."""
        out = {k: (v.detach() if detach else v) for k, v in self.params.items()}
        if self.frame is not None:
            for k in self.frame.names:
                out[k] = self.frame.to_world(k, out[k])
        return out

    def _optimizer(self, params: dict[str, torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return make_optimizer(self.settings.schedule.optimizer, self.scene, params, lr)

    def _backward(self, total: torch.Tensor, kept: list[int]) -> None:
        appearance = None if self._appearance_losses is None else sum(self._appearance_losses[i] for i in kept)
        routed_backward(total, appearance, self.params, self.appearance_names)

    # ------------------------------------------------------------------ jumps
    def _jump(self, state, it: int):
        """Move every start to its best look-alike proposal (:mod:`~drot.optim.jumps`) where that is lower."""
        scene, goal = (self.coarse.scene, self.coarse.goal) if self._coarse_phase(it) else (self.scene, self.goal)
        values = self.values(detach=True)
        jumps, current, best = propose_jumps(scene, goal, self.backend, values, self.settings.fixed)
        if not jumps:
            return state
        with torch.no_grad():
            for s, new in jumps.items():
                self.active[s].jumps.append((it, float(current[s]), float(best[s])))
                for k, v in self.params.items():
                    v[s] = new[k] if self.frame is None or k not in self.frame.names else self.frame.to_internal(k, new[k])
                    moments = self.optimizer.state.get(v)
                    if moments and "exp_avg" in moments:
                        moments["exp_avg"][s] = 0  # no momentum carried into the new pose
        for step in filter(None, (self.rgbxy, self.coarse_rgbxy)):
            step.clear()  # the proxies were frozen on the old pose: match again
        return self.scene.evaluate(self.values())

    # ------------------------------------------------------------------ thinning
    def _keep(self, rows: list[int], why: str | None = None) -> None:
        """Keep the starts of ``rows`` (in that order): their rows of the parameters and of Adam's moments."""
        stacked = self.values(detach=True)
        for i, r in enumerate(self.active):
            if i not in rows:
                r.final = {k: v[i].clone() for k, v in stacked.items()}
                if r.stopped is None and why is not None:
                    r.stopped = why
        index = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        old = self.optimizer
        params = {}
        for k, v in self.params.items():
            params[k] = v.detach()[index].clone().requires_grad_(v.requires_grad)
        free = [params[k] for k, v in self.params.items() if v.requires_grad]
        optimizer = self._optimizer(params, old.param_groups[0]["lr"])
        for old_p, new_p in zip([v for v in self.params.values() if v.requires_grad], free):
            state = old.state.get(old_p)
            if state:
                optimizer.state[new_p] = {key: (value[index].clone() if torch.is_tensor(value) and value.ndim
                                                else value) for key, value in state.items()}
        self.params, self.optimizer = params, optimizer
        self.active = [self.active[i] for i in rows]
        for step in (self.rgbxy, self.coarse_rgbxy):
            if step is not None:
                step.clear()  # the batch changed: match again

    def _rank(self, state, it: int, last: bool):
        """Rank the starts by image loss; keep the better share (at the end: every start, the best first)."""
        if self._coarse_phase(it):  # rank where the phase ran: at the coarse resolution
            loss = image_losses(self.coarse.scene, self.coarse.state(state), self.coarse.goal, self.backend)
        else:
            loss = image_losses(self.scene, state, self.goal, self.backend)
        for r, value in zip(self.active, loss.tolist()):
            r.image_loss = value
        order, n_keep = keep_best(loss, self.settings.multistart.keep_fraction, last)
        if last:
            if order != list(range(len(order))):
                self._keep(order)
                with torch.no_grad():
                    state = self.scene.evaluate(self.values())
            return state
        for i in order[n_keep:]:
            self.active[i].stopped = f"dropped at the halving after iteration {it} (image loss {loss[i]:.4g})"
        self._keep(order[:n_keep])
        return self.scene.evaluate(self.values())

    # ------------------------------------------------------------------ the result
    def _result(self, state, wall: float) -> OptimizationResult:
        scene, goal, settings, backend = self.scene, self.goal, self.settings, self.backend
        best = self.active[0]
        stacked = self.values(detach=True)
        for i, r in enumerate(self.active):
            r.final = {k: v[i].clone() for k, v in stacked.items()}
        declared = self.runs[0]
        with torch.no_grad():
            final_images = render(state, list(range(scene.num_views)), scene.resolution, backend).image
        history = best.recorder.history
        by_mode, notes = run_report(history, self.schedule, self.empty_views, stacklevel=5,
                                     rgbxy_moves=self.rgbxy_moves)
        starts = tuple(StartRun(r.index, {k: v.detach().clone() for k, v in r.initial.items()}, r.final,
                                r.recorder.history, r.image_loss, r.stopped, tuple(r.jumps)) for r in self.runs)
        return OptimizationResult(
            scene_name=scene.name, settings=settings, parameters=dict(best.final),
            initial_parameters={k: v.detach().clone() for k, v in declared.initial.items()},
            target_parameters=None if goal.params is None else {k: v.detach().clone() for k, v in goal.params.items()},
            history=history, initial_images=self.initial_images, final_images=final_images.cpu(),
            target_images=goal.images.cpu(), vertex_mae=history[-1]["vertex_mae"],
            psnr=metrics.psnr(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
            ssim=metrics.ssim(final_images.clamp(0, 1), goal.images.clamp(0, 1)),
            wall_seconds=wall, iterations_per_second=settings.schedule.iterations / wall,
            matching_seconds=sum(r.recorder.matching_seconds for r in self.runs), frames=best.recorder.render_frames(scene),
            object_vertex_mae=object_errors(scene, state, goal), iterations_by_mode=by_mode,
            notes=notes + self.repeated, empty_target_views=self.empty_views, starts=starts, best_start=best.index)
