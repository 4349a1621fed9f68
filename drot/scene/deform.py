"""Smooth deformation fields: per-vertex offsets ``[V, 3]`` for ``vertex_offsets`` parameters.

A deformation is a function of the (object-space) vertex positions only, so it applies to any
mesh — a procedural one or a user's mesh file — and stays smooth across the surface: nearby
vertices move together, and parts that touch move alike (no tearing where parts overlap).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def rbf_warp(vertices: torch.Tensor, centers: Sequence[Sequence[float]], shifts: Sequence[Sequence[float]],
             radius: float | Sequence[float] = 0.2) -> torch.Tensor:
    """Gaussian radial-basis displacements: ``offset(v) = Σ_k shift_k · exp(-|v - c_k|² / (2 r_k²))``.

    Args:
        vertices: ``[V, 3]`` positions the field is evaluated at.
        centers: ``[K, 3]`` centres ``c_k``.
        shifts: ``[K, 3]`` displacement at each centre.
        radius: Gaussian width, one for all (scalar) or one per centre ``[K]``.
    Returns: float32 ``[V, 3]`` offsets.
    """
    c = np.asarray(centers, dtype=np.float64)
    s = np.asarray(shifts, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 3 or s.shape != c.shape:
        raise ValueError(f"rbf_warp needs centers and shifts of the same shape [K, 3], got {c.shape} and {s.shape}")
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(c),))
    if (r <= 0).any():
        raise ValueError(f"rbf_warp radius must be positive, got {radius}")
    v = vertices.double().numpy()
    d2 = ((v[:, None, :] - c[None]) ** 2).sum(-1)                      # [V, K]
    w = np.exp(-d2 / (2 * r[None] ** 2))
    return torch.as_tensor(w @ s, dtype=torch.float32)

