"""The two kinds of iteration. Each step is handed the scene already evaluated at the current
parameters (a :class:`~drot.render.state.SceneState`) and returns a loss: the loop evaluates the
scene once per iteration, whatever the step renders, matches or records.

Both take the state with its start axis (``S`` starts; a single run is ``S = 1``) and return one
loss per start.

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
from ..render.renderer import render, state_shader, surface_attributes
from ..render.soft import SoftRasSettings, soft_render
from ..render.state import SceneState
from ..scene.kinds import KINDS
from ..scene.scene import Scene
from .losses import image_l2_loss
from .multiscale import ResolutionSchedule, downsample
from .rgbxy import RgbxyLoss
from .schedule import STRATEGIES
from .settings import OptimizeSettings
from .targets import Goal


class RgbxyStep:
    """RGBXY iterations: point proxies of one view matched to its target pixels, reused for K + 1 iterations.

    The state has a start axis (``S`` starts, ``S = 1`` for a single run): one view is drawn for the
    whole batch, rendered once for every start, matched with one batched solve, and every start's
    loss comes out of one point-proxy call."""

    mode = "rgbxy"

    def __init__(self, scene: Scene, goal: Goal, settings: OptimizeSettings, backend: RasterBackend,
                 rng: np.random.Generator) -> None:
        self.scene, self.backend, self.rng = scene, backend, rng
        self.rgbxy = RgbxyLoss(goal.images, goal.mask, settings.matching, seed=settings.seed)

    def _match_if_due(self, state: SceneState, it: int) -> float:
        """Every ``K + 1`` iterations: draw one view, render it for every start (one batch) and match
        (one batched solve); returns the seconds spent."""
        if not self.rgbxy.due(it):
            return 0.0
        t0 = time.perf_counter()
        view = int(self.rng.integers(self.scene.num_views))
        self.rgbxy.clear()
        if self.rgbxy.has_foreground(view):  # else the target object is outside this view: nothing to pull toward
            starts = torch.arange(state.starts, device=state.vertices.device)
            views = [view] * state.starts
            with torch.no_grad():
                frame = render(state, views, self.scene.resolution, self.backend, antialias=False, starts=starts)
            self.rgbxy.match(frame.rast, views, frame.image, iteration=it)  # no-op when the object left the view
        return time.perf_counter() - t0

    def losses(self, state: SceneState, it: int) -> tuple[torch.Tensor | None, torch.Tensor | None, float]:
        """Every start's OT loss ``[S]`` and whether it had proxies to match ``[S]`` (None, None when no
        view can be matched), and the seconds spent matching. The number of starts must stay the
        same between matchings (call :meth:`clear` after changing it)."""
        seconds = self._match_if_due(state, it)
        if not self.rgbxy.ready:
            return None, None, seconds
        device = state.vertices.device
        views = torch.as_tensor(self.rgbxy.views, dtype=torch.long, device=device)
        starts = torch.arange(state.starts, device=device)
        attrs = surface_attributes(state)
        losses, matched = self.rgbxy.entry_losses(state.clip_positions(views, starts), state.faces,
                                                  attrs[0] if state.starts == 1 else attrs,
                                                  state_shader(state, self.backend, views, starts))
        return losses, matched, seconds

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
        # A switching strategy's L2 iterations are its last ones: the schedule spans that phase.
        iterations = settings.schedule.iterations
        first = round(iterations * settings.schedule.rgbxy_fraction) if STRATEGIES[settings.schedule.strategy].switches else 0
        # Supersampling fixes coverage, so only runs that move geometry take it.
        moves = any(KINDS[p.kind].stage != "appearance" for p in scene.parameters if p.name not in settings.fixed)
        self.schedule = ResolutionSchedule(settings.l2.l2_schedule, iterations, scene.resolution,
                                           settings.l2.l2_start_resolution, first,
                                           settings.l2.l2_supersample if moves else 1)
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

    def losses(self, state: SceneState, it: int) -> torch.Tensor:
        """Every start's L2 loss ``[S]`` (the state has a start axis): one view drawn, one render of
        every start (soft strategies render start by start)."""
        view = int(self.rng.integers(self.scene.num_views))
        render_size, loss_size = self.schedule.at(it)
        images, _ = self._target(loss_size)
        if self.soft is not None:
            state = self._resized(state, render_size)
            return torch.stack([self._soft_loss(state.start(i), view, render_size, loss_size)
                                for i in range(state.starts)])
        starts = torch.arange(state.starts, device=state.vertices.device)
        if self.schedule.supersampled(it):
            return self._supersampled_loss(state, view, starts, render_size, loss_size)
        rendered = render(self._resized(state, render_size), [view] * state.starts, render_size, self.backend,
                          starts=starts).image
        return (downsample(rendered, loss_size) - images[view]).square().flatten(1).mean(1)

    def _supersampled_loss(self, state: SceneState, view: int, starts: torch.Tensor, render_size, loss_size):
        """The L2 loss ``[S]`` of the render ``I`` at ``render_size``, whose geometry takes the
        derivatives of a render at ``supersample`` times it: ``d loss = 2 (I - T) · dI_k``, ``I_k``
        the finer render area-averaged to the loss resolution; appearance keeps ``I``'s own.

        The residual ``I - T`` is the one the target's own image formation gives (zero at the
        target's parameters, so the steps stop there); the Jacobian is that of ``k²`` samples per
        pixel, which sees a silhouette move within a pixel where one sample sees a staircase.
        Appearance (colours, textures, materials) has no coverage to get wrong: its derivatives
        through the render at the resolution itself are exact."""
        k = self.schedule.supersample
        images, _ = self._target(loss_size)
        views = [view] * state.starts
        image = render(self._resized(state, render_size).detached("geometry"), views, render_size, self.backend,
                       starts=starts).image
        residual = downsample(image, loss_size) - images[view]
        fine_size = (render_size[0] * k, render_size[1] * k)
        fine = render(self._resized(state, fine_size).detached("appearance"), views, fine_size, self.backend,
                      starts=starts).image
        surrogate = (downsample(fine, loss_size) * 2 * residual.detach()).flatten(1).mean(1)
        return residual.square().flatten(1).mean(1) + (surrogate - surrogate.detach())

    def _soft_loss(self, state: SceneState, view: int, render_size, loss_size) -> torch.Tensor:
        """L2 on the soft image and on the soft silhouette (the SoftRas fitting loss)."""
        images, masks = self._target(loss_size)
        frame = soft_render(state, [view], render_size, self.backend, self.soft)
        silhouette = downsample(frame.silhouette[0][..., None], loss_size)
        return (image_l2_loss(downsample(frame.image[0], loss_size), images[view])
                + image_l2_loss(silhouette, masks[view][..., None]))
