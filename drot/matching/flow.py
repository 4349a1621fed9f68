"""Matching by classical dense optical flow, the paper's Table 1 (a) "op. flow" alternative to OT.

The paper compares against a learned flow network; drot uses a classical one, OpenCV's
Farnebäck flow (``cv2.calcOpticalFlowFarneback``, an optional dependency:
``pip install "drot[flow]"``, i.e. ``opencv-python-headless``). The flow is computed from the
rendered image to the target image, and every rendered pixel is matched to where the flow
sends it: target position ``p + flow(p)`` and the target colour there (bilinear). Like any local
flow it follows motions of up to about the object's size; from far starts (no overlap) it has
nothing to follow. Its matched colours are not chosen for similarity as OT's are, so with λ > 0 the
colour term can pull against the position term (e.g. colours sampled across a silhouette).

A matcher receives point sets, not images: both images are rebuilt on the ``H x W`` grid the
points came from (:func:`~drot.matching.pixels.image_points` puts pixel ``(i, j)`` at
``((j + 0.5) / W, (i + 0.5) / H)``), which is exact for drot's renders (black background;
pooled background points of ``background="include"`` paint their block by nearest point).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .base import Matcher, PointSet, check_lam, compute_dtype, embed, nearest_neighbor
from .registry import register_matcher

__all__ = ["FlowMatcher", "points_to_image", "farneback_flow"]

# Rec. 601 luma: Farnebäck works on one grey channel.
_LUMA = (0.299, 0.587, 0.114)


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "the optical-flow matcher (matcher='flow') needs OpenCV, which is not installed: "
            "pip install \"drot[flow]\"  (or: pip install opencv-python-headless)") from exc
    return cv2


def points_to_image(points: PointSet, resolution: tuple[int, int]) -> Tensor:
    """Rebuild the ``H x W`` RGB image a point set was made from.

    Args:
        points: RGBXY points from :func:`~drot.matching.pixels.image_points` of an ``H x W`` image.
        resolution: ``(H, W)``.

    Returns:
        float tensor ``[H, W, 3]`` (points' dtype and device): every point that sits on a pixel
        centre paints that pixel; the remaining pixels take the colour of the nearest other point
        (pooled background blocks), or stay black when there is none (foreground-only sets).
    """
    h, w = resolution
    xy = points.points[:, 3:]
    col = torch.round(xy[:, 0] * w - 0.5)
    row = torch.round(xy[:, 1] * h - 0.5)
    centre = torch.stack([(col + 0.5) / w, (row + 0.5) / h], 1)
    on_grid = ((xy - centre).abs().amax(1) < 1e-4) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    image = torch.zeros(h * w, 3, dtype=points.dtype, device=points.device)
    painted = torch.zeros(h * w, dtype=torch.bool, device=points.device)
    flat = (row * w + col).long()[on_grid]
    image[flat] = points.points[on_grid, :3]
    painted[flat] = True
    others = points.points[~on_grid]
    if others.shape[0] and not bool(painted.all()):
        holes = (~painted).nonzero().squeeze(1)
        ys = (holes // w).to(points.dtype).add_(0.5).div_(h)
        xs = (holes % w).to(points.dtype).add_(0.5).div_(w)
        dt = compute_dtype(points.dtype)
        nn = nearest_neighbor(torch.stack([xs, ys], 1).to(dt), others[:, 3:].to(dt))
        image[holes] = others[nn, :3]
    return image.reshape(h, w, 3)


def farneback_flow(source: Tensor, target: Tensor, levels: int | None = None, pyr_scale: float = 0.5,
                   winsize: int = 15, iterations: int = 5, poly_n: int = 7, poly_sigma: float = 1.5) -> np.ndarray:
    """Dense Farnebäck optical flow from ``source`` to ``target`` (OpenCV).

    Args:
        source, target: float ``[H, W, 3]`` images in [0, 1] (any device).
        levels: pyramid levels (``None``: down to about 8 pixels, so that large motions are caught).
        pyr_scale, winsize, iterations, poly_n, poly_sigma: ``cv2.calcOpticalFlowFarneback``'s.

    Returns:
        float32 array ``[H, W, 2]``: ``(dx, dy)`` in pixels (x right, y down) with
        ``source[i, j] ≈ target[i + dy, j + dx]``.
    """
    cv2 = _cv2()
    h, w = source.shape[:2]
    if levels is None:
        levels = max(1, 1 + int(math.floor(math.log(max(min(h, w), 8) / 8.0) / math.log(1.0 / pyr_scale))))
    luma = torch.tensor(_LUMA, dtype=torch.float32)

    def grey(img: Tensor) -> np.ndarray:
        # float32 on a 0-255 scale: no 8-bit rounding of the antialiased edges that carry sub-pixel motion
        g = (img.detach().float().cpu().clamp(0, 1) @ luma) * 255.0
        return np.ascontiguousarray(g.numpy())

    flow = cv2.calcOpticalFlowFarneback(grey(source), grey(target), None, pyr_scale, int(levels), int(winsize),
                                        int(iterations), int(poly_n), float(poly_sigma), 0)
    return np.ascontiguousarray(flow, dtype=np.float32)


def _bilinear(image: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Sample ``image`` ``[H, W, C]`` at pixel coordinates ``x``, ``y`` ``[N]`` (pixel centres at
    integers), clamped to the border. Returns ``[N, C]``."""
    h, w = image.shape[:2]
    x = x.clamp(0, w - 1)
    y = y.clamp(0, h - 1)
    x0, y0 = x.floor().long().clamp(max=w - 2 if w > 1 else 0), y.floor().long().clamp(max=h - 2 if h > 1 else 0)
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@register_matcher("flow")
class FlowMatcher(Matcher):
    """Match every rendered pixel to where dense optical flow sends it in the target image.

    Args:
        resolution: ``(H, W)`` of the images the point sets come from (the render resolution).
        lam: colour weight λ of Eq. (13), only used for the reported ``cost``.
        levels, pyr_scale, winsize, iterations, poly_n, poly_sigma: Farnebäck parameters, see
            :func:`farneback_flow`.

    ``match`` returns, for source point ``i`` at pixel ``p_i``, the target
    ``(T(p_i + f(p_i)), (p_i + f(p_i)) / (W, H))``: colour of the target image (bilinear) and
    position, normalised like the points. ``plan()`` is the one-hot pairing with the target
    point nearest (in XY) to the flowed position: not a transport plan (column sums are not
    the target masses), like :class:`~drot.matching.identity.IdentityMatcher`'s.

    Raises:
        ImportError: at construction, when OpenCV is missing (with the command to install it).
    """

    options = {"lam": "lam", "resolution": "resolution"}  # the flow runs on the images the points came from

    def __init__(self, resolution: tuple[int, int] | int, lam: float = 0.5, levels: int | None = None,
                 pyr_scale: float = 0.5, winsize: int = 15, iterations: int = 5, poly_n: int = 7,
                 poly_sigma: float = 1.5) -> None:
        _cv2()  # fail now, with the install command, rather than at the first matching
        if isinstance(resolution, int):
            resolution = (resolution, resolution)
        self.resolution = tuple(int(r) for r in resolution)
        if len(self.resolution) != 2 or min(self.resolution) < 2:
            raise ValueError(f"resolution must be (H, W) with H, W >= 2, got {resolution!r}")
        self.lam = check_lam(lam)
        if not 0 < pyr_scale < 1:
            raise ValueError(f"pyr_scale must be in (0, 1), got {pyr_scale}")
        if winsize < 3 or iterations < 1 or poly_n not in (5, 7) or (levels is not None and levels < 1):
            raise ValueError("Farnebäck parameters: winsize >= 3, iterations >= 1, poly_n 5 or 7, levels >= 1")
        self.levels, self.pyr_scale, self.winsize = levels, pyr_scale, winsize
        self.iterations, self.poly_n, self.poly_sigma = iterations, poly_n, poly_sigma

    def _flowed(self, source: PointSet, target: PointSet) -> tuple[Tensor, Tensor, dict[str, Any]]:
        """Flowed pixel coordinates ``[N, 2]`` of the source points and the target image ``[H, W, 3]``."""
        h, w = self.resolution
        src_img = points_to_image(source, self.resolution)
        tgt_img = points_to_image(target, self.resolution)
        flow = farneback_flow(src_img, tgt_img, self.levels, self.pyr_scale, self.winsize, self.iterations,
                              self.poly_n, self.poly_sigma)
        flow_t = torch.from_numpy(flow).to(device=source.device, dtype=compute_dtype(source.dtype))
        px = source.points[:, 3].to(flow_t.dtype) * w - 0.5  # pixel coordinates, centres at integers
        py = source.points[:, 4].to(flow_t.dtype) * h - 0.5
        col = px.round().long().clamp(0, w - 1)
        row = py.round().long().clamp(0, h - 1)
        moved = torch.stack([px + flow_t[row, col, 0], py + flow_t[row, col, 1]], 1)
        mean_shift = float(flow_t[row, col].norm(dim=1).mean())
        return moved, tgt_img.to(flow_t.dtype), {"mean_flow_pixels": mean_shift}

    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        h, w = self.resolution
        moved, tgt_img, info = self._flowed(source, target)
        x = moved[:, 0].clamp(0, w - 1)
        y = moved[:, 1].clamp(0, h - 1)
        rgb = _bilinear(tgt_img, x, y)
        targets = torch.cat([rgb, ((x + 0.5) / w).unsqueeze(1), ((y + 0.5) / h).unsqueeze(1)], 1)
        dt = targets.dtype
        d = embed(source.points.to(dt), self.lam) - embed(targets, self.lam)
        cost = float((source.normalized_weights(dt) * (d * d).sum(1)).sum())
        return targets.to(source.dtype), cost, {"solver": "opencv.farneback", **info}

    def _plan(self, source: PointSet, target: PointSet) -> Tensor:
        h, w = self.resolution
        moved, _, _ = self._flowed(source, target)
        xy = torch.stack([(moved[:, 0] + 0.5) / w, (moved[:, 1] + 0.5) / h], 1)
        nn = nearest_neighbor(xy, target.points[:, 3:].to(xy.dtype))
        a = source.normalized_weights()
        plan = a.new_zeros(len(source), len(target))
        plan[range(len(source)), nn] = a
        return plan
