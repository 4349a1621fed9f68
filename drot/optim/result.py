"""What :func:`drot.optimize` returns."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .settings import OptimizeSettings


@dataclasses.dataclass(frozen=True)
class StartRun:
    """One start of a multi-start run (:attr:`OptimizationResult.starts`).

    Attributes:
        index: the start's number (0 = the seeded random start of a single run).
        initial_parameters, parameters: name → value at the start, and where it stopped.
        history: its per-iteration records (as :attr:`OptimizationResult.history`).
        image_loss: its mean squared image error over every view when last ranked (at a halving,
            or at the end).
        stopped: None if it ran to the end, else why it stopped (dropped at a halving, diverged).
        jumps: ``(iteration, image loss before, after)`` of every look-alike jump it took
            (``jump_interval``, :mod:`drot.optim.jumps`).
    """

    index: int
    initial_parameters: dict[str, torch.Tensor]
    parameters: dict[str, torch.Tensor]
    history: list[dict[str, Any]]
    image_loss: float | None
    stopped: str | None = None
    jumps: tuple[tuple[int, float, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class OptimizationResult:
    """What :func:`drot.optimize` returns.

    Attributes:
        scene_name, settings: what was run.
        parameters: name → final value.
        initial_parameters: name → start value of start 0, the declared (seeded, or ``initial=``) start;
            where the best start began is ``starts[best_start].initial_parameters``.
        target_parameters: name → target value, or None when the target was given as images.
        history: one dict per iteration: ``iteration``, ``mode`` ("rgbxy"/"standard"/"softras"),
            ``loss``, ``vertex_mae`` (after the iteration's step; None without target parameters),
            ``lr``, ``seconds`` (since start), ``matching_seconds`` (time spent matching in this
            iteration); with ``eval_every`` also ``psnr`` (over every view; None between evaluations).
        initial_images, final_images, target_images: float ``[V, H, W, 3]`` renders of every view
            (initial: the declared start 0; final: the best start).
        vertex_mae: final mean absolute vertex error (None without target parameters).
        psnr, ssim: final image metrics over all views.
        wall_seconds: total optimisation time; ``iterations_per_second`` likewise.
        frames: animation frames ``[H, 2W + 2, 3]`` (current render | target, side by side), possibly empty.
        object_vertex_mae: for a scene of several objects with target parameters, each object's final
            mean absolute vertex error (``vertex_mae`` is the whole scene's); else None.
        iterations_by_mode: how many iterations ran in each mode (``{"rgbxy": 75, "standard": 25}``):
            what actually happened, which may differ from the strategy's plan (an RGBXY iteration
            with no view to match falls back to standard derivatives).
        notes: what the run could not do as asked, e.g. "strategy 'hybrid' ran no RGBXY iteration
            (...)" (each also issued as a warning), and target views without foreground.
        empty_target_views: views whose target shows no foreground (they cannot be matched).
        starts: every start (:class:`StartRun`, in start order; one for a single run); the
            result's own fields describe the best one, ``best_start``.
        best_start: the index of the start the result describes.
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
    object_vertex_mae: dict[str, float] | None = None
    iterations_by_mode: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    empty_target_views: tuple[int, ...] = ()
    starts: tuple[StartRun, ...] = ()
    best_start: int = 0

    def __repr__(self) -> str:
        # The dataclass repr would dump every image and history record (tens of thousands of characters).
        mae = "" if self.vertex_mae is None else f", vertex MAE {self.vertex_mae:.4g}"
        starts = f", best of {len(self.starts)} starts: {self.best_start}" if len(self.starts) > 1 else ""
        return (f"OptimizationResult(scene {self.scene_name!r}, {self.settings.schedule.strategy}, seed "
                f"{self.settings.seed}, {self.settings.schedule.iterations} iterations{mae}, PSNR {self.psnr:.2f} dB, "
                f"SSIM {self.ssim:.4f}{starts}, {self.wall_seconds:.1f} s; .summary() has every figure)")

    def summary(self) -> dict[str, Any]:
        """Scalar figures of the run (for tables, JSON and CSV)."""
        return {
            "scene": self.scene_name, "method": self.settings.schedule.strategy, "seed": self.settings.seed,
            "iterations": self.settings.schedule.iterations, "vertex_mae": self.vertex_mae, "psnr": self.psnr,
            "ssim": self.ssim, "it_per_s": self.iterations_per_second, "wall_s": self.wall_seconds,
            "matching_s": self.matching_seconds,
            "parameters": {k: v.tolist() for k, v in self.parameters.items()},
            "iterations_by_mode": dict(self.iterations_by_mode), "notes": list(self.notes),
            "empty_target_views": list(self.empty_target_views),
            **({} if len(self.starts) <= 1 else {"starts": len(self.starts), "best_start": self.best_start}),
            **({} if not any(r.jumps for r in self.starts) else
               {"jumps": {r.index: [list(j) for j in r.jumps] for r in self.starts if r.jumps}}),
            **({} if self.object_vertex_mae is None else {"object_vertex_mae": self.object_vertex_mae}),
        }
