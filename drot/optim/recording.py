"""The loop's record keeping: per-iteration history, image PSNR every N iterations, animation
frames and the progress bar — kept apart from the optimisation so the loop stays a loop.

A record is opened when an iteration's step is taken and completed with the scene state *after*
that step, which is the state the loop evaluates for the next iteration anyway (or the final one):
the vertex error and the PSNR cost no scene evaluation of their own. Animation frames keep only the
parameter values of their iterations; :meth:`Recorder.render_frames` renders them in batches once
the run is over, for the start whose animation is shown (a multi-start run does not render frames
of the starts it drops).
"""
from __future__ import annotations

import time
from typing import Any

import torch

from .. import metrics
from ..render.backend import RasterBackend
from ..render.renderer import render
from ..render.state import SceneState
from ..scene.scene import Scene
from .settings import RecordSettings
from .targets import Goal


class Recorder:
    """History, frames, PSNR and progress of one run.

    Args:
        recording: what to record; iterations: length of the run; label: the progress bar's text.
        goal: the target (images; vertices when known); resolution, num_views, backend: to render.
    """

    def __init__(self, recording: RecordSettings, iterations: int, goal: Goal, resolution: tuple[int, int],
                 num_views: int, backend: RasterBackend, label: str) -> None:
        self.settings, self.iterations, self.goal = recording, iterations, goal
        self.resolution, self.views, self.backend = resolution, list(range(num_views)), backend
        self.history: list[dict[str, Any]] = []
        self.frame_values: list[dict[str, torch.Tensor]] = []  # parameter values of the frame iterations
        self.frame_every = max(1, iterations // recording.record_frames) if recording.record_frames else 0
        self.eval_seconds = 0.0  # time spent on eval_every renders, left out of the timings
        self.matching_seconds = 0.0
        self.progress = None
        if recording.progress:
            from tqdm.auto import tqdm
            self.progress = tqdm(total=iterations, desc=label, leave=False, dynamic_ncols=True, mininterval=0.25,
                                 disable=None)  # None: no bar when stderr is not a terminal (logs, CI)
        self.t_start = time.perf_counter()
        self._open: dict[str, Any] | None = None

    def elapsed(self) -> float:
        """Seconds since the start, without the eval_every renders."""
        return time.perf_counter() - self.t_start - self.eval_seconds

    def stepped(self, it: int, mode: str, loss: torch.Tensor, lr: float, matching_seconds: float) -> None:
        """Open the record of iteration ``it``, whose step was just taken."""
        self.matching_seconds += matching_seconds
        self._open = {"iteration": it, "mode": mode, "loss": float(loss.detach()), "lr": lr,
                      "seconds": self.elapsed(), "matching_seconds": matching_seconds, "vertex_mae": None}

    def complete(self, state: SceneState, values: dict[str, torch.Tensor]) -> None:
        """Complete the open record with ``state``, the scene after that iteration's step, evaluated at
        parameter ``values`` (name → tensor, no start axis)."""
        record, self._open = self._open, None
        if record is None:
            return
        it = record["iteration"]
        last = it == self.iterations - 1
        with torch.no_grad():
            if self.goal.vertices is not None:
                record["vertex_mae"] = metrics.vertex_mae(state.vertices, self.goal.vertices)
            if self.settings.eval_every:
                record["psnr"] = None
                if it % self.settings.eval_every == 0 or last:
                    t_eval = time.perf_counter()
                    images = render(state, self.views, self.resolution, self.backend).image
                    record["psnr"] = metrics.psnr(images.clamp(0, 1), self.goal.images.clamp(0, 1))
                    self.eval_seconds += time.perf_counter() - t_eval
            if self.frame_every and (it % self.frame_every == 0 or last):
                self.frame_values.append({k: v.detach().clone() for k, v in values.items()})
        self.history.append(record)
        if self.progress is not None:
            self.progress.update(1)
            if record["vertex_mae"] is not None:
                self.progress.set_postfix(mae=f"{record['vertex_mae']:.4f}", loss=f"{record['loss']:.2e}")

    def render_frames(self, scene: Scene, batch: int = 8) -> list[torch.Tensor]:
        """The animation: for each frame iteration, the ``frame_view`` render beside its target
        (``[H, 2 W + 2, 3]`` on the CPU, a grey bar between), ``batch`` frames per render."""
        view, frames = self.settings.frame_view, []
        with torch.no_grad():
            for first in range(0, len(self.frame_values), batch):
                chunk = self.frame_values[first:first + batch]
                state = scene.evaluate({k: torch.stack([v[k] for v in chunk]) for k in chunk[0]})
                images = render(state, [view] * len(chunk), self.resolution, self.backend,
                                starts=list(range(len(chunk)))).image
                for img in images:
                    divider = torch.full_like(img[:, :2], 0.5)
                    frames.append(torch.cat([img, divider, self.goal.images[view]], 1).clamp(0, 1).cpu())
        return frames

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
