"""The two kinds of iteration. Each step is handed the scene already evaluated at the current
parameters (a :class:`~drot.render.state.SceneState`) and returns a loss: the loop evaluates the
scene once per iteration, whatever the step renders, matches or records.

* :class:`RgbxyStep` (paper Eq. 15): every ``K + 1`` iterations a view is drawn, rendered, its
  covered pixels become point proxies (frozen barycentrics) and are matched to the target pixels
  (:class:`~drot.optim.rgbxy.RgbxyLoss`); in between the same proxies and matching are reused.
* :class:`StandardStep` (Eq. 5): a random view rendered with antialiasing (or soft-rasterized for
  soft strategies) and compared per pixel (L2), at the resolutions of the L2 schedule.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from ..render.backend import RasterBackend
from ..render.batch import batch_attributes, batch_clip, batch_shader, render_states
from ..render.proxies import state_shader
from ..render.renderer import render, surface_attributes
from ..render.soft import SoftRasSettings, soft_render
from ..render.state import SceneState
from ..scene.scene import Scene
from .losses import image_l2_loss
from .multiscale import ResolutionSchedule, downsample
from .rgbxy import RgbxyLoss
from .schedule import STRATEGIES
from .settings import OptimizeSettings
from .targets import Goal


class RgbxyStep:
    """RGBXY iterations: point proxies of one view matched to its target pixels, reused for K + 1 iterations."""

    mode = "rgbxy"

    def __init__(self, scene: Scene, goal: Goal, settings: OptimizeSettings, backend: RasterBackend,
                 rng: np.random.Generator) -> None:
        self.scene, self.backend, self.rng = scene, backend, rng
        self.rgbxy = RgbxyLoss(goal.images, goal.mask, settings.matching, seed=settings.seed)

    def _match_if_due(self, states: list[SceneState], it: int) -> float:
        """Every ``K + 1`` iterations: draw one view, render it for every state (one batch) and match
        (one batched solve); returns the seconds spent."""
        if not self.rgbxy.due(it):
            return 0.0
        t0 = time.perf_counter()
        view = int(self.rng.integers(self.scene.num_views))
        self.rgbxy.clear()
        if self.rgbxy.has_foreground(view):  # else the target object is outside this view: nothing to pull toward
            views = [view] * len(states)
            with torch.no_grad():
                frame = (render(states[0], views, self.scene.resolution, self.backend, antialias=False)
                         if len(states) == 1 else
                         render_states(states, views, self.scene.resolution, self.backend, antialias=False))
            self.rgbxy.match(frame.rast, views, frame.image, iteration=it)  # no-op when the object left the view
        return time.perf_counter() - t0

    def loss(self, state: SceneState, it: int) -> tuple[torch.Tensor | None, float]:
        """The OT loss of iteration ``it`` (None when no view can be matched) and the seconds spent matching."""
        seconds = self._match_if_due([state], it)
        if not self.rgbxy.ready:
            return None, seconds
        views = torch.as_tensor(self.rgbxy.views, dtype=torch.long, device=state.vertices.device)
        loss = self.rgbxy.loss(state.clip_positions(views), state.faces, surface_attributes(state),
                               state_shader(state, self.backend, views))
        return loss, seconds

    def batch_losses(self, states: list[SceneState], it: int) -> tuple[list[torch.Tensor | None], float]:
        """The OT loss of every state of a multi-start batch (None for a state with nothing matched)
        and the seconds spent matching. One view is drawn for the whole batch, rendered as one batch
        and matched with one batched solve. The batch must keep its size between matchings
        (call :meth:`clear` after changing it)."""
        seconds = self._match_if_due(states, it)
        if not self.rgbxy.ready:
            return [None] * len(states), seconds
        views = list(self.rgbxy.views)
        losses, matched = self.rgbxy.entry_losses(batch_clip(states, views), states[0].faces, batch_attributes(states),
                                                  batch_shader(states, self.backend, views))
        return [losses[b] if matched[b] else None for b in range(len(states))], seconds

    def clear(self) -> None:
        """Drop the matching in force (the batch changed)."""
        self.rgbxy.clear()


class StandardStep:
    """Per-pixel L2 iterations: one random view, rendered (hard with antialiasing, or soft for soft
    strategies) at the render resolution of the L2 schedule and compared with the target at its
    loss resolution."""

    def __init__(self, scene: Scene, goal: Goal, settings: OptimizeSettings, backend: RasterBackend,
                 rng: np.random.Generator) -> None:
        self.scene, self.goal, self.backend, self.rng = scene, goal, backend, rng
        self.schedule = ResolutionSchedule(settings.l2.l2_schedule, settings.schedule.iterations, scene.resolution,
                                           settings.l2.l2_start_resolution)
        self.soft = (SoftRasSettings(settings.l2.soft_sigma, settings.l2.soft_gamma)
                     if STRATEGIES[settings.schedule.strategy].soft else None)
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
                    state = self._resized(self.scene.evaluate(goal.params), size)
                    frame = render(state, list(range(self.scene.num_views)), size, self.backend)
                images, masks = frame.image, frame.mask.to(frame.image.dtype)
            else:  # area-downsample the full-resolution target (and images given without parameters)
                full_images, full_masks = self._target(self.scene.resolution)
                images, masks = downsample(full_images, size), downsample(full_masks[..., None], size)[..., 0]
            self._targets[size] = (images, masks)
        return self._targets[size]

    def _resized(self, state: SceneState, size: tuple[int, int]) -> SceneState:
        """``state`` with its background image (if any) resized to a ``size`` render."""
        if state.background is not None and size != self.scene.resolution:
            state = dataclasses.replace(state, background=downsample(state.background, size))
        return state

    def loss(self, state: SceneState, it: int) -> torch.Tensor:
        view = int(self.rng.integers(self.scene.num_views))
        render_size, loss_size = self.schedule.at(it)
        state = self._resized(state, render_size)
        images, masks = self._target(loss_size)
        if self.soft is None:
            image = render(state, [view], render_size, self.backend).image[0]
            return image_l2_loss(downsample(image, loss_size), images[view])
        return self._soft_loss(state, view, render_size, loss_size)

    def _soft_loss(self, state: SceneState, view: int, render_size, loss_size) -> torch.Tensor:
        """L2 on the soft image and on the soft silhouette (the SoftRas fitting loss)."""
        images, masks = self._target(loss_size)
        frame = soft_render(state, [view], render_size, self.backend, self.soft)
        silhouette = downsample(frame.silhouette[0][..., None], loss_size)
        return (image_l2_loss(downsample(frame.image[0], loss_size), images[view])
                + image_l2_loss(silhouette, masks[view][..., None]))

    def batch_losses(self, states: list[SceneState], it: int) -> list[torch.Tensor]:
        """:meth:`loss` of every state of a multi-start batch: one view drawn, one batched render
        (soft strategies render state by state)."""
        view = int(self.rng.integers(self.scene.num_views))
        render_size, loss_size = self.schedule.at(it)
        states = [self._resized(s, render_size) for s in states]
        if self.soft is not None:
            return [self._soft_loss(state, view, render_size, loss_size) for state in states]
        images, _ = self._target(loss_size)
        rendered = render_states(states, [view] * len(states), render_size, self.backend).image
        return [image_l2_loss(downsample(image, loss_size), images[view]) for image in rendered]
