"""A soft rasterizer in the style of SoftRas (Liu et al. 2019), the soft-silhouette baseline.

Every triangle ``j`` covers every pixel ``p`` with a probability

    D_j(p) = sigmoid(δ_j(p) · d_j(p)² / σ),

where ``d_j(p)`` is the distance from the pixel centre to the triangle's edges in screen space
(measured in NDC units of the image height: the image is 2 units tall) and ``δ = +1`` inside,
``-1`` outside. A pixel outside a triangle still "sees" it a little, so the L2 loss on soft images
has gradients that reach beyond the silhouette (non-local, within a few ``sqrt(σ)``).

* soft silhouette: ``S(p) = 1 - Π_j (1 - D_j(p))``;
* soft colour: ``C(p) = Σ_j w_j C_j(p)`` with ``w_j ∝ D_j exp(z_j / γ)`` (normalised over the
  triangles near ``p``), where ``z_j`` is the normalised closeness (NDC depth mapped to nearest
  vertex = 1, farthest = 0) and ``C_j(p)`` the triangle's shaded colour at the pixel (perspective-correct
  barycentrics, clamped to the triangle for pixels outside it);
* soft image: ``I(p) = S(p) · C(p) + (1 - S(p)) · B(p)``, the soft colour composited over the
  background ``B`` (black, or the scene's background image) with the silhouette as alpha.
  (SoftRas's own colour channel, with γ this small, spreads every triangle's colour as far as its
  coverage reaches; compositing with ``S`` keeps the image faithful while its edges stay soft.)

Pure PyTorch, for small images: only (triangle, pixel) pairs whose probability exceeds
``cutoff`` are evaluated (each triangle's screen bounding box grown by the distance at which
``D`` falls below ``cutoff``), so the cost is about (number of pairs) × (a shading evaluation).
Triangles with a vertex at or behind the eye are dropped.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .backend import RasterBackend
from .renderer import shade_attributes, surface_attributes
from .state import SceneState

__all__ = ["SoftRasSettings", "SoftFrame", "soft_render"]


@dataclasses.dataclass(frozen=True)
class SoftRasSettings:
    """Softness of :func:`soft_render`.

    Attributes:
        sigma: σ of the coverage sigmoid, in squared NDC units (the image is 2 units tall); SoftRas
            uses 1e-5 to 1e-4. The coverage reaches about ``sqrt(σ · 9)`` NDC beyond an edge.
        gamma: γ of the depth softmax (small: nearly a z-buffer).
        cutoff: coverage probabilities below this are treated as 0 (pair culling).
    """

    sigma: float = 1e-4
    gamma: float = 1e-4
    cutoff: float = 1e-4

    def __post_init__(self) -> None:
        if not (self.sigma > 0 and math.isfinite(self.sigma)):
            raise ValueError(f"soft rasterizer sigma must be positive, got {self.sigma}")
        if not (self.gamma > 0 and math.isfinite(self.gamma)):
            raise ValueError(f"soft rasterizer gamma must be positive, got {self.gamma}")
        if not 0 < self.cutoff < 0.5:
            raise ValueError(f"soft rasterizer cutoff must be in (0, 0.5), got {self.cutoff}")

    def reach(self) -> float:
        """Distance (NDC) beyond an edge at which the coverage falls to ``cutoff``."""
        return math.sqrt(self.sigma * math.log((1 - self.cutoff) / self.cutoff))


@dataclasses.dataclass(frozen=True)
class SoftFrame:
    """Output of :func:`soft_render` for ``B`` views.

    Attributes:
        image: float ``[B, H, W, 3]`` soft image (colour × silhouette over the background), top row first.
        silhouette: float ``[B, H, W]`` soft coverage in [0, 1], top row first.
        pairs: number of (triangle, pixel) pairs evaluated (a cost measure).
    """

    image: torch.Tensor
    silhouette: torch.Tensor
    pairs: int


def _segment_distance2(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distance ``[N]`` from points ``p`` to segments ``a``–``b`` (all ``[N, 2]``)."""
    ab = b - a
    t = ((p - a) * ab).sum(1) / (ab * ab).sum(1).clamp_min(1e-20)
    closest = a + t.clamp(0, 1).unsqueeze(1) * ab
    return ((p - closest) ** 2).sum(1)


def _pairs(xy: torch.Tensor, keep: torch.Tensor, margin: float, height: int, width: int
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Candidate (triangle, pixel) pairs: every pixel in each kept triangle's grown bounding box.

    ``xy`` is ``[F, 3, 2]`` pixel coordinates (centres at ``j + 0.5``). Returns the triangle
    index, row and column of every pair (LongTensors ``[P]``).
    """
    lo = xy.amin(1) - margin
    hi = xy.amax(1) + margin
    # Pixel j is a candidate when its centre j + 0.5 lies in [lo, hi].
    c0 = torch.ceil(lo[:, 0] - 0.5).clamp(min=0)
    c1 = torch.floor(hi[:, 0] - 0.5).clamp(max=width - 1)
    r0 = torch.ceil(lo[:, 1] - 0.5).clamp(min=0)
    r1 = torch.floor(hi[:, 1] - 0.5).clamp(max=height - 1)
    keep = keep & (c1 >= c0) & (r1 >= r0)
    face = keep.nonzero().squeeze(1)
    c0, r0 = c0[face].long(), r0[face].long()
    nc = (c1[face].long() - c0 + 1)
    nr = (r1[face].long() - r0 + 1)
    count = nc * nr
    total = int(count.sum())
    tri = torch.repeat_interleave(face, count)
    start = torch.cumsum(count, 0) - count
    local = torch.arange(total, device=xy.device) - torch.repeat_interleave(start, count)
    ncp = torch.repeat_interleave(nc, count)
    col = torch.repeat_interleave(c0, count) + local % ncp
    row = torch.repeat_interleave(r0, count) + local // ncp
    return tri, row, col


def _soft_view(state: SceneState, attrs: torch.Tensor, clip: torch.Tensor, view: int, resolution: tuple[int, int],
               backend: RasterBackend, settings: SoftRasSettings) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Soft image ``[H, W, 3]`` and silhouette ``[H, W]`` of one view; ``clip`` is ``[V, 4]``."""
    height, width = resolution
    faces = state.faces.long()
    corners = clip[faces]  # [F, 3, 4]
    w = corners[..., 3]
    keep = (w > 1e-6).all(1)
    safe_w = torch.where(w > 1e-6, w, torch.ones_like(w))
    ndc = corners[..., :2] / safe_w.unsqueeze(-1)
    ndc_z = corners[..., 2] / safe_w  # [F, 3], -1 at the near plane
    xy = torch.stack([(ndc[..., 0] + 1) * 0.5 * width, (1 - ndc[..., 1]) * 0.5 * height], -1)  # [F, 3, 2], y down
    e1, e2 = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    area = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    keep &= area.abs() > 1e-10
    px_per_ndc = 0.5 * height  # distances are measured in NDC units of the image height
    with torch.no_grad():
        tri, row, col = _pairs(xy.detach(), keep, settings.reach() * px_per_ndc, height, width)
    dtype = clip.dtype
    image = torch.zeros(height * width, 3, dtype=dtype, device=clip.device)
    if tri.numel() == 0:  # nothing near this view: a blank image, still part of the graph (zero gradient)
        image = image + 0.0 * clip.sum()
        return image.reshape(height, width, 3), image[:, 0].reshape(height, width), 0
    p = torch.stack([col.to(dtype) + 0.5, row.to(dtype) + 0.5], 1)
    a, b, c = xy[tri, 0], xy[tri, 1], xy[tri, 2]
    ar = area[tri]

    def edge(s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:  # signed side of p w.r.t. s → e
        d = e - s
        return d[:, 0] * (p[:, 1] - s[:, 1]) - d[:, 1] * (p[:, 0] - s[:, 0])

    # Screen-space barycentrics (b0 opposite vertex 0, ...), all >= 0 inside the triangle.
    bary = torch.stack([edge(b, c), edge(c, a), edge(a, b)], 1) / ar.unsqueeze(1)
    inside = (bary >= 0).all(1)
    d2 = torch.minimum(torch.minimum(_segment_distance2(p, a, b), _segment_distance2(p, b, c)),
                       _segment_distance2(p, c, a)) / px_per_ndc ** 2
    sign = torch.where(inside, 1.0, -1.0).to(dtype)
    prob = torch.sigmoid(sign * d2 / settings.sigma)
    live = prob > settings.cutoff
    tri, prob, bary = tri[live], prob[live], bary[live]
    pix = (row * width + col)[live]
    # Outside pixels take the colour of the nearest point of the triangle (clamped barycentrics).
    bary = bary.clamp_min(0)
    bary = bary / bary.sum(1, keepdim=True).clamp_min(1e-12)
    inv_w = bary / safe_w[tri]  # perspective-correct: interpolate attribute / w and 1 / w linearly
    persp = inv_w / inv_w.sum(1, keepdim=True)
    surf = (persp.unsqueeze(-1) * attrs[faces[tri]]).sum(1)  # [P, C]
    rgb = shade_attributes(state, backend, surf, state.eyes[view].expand(len(tri), 3),
                           state.lights[view].expand(len(tri), 3))
    # Normalised closeness: 1 at the nearest vertex, 0 at the farthest.
    with torch.no_grad():
        zmin, zmax = ndc_z[keep].min(), ndc_z[keep].max()
    # NDC depth is affine in screen space (perspective and orthographic cameras alike).
    z = (zmax - (bary * ndc_z[tri]).sum(1)) / (zmax - zmin).clamp_min(1e-12)

    n_pix = height * width
    # Silhouette: 1 - prod(1 - D) through a sum of logs.
    log_miss = torch.zeros(n_pix, dtype=dtype, device=clip.device).index_add(
        0, pix, torch.log1p(-prob.clamp(max=1 - 1e-7)))
    silhouette = 1 - torch.exp(log_miss)
    # Colour: softmax over the pair logits z/γ weighted by D; the per-pixel maximum keeps exp()
    # in range and cancels out.
    logits = z / settings.gamma
    with torch.no_grad():
        m = torch.zeros(n_pix, dtype=dtype, device=clip.device).scatter_reduce(
            0, pix, logits.detach(), reduce="amax", include_self=False)
    weight = prob * torch.exp(logits - m[pix])
    denom = torch.zeros(n_pix, dtype=dtype, device=clip.device).index_add(0, pix, weight)
    colour = image.index_add(0, pix, weight.unsqueeze(1) * rgb) / denom.clamp_min(1e-30).unsqueeze(1)
    image = colour * silhouette.unsqueeze(1)
    return image.reshape(height, width, 3), silhouette.reshape(height, width), int(tri.numel())


def soft_render(state: SceneState, views: list[int] | torch.Tensor, resolution: tuple[int, int],
                backend: RasterBackend, settings: SoftRasSettings = SoftRasSettings()) -> SoftFrame:
    """Soft-rasterize ``views`` at ``resolution = (H, W)``, shaded like :func:`drot.render.renderer.render`.

    ``backend`` only does texture lookups (for textured meshes and environment maps).
    """
    views = torch.as_tensor(views, dtype=torch.long, device=state.vertices.device).reshape(-1)
    background = state.background
    if background is not None and tuple(background.shape[:2]) != tuple(resolution):
        raise ValueError(f"background is {tuple(background.shape[:2])} but the render is {tuple(resolution)}")
    clip = state.clip_positions(views)
    attrs = surface_attributes(state)
    images, silhouettes, pairs = [], [], 0
    for b, view in enumerate(views.tolist()):
        img, sil, n = _soft_view(state, attrs, clip[b], view, tuple(resolution), backend, settings)
        if background is not None:
            img = img + (1 - sil).unsqueeze(-1) * background
        images.append(img)
        silhouettes.append(sil)
        pairs += n
    return SoftFrame(image=torch.stack(images), silhouette=torch.stack(silhouettes), pairs=pairs)
