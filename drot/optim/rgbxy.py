"""drot's matched-RGBXY loss as one object, for the optimisation loop and for loops you own.

:class:`RgbxyLoss` holds the target images, the matcher and the current matching. Given a
rasterization in nvdiffrast's layout (``rast_out``), clip-space positions, triangles and vertex
attributes, it

1. every ``match_interval + 1`` iterations freezes the barycentrics of the covered pixels (the
   point proxies), and matches their colours and positions to the target pixels (Sinkhorn optimal
   transport by default);
2. at every iteration re-evaluates the *same* proxies at the current positions and attributes and
   returns the mean transport cost to their matched targets — whose gradient is the RGBXY
   derivative of the paper (Eq. 15).

A loop of your own, with nvdiffrast (``drot.render.torch_dr`` has the same signatures)::

    loss_fn = drot.RgbxyLoss(target_images)                       # [B, H, W, 3|4], top row first
    for it in range(300):
        rast, _ = dr.rasterize(glctx, pos_clip, tri, resolution=(H, W))
        loss = loss_fn(rast, pos_clip, tri, vertex_colors)        # or attrs + shade=...
        optimizer.zero_grad(); loss.backward(); optimizer.step()

:func:`drot.optimize` uses the same object for its RGBXY iterations.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import torch

from ..matching import image_points, matcher_from_settings
from ..render.proxies import frozen_proxies
from .losses import rgbxy_costs
from .settings import MatchingSettings, unknown_names
from .targets import RANGE_TOLERANCE

Shader = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclasses.dataclass(frozen=True)
class _Current:
    """The matching in force: the frozen rasterization, its views and every proxy's matched target."""

    rast: torch.Tensor
    views: tuple[int, ...]
    matched: torch.Tensor
    iteration: int


class RgbxyLoss:
    """The matched-RGBXY (optimal-transport) loss on point proxies with frozen barycentrics.

    Args:
        target: float ``[B, H, W, 3]`` or ``[B, H, W, 4]`` target images in [0, 1], top row first
            (an alpha channel is the foreground mask), one per view; ``[H, W, C]`` for one view.
        mask: optional bool ``[B, H, W]`` foreground of the targets (overrides an alpha channel).
        settings: :class:`~drot.optim.MatchingSettings`; keyword ``overrides`` replace single fields
            (``lam``, ``blur``, ``matcher``, ``match_interval``, ``background``, ...).
        seed: seeds the matcher (Sinkhorn's subsampling).

    Attributes:
        settings: the resolved matching settings (``background`` is never ``"auto"`` here).
        views: views of the matching in force (empty before the first one).
    """

    def __init__(self, target: torch.Tensor, mask: torch.Tensor | None = None,
                 settings: MatchingSettings | None = None, *, seed: int = 0, **overrides: Any) -> None:
        valid = [f.name for f in dataclasses.fields(MatchingSettings)]
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise TypeError(f"RgbxyLoss got unknown matching setting(s) {unknown_names(unknown, valid)}; "
                            f"valid: {', '.join(valid)}")
        settings = dataclasses.replace(settings or MatchingSettings(), **overrides)
        images = torch.as_tensor(target)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] not in (3, 4) or not images.is_floating_point():
            raise ValueError(f"RgbxyLoss target must be float [B, H, W, 3 or 4] images, got "
                             f"{images.dtype} {tuple(images.shape)}")
        if not bool(torch.isfinite(images).all()):
            raise ValueError("RgbxyLoss target contains NaN or inf")
        low, high = float(images.min()), float(images.max())
        if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:  # as drot.optimize refuses them
            raise ValueError(f"RgbxyLoss target has values in [{low:g}, {high:g}]: float target images must be in "
                             f"[0, 1] (tolerance {RANGE_TOLERANCE}); divide 0-255 values by 255")
        images = images.clamp(0, 1)
        if images.shape[-1] == 4:
            if mask is None:
                mask = images[..., 3] > 0.5
            images = images[..., :3] * mask[..., None]
        if mask is not None and tuple(mask.shape) != tuple(images.shape[:3]):
            raise ValueError(f"RgbxyLoss mask must be [B, H, W] = {list(images.shape[:3])}, got {tuple(mask.shape)}")
        shown = (mask if mask is not None else images.amax(-1) > 1e-6).flatten(1).any(1)
        if not bool(shown.any()):  # any render that also shows nothing would "match" it perfectly
            why = ("its mask (or alpha) is empty in every view" if mask is not None else
                   "every target image is black; without a mask the foreground is the non-black pixels")
            raise ValueError(f"RgbxyLoss target shows nothing to match ({images.shape[0]} view(s)): {why}")
        background = settings.background
        if background == "auto":
            background = "exclude" if mask is not None else "include"
        if background == "exclude" and mask is None:
            mask = images.amax(-1) > 1e-6  # without a mask the black background defines the foreground
        self.settings = dataclasses.replace(settings, background=background)
        self.images, self.mask = images, mask
        self.resolution = tuple(images.shape[1:3])
        self.matcher = matcher_from_settings(settings.matcher, {
            **{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)},
            "seed": seed, "resolution": self.resolution})
        self._target_points: dict[int, Any] = {}
        self._current: _Current | None = None
        self._calls = 0

    def __repr__(self) -> str:
        s = self.settings
        b, h, w = self.images.shape[:3]
        return (f"RgbxyLoss({b} view{'s' if b != 1 else ''} of {h}x{w}, matcher {s.matcher!r}, lam {s.lam}, "
                f"blur {s.blur}, match_interval {s.match_interval}, background {s.background!r})")

    # ------------------------------------------------------------------ matching
    @property
    def views(self) -> tuple[int, ...]:
        return () if self._current is None else self._current.views

    @property
    def ready(self) -> bool:
        """Whether a matching is in force (:meth:`loss` can be called)."""
        return self._current is not None

    def due(self, iteration: int) -> bool:
        """Whether ``iteration`` needs a new matching (none yet, or ``match_interval`` iterations old)."""
        return self._current is None or iteration - self._current.iteration > self.settings.match_interval

    def has_foreground(self, view: int) -> bool:
        """Whether target ``view`` has anything to pull toward (always true when background is included)."""
        return self.settings.background != "exclude" or bool(self.mask[view].any())

    def target_points(self, view: int):
        """The RGBXY point set of target ``view`` (cached)."""
        if view not in self._target_points:
            mask = None if self.mask is None else self.mask[view]
            self._target_points[view] = image_points(self.images[view], mask, background=self.settings.background,
                                                     pool=self.settings.background_pool)[0]
        return self._target_points[view]

    def clear(self) -> None:
        """Drop the matching in force (the next call matches again)."""
        self._current = None

    def match(self, rast: torch.Tensor, views: Sequence[int] | None = None, image: torch.Tensor | None = None, *,
              clip: torch.Tensor | None = None, tri: torch.Tensor | None = None, attrs: torch.Tensor | None = None,
              shade: Shader | None = None, iteration: int = 0) -> bool:
        """Freeze the proxies of ``rast`` and match them to the targets of ``views``.

        Args:
            rast: float ``[B, H, W, 4]`` rasterization (nvdiffrast's ``rast_out``, bottom row first).
            views: target view of each batch entry (default ``0 … B-1``).
            image: the rendered colours ``[B, H, W, 3]`` (top row first) to match from; without it
                they are the proxies' colours from ``clip``, ``tri``, ``attrs`` and ``shade``.
            iteration: the iteration number (for ``match_interval``).

        Returns:
            False when nothing could be matched (no covered pixel; the matching is cleared).
        """
        views = tuple(range(rast.shape[0])) if views is None else tuple(int(v) for v in views)
        _check_geometry(rast, clip, tri, attrs)
        if len(views) != rast.shape[0]:
            raise ValueError(f"{len(views)} views given for a rasterization of {rast.shape[0]}")
        bad = [v for v in views if not 0 <= v < self.images.shape[0]]
        if bad:
            raise ValueError(f"views {bad} out of range: the target has {self.images.shape[0]} view(s)")
        if tuple(rast.shape[1:3]) != self.resolution:
            raise ValueError(f"rasterization is {tuple(rast.shape[1:3])} pixels but the target is {self.resolution}")
        self._current = None
        covered = (rast[..., 3] > 0).flip(1)  # top row first, like the images
        if not bool(covered.any()):
            return False
        with torch.no_grad():
            if image is None:
                if clip is None or tri is None or attrs is None:
                    raise ValueError("match() needs the rendered image, or clip, tri and attrs to shade the proxies")
                proxies = frozen_proxies(rast, tri, clip, attrs, shade)
                image = torch.zeros(*covered.shape, 3, dtype=proxies.rgb.dtype, device=proxies.rgb.device)
                image.view(-1, 3)[proxies.pixel_index] = proxies.rgb
            entries = [b for b in range(len(views)) if bool(covered[b].any())]
            pairs = [(image_points(image[b], covered[b], background=self.settings.background,
                                   pool=self.settings.background_pool)[0], self.target_points(views[b]))
                     for b in entries]
            # Every entry (views, or the starts of a multi-start run) in one batched solve where the
            # matcher has one (Sinkhorn; one entry is a batch of one).
            matchings = self.matcher.match_batch(pairs)
            # Foreground points come first, in the same row-major pixel order as the proxies.
            matched = [m.targets[: int(covered[b].sum())] for b, m in zip(entries, matchings)]
        self._current = _Current(rast.detach(), views, torch.cat(matched), int(iteration))
        return True

    # ---------------------------------------------------------------------- loss
    def _costs(self, clip: torch.Tensor, tri: torch.Tensor, attrs: torch.Tensor, shade: Shader | None):
        """Every matched proxy's transport cost ``[N]`` at the current positions and attributes, and
        its flat pixel index ``[N]`` over ``[B, H, W]``."""
        if self._current is None:
            raise RuntimeError("no matching in force: call match() first (or use the loss object as a function)")
        _check_geometry(self._current.rast, clip, tri, attrs)
        proxies = frozen_proxies(self._current.rast, tri, clip, attrs, shade)
        return rgbxy_costs(proxies.rgbxy, self._current.matched, self.settings.lam), proxies.pixel_index

    def loss(self, clip: torch.Tensor, tri: torch.Tensor, attrs: torch.Tensor,
             shade: Shader | None = None) -> torch.Tensor:
        """The mean transport cost of the matched proxies (over every view of the matching) at the
        current ``clip`` ``[B, V, 4]`` (the views of the matching, :attr:`views`) and ``attrs`` ``[V, C]``;
        differentiable in both."""
        costs, _ = self._costs(clip, tri, attrs, shade)
        return clip.sum() * 0.0 if costs.shape[0] == 0 else costs.mean()

    def entry_losses(self, clip: torch.Tensor, tri: torch.Tensor, attrs: torch.Tensor,
                     shade: Shader | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per batch entry: the mean transport cost of its proxies ``[B]`` (0 where it has none) and
        whether it has any ``[B]`` (bool). ``attrs`` may be ``[B, V, C]``: one mesh per entry, e.g. the
        starts of a multi-start run; each start's loss then depends on its own parameters only."""
        costs, pixel_index = self._costs(clip, tri, attrs, shade)
        rast = self._current.rast
        entry = pixel_index // (rast.shape[1] * rast.shape[2])
        count = torch.bincount(entry, minlength=rast.shape[0])
        total = costs.new_zeros(rast.shape[0]).index_add(0, entry, costs)
        return total / count.clamp_min(1).to(total.dtype), count > 0

    def __call__(self, rast: torch.Tensor, clip: torch.Tensor, tri: torch.Tensor, attrs: torch.Tensor, *,
                 views: Sequence[int] | None = None, shade: Shader | None = None, image: torch.Tensor | None = None,
                 iteration: int | None = None) -> torch.Tensor | None:
        """One iteration of your loop: match when due, then the loss (None when nothing is visible).

        ``rast`` ``[B, H, W, 4]``, ``clip`` ``[B, V, 4]`` (the same ``B`` views, in the order of
        ``views``; other views or another order than the matching in force's match again), ``tri`` ``[F, 3]``, ``attrs`` ``[V, C]`` (the colour is
        ``attrs[:, :3]`` unless ``shade(values, batch) -> rgb`` is given). ``iteration`` defaults to
        the number of earlier calls.
        """
        it = self._calls if iteration is None else int(iteration)
        self._calls += 1
        # Other views (or another order) than the matching's: its targets belong to other entries, so match again.
        moved = (views is not None and self._current is not None
                 and tuple(int(v) for v in views) != self._current.views)
        if (self.due(it) or moved) and not self.match(rast, views, image, clip=clip, tri=tri, attrs=attrs, shade=shade,
                                           iteration=it):
            return None
        return self.loss(clip, tri, attrs, shade)


def _check_geometry(rast: torch.Tensor, clip: torch.Tensor | None, tri: torch.Tensor | None,
                    attrs: torch.Tensor | None) -> None:
    """ValueError naming the argument when ``rast``, ``clip``, ``tri`` and ``attrs`` do not describe one
    mesh (checked here because the pure-torch proxies, without drot._C, fail with a bare IndexError)."""
    if rast.ndim != 4 or rast.shape[-1] != 4:
        raise ValueError(f"rast must be [B, H, W, 4] (nvdiffrast's rast_out), got {tuple(rast.shape)}")
    if clip is not None and (clip.ndim != 3 or clip.shape[0] != rast.shape[0] or clip.shape[-1] != 4):
        raise ValueError(f"clip must be [B, V, 4] with B = {rast.shape[0]} (the rasterization's batch), got "
                         f"{tuple(clip.shape)}")
    if tri is not None:
        if tri.ndim != 2 or tri.shape[1] != 3 or tri.is_floating_point():
            raise ValueError(f"tri must be integer [F, 3] triangle indices, got {tri.dtype} {tuple(tri.shape)}")
        faces = int(tri.shape[0])
        if rast.numel() and float(rast[..., 3].detach().max()) > faces:  # triangle ids are 1-based, 0 = empty
            raise ValueError(f"rast names triangle {int(rast[..., 3].detach().max())} but tri has {faces}: the rasterization "
                             f"is of another mesh")
        if clip is not None and tri.numel() and (int(tri.min()) < 0 or int(tri.max()) >= clip.shape[1]):
            raise ValueError(f"tri indices must be in [0, {clip.shape[1] - 1}] (clip has {clip.shape[1]} vertices), "
                             f"got [{int(tri.min())}, {int(tri.max())}]")
    if attrs is not None and clip is not None:
        if attrs.ndim not in (2, 3) or attrs.shape[-2] != clip.shape[1] or (
                attrs.ndim == 3 and attrs.shape[0] != clip.shape[0]):
            raise ValueError(f"attrs must be [V, C] or [B, V, C] with V = {clip.shape[1]} (clip's vertices) and "
                             f"B = {clip.shape[0]}, got {tuple(attrs.shape)}")
