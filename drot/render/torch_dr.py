"""nvdiffrast's function API on drot's pure-PyTorch backend: a stand-in for ``nvdiffrast.torch``.

Code written against nvdiffrast runs unchanged on any machine (CPU included) with::

    import drot.render.torch_dr as dr           # instead of: import nvdiffrast.torch as dr
    glctx = dr.RasterizeTorchContext()         # instead of: dr.RasterizeCudaContext()
    rast, _ = dr.rasterize(glctx, pos_clip, tri, resolution=[H, W])
    color, _ = dr.interpolate(vertex_colors, rast, tri)
    color = dr.antialias(color, rast, pos_clip, tri)

Same argument order, shapes and conventions as nvdiffrast (rasterization bottom row first,
``rast[..., 3]`` = triangle id + 1). What is not supported says so: range mode
(``ranges``), image-space derivatives (``rast_db`` is None; ``diff_attrs`` is refused).
"""
from __future__ import annotations

from typing import Sequence

import torch

from .torch_backend import TorchBackend

__all__ = ["RasterizeTorchContext", "rasterize", "interpolate", "antialias", "texture"]


class RasterizeTorchContext:
    """Plays the part of ``RasterizeCudaContext`` / ``RasterizeGLContext``: holds the backend.

    Args:
        device: torch device of the tensors it will rasterize (default: CPU).
    """

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.backend = TorchBackend(device if device is not None else "cpu")


def rasterize(glctx: RasterizeTorchContext, pos: torch.Tensor, tri: torch.Tensor, resolution: Sequence[int],
              ranges: torch.Tensor | None = None, grad_db: bool = True) -> tuple[torch.Tensor, None]:
    """Rasterize ``pos`` float ``[B, V, 4]`` clip-space positions, ``tri`` int ``[F, 3]``, at
    ``resolution = (H, W)``. Returns ``(rast [B, H, W, 4], None)`` like nvdiffrast's
    ``(rast_out, rast_out_db)`` (no image-space derivatives here)."""
    if not isinstance(glctx, RasterizeTorchContext):
        raise TypeError(f"glctx must be a drot.render.torch_dr.RasterizeTorchContext, got {type(glctx).__name__}")
    if ranges is not None:
        raise NotImplementedError("torch_dr.rasterize: range mode (ranges=...) is not supported; pass pos as [B, V, 4]")
    if pos.ndim != 3:
        raise ValueError(f"torch_dr.rasterize: pos must be [B, V, 4] (instanced mode), got {tuple(pos.shape)}")
    return glctx.backend.rasterize(pos, tri, (int(resolution[0]), int(resolution[1]))), None


def interpolate(attr: torch.Tensor, rast: torch.Tensor, tri: torch.Tensor, rast_db: torch.Tensor | None = None,
                diff_attrs=None) -> tuple[torch.Tensor, None]:
    """Interpolate ``attr`` ``[V, C]`` or ``[B, V, C]`` over ``rast``: ``(out [B, H, W, C], None)``."""
    if diff_attrs is not None:
        raise NotImplementedError("torch_dr.interpolate: attribute pixel derivatives (diff_attrs) are not supported")
    return TorchBackend(rast.device).interpolate(attr, rast, tri), None


def antialias(color: torch.Tensor, rast: torch.Tensor, pos: torch.Tensor, tri: torch.Tensor,
              topology_hash=None, pos_gradient_boost: float = 1.0) -> torch.Tensor:
    """Analytic antialiasing of ``color`` ``[B, H, W, C]`` (silhouette edges get position gradients)."""
    return TorchBackend(color.device).antialias(color, rast, pos, tri)


def texture(tex: torch.Tensor, uv: torch.Tensor, uv_da=None, mip_level_bias=None, mip=None,
            filter_mode: str = "auto", boundary_mode: str = "wrap", max_mip_level=None) -> torch.Tensor:
    """Bilinear texture lookup of ``tex`` ``[1, Ht, Wt, C]`` at ``uv`` ``[B, H, W, 2]`` (no mipmaps;
    one texture shared by the batch)."""
    if uv_da is not None or mip is not None:
        raise NotImplementedError("torch_dr.texture: mipmapping (uv_da, mip) is not supported")
    if tex.ndim != 4 or tex.shape[0] != 1:
        raise ValueError(f"torch_dr.texture: tex must be [1, Ht, Wt, C] (one texture for the batch), got {tuple(tex.shape)}")
    return TorchBackend(uv.device).texture(tex[0], uv, boundary_mode)
