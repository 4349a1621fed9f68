"""Images to RGBXY point sets, with the paper's two treatments of background pixels (§5.2.2)."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import PointSet

__all__ = ["image_points", "BACKGROUND_MODES"]

#: ``"exclude"``: foreground pixels only; ``"include"``: every pixel (background pooled).
BACKGROUND_MODES = ("exclude", "include")

#: A pixel is foreground when some channel exceeds this (the scenes render on black).
BLACK_THRESHOLD = 1e-6


def image_points(image: Tensor, mask: Tensor | None = None, background: str = "exclude",
                 pool: int = 4) -> tuple[PointSet, Tensor]:
    """Turn an image into a weighted RGBXY point set.

    Pixel ``(i, j)`` of an H x W image becomes the point ``(R, G, B, (j + 0.5)/W, (i + 0.5)/H)``.

    Args:
        image: floating tensor [H, W, 3], colours in [0, 1], row 0 = top.
        mask: bool tensor [H, W], True on foreground pixels, or None: then a pixel is
            foreground when any channel exceeds 1e-6 (i.e. it is not black).
        background: ``"exclude"`` — only foreground pixels, each of mass 1 (the fast choice
            when a mask is known, paper §5.2.2); ``"include"`` — the paper's default: every
            pixel takes part with mass 1, so an image has total mass H*W. Background pixels carry
            no gradient and sit at fixed positions, so to keep the problem small they are pooled
            in ``pool`` x ``pool`` blocks: one point per block that has background pixels, at
            their mean XY and mean colour, with mass = their count. ``pool=1`` is exact.
        pool: block size of the background pooling (int >= 1; ignored for ``"exclude"``).

    Returns:
        ``(points, fg_index)``: a :class:`PointSet` with the foreground points first, in
        row-major pixel order, followed by the background points (``"include"`` only, in
        row-major block order); and ``fg_index``, a LongTensor [F] with the flat row-major
        pixel index ``i * W + j`` of each foreground point, so that row ``k < F`` of the point
        set is pixel ``fg_index[k]``. Points and weights have ``image``'s dtype and device.

    Raises:
        ValueError: bad shapes or values, an unknown mode, or no foreground pixel with
            ``background="exclude"``.
    """
    if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be a tensor of shape [H, W, 3], got "
                         f"{tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__}")
    h, w = image.shape[0], image.shape[1]
    if h == 0 or w == 0:
        raise ValueError(f"image is empty: shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise ValueError(f"image must be a floating tensor with colours in [0, 1], got {image.dtype}")
    if not bool(torch.isfinite(image).all()):
        raise ValueError("image contains NaN or inf")
    if background not in BACKGROUND_MODES:
        raise ValueError(f"unknown background mode {background!r}; valid modes: {', '.join(BACKGROUND_MODES)}")
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ValueError(f"background pool size must be an integer >= 1, got {pool!r}")
    if mask is None:
        mask = (image > BLACK_THRESHOLD).any(dim=2)
    else:
        if not isinstance(mask, Tensor) or mask.shape != (h, w):
            raise ValueError(f"mask must be a tensor of shape [H, W] = [{h}, {w}], got "
                             f"{tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__}")
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor (True = foreground), got {mask.dtype}")
        mask = mask.to(image.device)

    dev, dt = image.device, image.dtype
    colors = image.reshape(-1, 3)
    flat_mask = mask.reshape(-1)
    fg_index = flat_mask.nonzero().squeeze(1)
    if background == "exclude" and fg_index.numel() == 0:
        raise ValueError("no foreground pixels in the image (mask is all False / image is all black): "
                         "nothing to match with background='exclude'")

    ys = (torch.arange(h, device=dev, dtype=dt) + 0.5) / h
    xs = (torch.arange(w, device=dev, dtype=dt) + 0.5) / w
    fg_i, fg_j = fg_index // w, fg_index % w
    fg = torch.cat([colors[fg_index], xs[fg_j].unsqueeze(1), ys[fg_i].unsqueeze(1)], 1)
    fg_w = torch.ones(fg.shape[0], dtype=dt, device=dev)
    if background == "exclude":
        return PointSet(fg, fg_w), fg_index

    # Pool background pixels per pool x pool block (edge blocks may be partial).
    bg_index = (~flat_mask).nonzero().squeeze(1)
    bg_i, bg_j = bg_index // w, bg_index % w
    bw = -(-w // pool)
    nblocks = -(-h // pool) * bw
    block = (bg_i // pool) * bw + bg_j // pool
    sums = torch.zeros(nblocks, 6, dtype=dt, device=dev)  # R, G, B, X, Y, count
    vals = torch.cat([colors[bg_index], xs[bg_j].unsqueeze(1), ys[bg_i].unsqueeze(1),
                      torch.ones(bg_index.shape[0], 1, dtype=dt, device=dev)], 1)
    sums.index_add_(0, block, vals)
    used = sums[:, 5] > 0
    sums = sums[used]
    count = sums[:, 5]
    bg = sums[:, :5] / count.unsqueeze(1)
    points = torch.cat([fg, bg], 0)
    weights = torch.cat([fg_w, count], 0)
    return PointSet(points, weights), fg_index
