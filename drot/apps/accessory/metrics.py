"""Metrics of a recovered placement (STRAT, paper §4.1): Disp (:func:`corner_displacement`) and the
IoU (:func:`mask_iou`) of the accessory's coverage (:func:`accessory_mask`), with their success thresholds.
"""
from __future__ import annotations

import torch

from ...render.backend import get_backend
from ...render.renderer import render
from ...scene.scene import Scene

#: Success thresholds of a recovered placement: Disp ≤ 0.02 and IoU ≥ 0.85.
DISP_THRESHOLD = 0.02
IOU_THRESHOLD = 0.85


def corner_displacement(corners, reference, resolution: tuple[int, int]) -> float:
    """Disp: mean distance between pixel corners ``[4, 2]`` and ``reference`` ``[4, 2]``, with x
    normalised by the canvas width and y by its height (so 0.02 on 64 x 64 is 1.28 pixels)."""
    h, w = resolution
    a, b = torch.as_tensor(corners, dtype=torch.float64), torch.as_tensor(reference, dtype=torch.float64)
    if a.shape != (4, 2) or b.shape != (4, 2):
        raise ValueError(f"corners must both be [4, 2], got {tuple(a.shape)} and {tuple(b.shape)}")
    d = (a - b) / torch.tensor([w, h], dtype=torch.float64)
    return float(d.norm(dim=1).mean())


def mask_iou(mask, reference) -> float:
    """Intersection over union of two bool masks ``[H, W]`` (1.0 when both are empty)."""
    a, b = torch.as_tensor(mask, dtype=torch.bool), torch.as_tensor(reference, dtype=torch.bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def accessory_mask(scene: Scene, values: dict[str, torch.Tensor], backend: str = "torch") -> torch.Tensor:
    """Bool coverage mask ``[H, W]`` of the accessory at parameter ``values``."""
    with torch.no_grad():
        frame = render(scene.evaluate(values), [0], scene.resolution, get_backend(backend, "cpu"),
                       antialias=False)
    return frame.mask[0].cpu()
