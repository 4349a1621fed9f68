"""Point proxies: the visible surface point behind every covered pixel, with frozen barycentrics.

For a covered pixel, rasterization tells which triangle is seen and where (barycentrics ``w``).
The point proxy is the surface point ``q = Σ w_i v_i`` with ``w`` held constant (paper §4.2,
Eq. 7–10, §5.2.1): when the scene parameters change, the *same* surface point moves, so

* its screen position ``p = h(q)`` has the positional derivative ∂p/∂θ (Eq. 8), and
* its colour ``c = g(Σ w_i a_i)`` has the material derivative Dc/Dθ (Eq. 10),

while no gradient flows through ``w`` (∂w/∂θ = 0). Together they are the 5-D RGBXY derivatives.

:func:`freeze_surface_points` is the pure-PyTorch reference of the barycentric-freezing op: from a
rasterization (which may be several iterations old — the proxies are reused between matchings)
and the *current* clip positions and vertex attributes, it returns every covered pixel's screen
XY and interpolated attributes, differentiable in positions and attributes only.
"""
from __future__ import annotations

import dataclasses

import torch

from .render.backend import RasterBackend
from .render.renderer import shade_attributes, surface_attributes
from .scene.scene import SceneState


@dataclasses.dataclass(frozen=True)
class PointProxies:
    """Point proxies of ``N`` covered pixels.

    Attributes:
        pixel_index: int64 ``[N]`` flat index into ``[B, H, W]`` (top row first, row-major) of the pixel
            each proxy was taken from — the same order as a row-major scan of the image.
        xy: float ``[N, 2]`` current screen position, normalised to [0, 1]² (x right, y down).
        rgb: float ``[N, 3]`` current colour.
    """

    pixel_index: torch.Tensor
    xy: torch.Tensor
    rgb: torch.Tensor

    @property
    def rgbxy(self) -> torch.Tensor:
        """``[N, 5]``: colour then position, the point's coordinates in the matching space."""
        return torch.cat([self.rgb, self.xy], 1)


def freeze_surface_points(rast: torch.Tensor, tri: torch.Tensor, clip: torch.Tensor,
                          attrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Screen XY and interpolated attributes of every covered pixel's surface point, barycentrics frozen.

    Args:
        rast: float ``[B, H, W, 4]`` rasterization (bottom row first, backend convention); it is
            treated as a constant (detached).
        tri: int ``[F, 3]``.
        clip: float ``[B, V, 4]`` current clip-space positions (differentiable).
        attrs: float ``[V, C]`` current vertex attributes (differentiable).

    Returns:
        ``pixel_index`` int64 ``[N]`` (flat, top row first), ``xy`` ``[N, 2]`` in [0, 1]² (y down),
        ``values`` ``[N, C]``.
    """
    if rast.ndim != 4 or rast.shape[-1] != 4:
        raise ValueError(f"rast must be [B, H, W, 4], got shape {tuple(rast.shape)}")
    if clip.ndim != 3 or clip.shape[0] != rast.shape[0] or clip.shape[-1] != 4:
        raise ValueError(f"clip must be [B, V, 4] with B = {rast.shape[0]}, got shape {tuple(clip.shape)}")
    batch, height, width, _ = rast.shape
    frozen = rast.detach().flip(1).reshape(-1, 4)  # top row first
    pixel_index = (frozen[:, 3] > 0).nonzero().squeeze(1)
    faces = tri.long()[frozen[pixel_index, 3].long() - 1]  # [N, 3]
    u, v = frozen[pixel_index, 0:1], frozen[pixel_index, 1:2]
    w = torch.cat([u, v, 1 - u - v], 1)  # frozen barycentrics: constants for autograd
    view = pixel_index // (height * width)
    corners_clip = clip[view[:, None], faces]  # [N, 3, 4]
    q = (w[..., None] * corners_clip).sum(1)  # clip position of the surface point (clip is linear in world)
    ndc = q[:, :2] / q[:, 3:4]
    xy = torch.stack([(ndc[:, 0] + 1) * 0.5, (1 - ndc[:, 1]) * 0.5], 1)
    values = (w[..., None] * attrs[faces]).sum(1)
    return pixel_index, xy, values


def point_proxies(state: SceneState, views: list[int] | torch.Tensor, rast: torch.Tensor,
                  backend: RasterBackend) -> PointProxies:
    """Point proxies of the pixels covered in ``rast`` (rendered from ``views``), at the current ``state``."""
    views = torch.as_tensor(views, dtype=torch.long, device=state.vertices.device).reshape(-1)
    clip = state.clip_positions(views)
    pixel_index, xy, attrs = freeze_surface_points(rast, state.faces, clip, surface_attributes(state))
    height, width = rast.shape[1:3]
    view = views[pixel_index // (height * width)]
    rgb = shade_attributes(state, backend, attrs, state.eyes[view], state.lights[view])
    return PointProxies(pixel_index, xy, rgb)
