"""Point proxies: the visible surface point behind every covered pixel, with frozen barycentrics.

For a covered pixel, rasterization tells which triangle is seen and where (barycentrics ``w``).
The point proxy is the surface point ``q = Σ w_i v_i`` with ``w`` held constant (paper §4.2,
Eq. 7–10, §5.2.1): when the scene parameters change, the *same* surface point moves, so

* its screen position ``p = h(q)`` has the positional derivative ∂p/∂θ (Eq. 8), and
* its colour ``c = g(Σ w_i a_i)`` has the material derivative Dc/Dθ (Eq. 10),

while no gradient flows through ``w`` (∂w/∂θ = 0). Together they are the 5-D RGBXY derivatives.

:func:`freeze_surface_points` is the barycentric-freezing op: from a rasterization (which may be
several iterations old — the proxies are reused between matchings) and the *current* clip positions
and vertex attributes, it returns every covered pixel's screen XY and interpolated attributes,
differentiable in positions and attributes only. It runs the compiled ``drot._C`` op (C++ / CUDA,
:mod:`drot.render.extension`) when built, else :func:`freeze_surface_points_reference`, the pure-PyTorch
reference with the same values and gradients.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from . import extension
from .backend import RasterBackend
from .renderer import state_shader, surface_attributes
from .state import SceneState, entry_starts


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


IMPLEMENTATIONS = ("auto", "op", "reference")


def freeze_surface_points(rast: torch.Tensor, tri: torch.Tensor, clip: torch.Tensor, attrs: torch.Tensor, *,
                          implementation: str = "auto", deterministic: bool | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Screen XY and interpolated attributes of every covered pixel's surface point, barycentrics frozen.

    Args:
        rast: float ``[B, H, W, 4]`` rasterization (bottom row first, backend convention); treated as
            a constant.
        tri: int ``[F, 3]``.
        clip: float32/float64 ``[B, V, 4]`` current clip-space positions (differentiable).
        attrs: ``[V, C]`` current vertex attributes, clip's dtype (differentiable).
        implementation: ``"op"`` (compiled ``drot._C``; error if not built for this device),
            ``"reference"`` (PyTorch), or ``"auto"`` (the op when built for the device, else the
            reference, saying so once).
        deterministic: bit-reproducible backward on CUDA (sort-based instead of atomic scatter);
            default: ``torch.are_deterministic_algorithms_enabled()``. CPU is always deterministic.

    Returns:
        ``pixel_index`` int64 ``[N]`` (flat over ``[B, H, W]``, top row first, row-major),
        ``xy`` ``[N, 2]`` in [0, 1]² (x right, y down), ``values`` ``[N, C]``. All on clip's device.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    use_op = implementation == "op" or (implementation == "auto" and extension.op_supports(clip.device))
    if implementation == "auto" and not use_op:
        extension.announce_fallback(clip.device.type)
    if not use_op:
        return freeze_surface_points_reference(rast, tri, clip, attrs)
    if not extension.op_supports(clip.device):
        status = extension.extension_status()
        raise RuntimeError(f"implementation='op' on {clip.device}: " +
                           (status.reason if not status.available else "drot._C was built without CUDA kernels "
                            f"(rebuild on a CUDA machine with `{extension.BUILD_COMMAND} --cuda on`)"))
    if deterministic is None:
        deterministic = torch.are_deterministic_algorithms_enabled()
    return _FreezeSurfacePoints.apply(rast, tri, clip, attrs, bool(deterministic))


class _FreezeSurfacePoints(torch.autograd.Function):
    """Thin autograd wrapper of ``torch.ops.drot.freeze_surface_points`` (no gradient to rast or tri)."""

    @staticmethod
    def forward(ctx, rast, tri, clip, attrs, deterministic):
        rast = rast.detach()
        pixel_index, xy, values = torch.ops.drot.freeze_surface_points(rast, tri, clip, attrs)
        ctx.save_for_backward(pixel_index, rast, tri, clip)
        ctx.num_vertices, ctx.channels, ctx.deterministic = attrs.shape[0], attrs.shape[1], deterministic
        # Outputs that no differentiable input reaches stay outside the graph, as in the reference.
        ctx.mark_non_differentiable(pixel_index, *([] if ctx.needs_input_grad[2] else [xy]),
                                    *([] if ctx.needs_input_grad[3] else [values]))
        return pixel_index, xy, values

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, _grad_index, grad_xy, grad_values):
        pixel_index, rast, tri, clip = ctx.saved_tensors
        n = pixel_index.shape[0]
        if grad_xy is None:
            grad_xy = clip.new_zeros(n, 2)
        if grad_values is None:
            grad_values = clip.new_zeros(n, ctx.channels)
        grad_clip, grad_attrs = torch.ops.drot.freeze_surface_points_backward(
            grad_xy, grad_values, pixel_index, rast, tri, clip, ctx.num_vertices, ctx.deterministic)
        return None, None, grad_clip, grad_attrs, None


def freeze_surface_points_reference(rast: torch.Tensor, tri: torch.Tensor, clip: torch.Tensor,
                                    attrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pure-PyTorch reference of :func:`freeze_surface_points` (same arguments and results).

    Autograd differentiates it; the barycentrics are read from the detached ``rast``, so they are
    constants.
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


def frozen_proxies(rast: torch.Tensor, tri: torch.Tensor, clip: torch.Tensor, attrs: torch.Tensor,
                   shade: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                   implementation: str = "auto") -> PointProxies:
    """Point proxies of the pixels covered in ``rast``, from raw rasterizer inputs (nvdiffrast's layout).

    Args:
        rast: float ``[B, H, W, 4]`` rasterization (bottom row first), possibly several iterations old.
        tri: int ``[F, 3]`` triangles.
        clip: float ``[B, V, 4]`` current clip-space positions of the ``B`` rasterized views (differentiable).
        attrs: ``[V, C]`` current vertex attributes (differentiable), or ``[B, V, C]``: entry ``b``
            of the batch is its own mesh (same triangles), e.g. one start of a multi-start run.
        shade: optional ``shade(values [N, C], batch [N]) -> rgb [N, 3]`` turning the interpolated
            attributes of each proxy (and the index of its view in the batch) into its colour;
            default: the first three attribute channels are the colour.
        implementation: the frozen-barycentrics op to use (see :func:`freeze_surface_points`).
    """
    height, width = rast.shape[1:3]
    if attrs.ndim == 3:  # one mesh per batch entry (a batch of starts): one call on the meshes side by side
        rast, tri, clip, attrs = _side_by_side(rast, tri, clip, attrs)
    pixel_index, xy, values = freeze_surface_points(rast, tri, clip, attrs, implementation=implementation)
    batch = pixel_index // (height * width)
    rgb = values[:, :3] if shade is None else shade(values, batch)
    return PointProxies(pixel_index, xy, rgb)


def _side_by_side(rast: torch.Tensor, tri: torch.Tensor, clip: torch.Tensor, attrs: torch.Tensor):
    """The ``B`` meshes of a batch as one mesh of ``B x V`` vertices seen in one ``B·H x W`` image:
    triangle ids offset per entry, the images stacked top to bottom, so the flat pixel index of a
    proxy is the same as in ``[B, H, W]`` (the screen XY comes from clip space alone)."""
    batch, height, width, _ = rast.shape
    nv, nf = attrs.shape[1], tri.shape[0]
    if clip.shape[0] != batch or attrs.shape[0] != batch or clip.shape[1] != nv:
        raise ValueError(f"batched attrs {tuple(attrs.shape)} need clip [B, V, 4] and rast [B, H, W, 4] with the "
                         f"same B and V, got clip {tuple(clip.shape)} and rast {tuple(rast.shape)}")
    offsets = torch.arange(batch, device=tri.device)
    flat_tri = (tri.long()[None] + (offsets * nv)[:, None, None]).reshape(-1, 3).to(tri.dtype)
    top_first = rast.detach().flip(1)
    ids = top_first[..., 3:4]
    ids = torch.where(ids > 0, ids + (offsets * nf).to(ids.dtype)[:, None, None, None], ids)
    flat_rast = torch.cat([top_first[..., :3], ids], -1).reshape(1, batch * height, width, 4).flip(1)
    return flat_rast, flat_tri, clip.reshape(1, batch * nv, 4), attrs.reshape(batch * nv, -1)


def point_proxies(state: SceneState, views: list[int] | torch.Tensor, rast: torch.Tensor,
                  backend: RasterBackend, implementation: str = "auto",
                  starts: list[int] | torch.Tensor | None = None) -> PointProxies:
    """Point proxies of the pixels covered in ``rast`` (rendered from ``views``; for a state with a
    start axis, entry ``b`` is start ``starts[b]``), at the current ``state``: one call of the
    frozen-barycentrics op for every entry.

    ``implementation`` chooses the frozen-barycentrics op (see :func:`freeze_surface_points`).
    """
    views = torch.as_tensor(views, dtype=torch.long, device=state.vertices.device).reshape(-1)
    if state.starts is None:
        return frozen_proxies(rast, state.faces, state.clip_positions(views), surface_attributes(state),
                              state_shader(state, backend, views), implementation)
    starts = entry_starts(state, views, starts)
    attrs = surface_attributes(state)
    attrs = attrs[0] if state.starts == 1 else attrs[starts]
    return frozen_proxies(rast, state.faces, state.clip_positions(views, starts), attrs,
                          state_shader(state, backend, views, starts), implementation)
