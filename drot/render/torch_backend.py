"""A rasterization backend in plain PyTorch: runs wherever torch runs (CPU or CUDA tensors).

It follows nvdiffrast's conventions (see :mod:`drot.render.backend`) and gradients:

* ``rasterize`` finds the front-most triangle per pixel with a z-buffer built from packed
  ``(depth, triangle id)`` integer keys and ``scatter_reduce(amin)`` — no gradient flows through
  the choice of triangle — then recomputes the perspective-correct barycentrics of the chosen
  triangle *with* gradients, so ``u, v`` depend on the vertex positions as in nvdiffrast.
* ``antialias`` is an analytic edge antialiasing in the spirit of nvdiffrast's: for every pair of
  horizontally or vertically adjacent pixels that see different triangles, if the front triangle's
  silhouette edge crosses the segment between the two pixel centres at fraction ``alpha``, the
  colour of the pixel the edge passes through is blended by its 1-D coverage. ``alpha`` is a
  differentiable function of the edge's vertices, which gives silhouettes their standard
  derivatives (zero inside surfaces, non-zero on silhouettes).

Triangles with a vertex at or behind the eye (w <= 0) are dropped rather than clipped.
"""
from __future__ import annotations

import torch

from .backend import RasterBackend, check_raster_inputs as _check_inputs, register_backend

_KEY_NONE = torch.iinfo(torch.int64).max
_DEPTH_LEVELS = 2 ** 30
# Bound on (triangle, candidate pixel) pairs evaluated at once, to bound memory on big triangles.
_CHUNK = 1 << 22


def _screen_xy(pos: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Clip-space ``[..., 4]`` → pixel-centre coordinates ``[..., 2]`` (pixel ``j`` has centre ``j``), rows bottom-up."""
    w = pos[..., 3:4]
    ndc = pos[..., :2] / torch.where(w.abs() < 1e-12, torch.full_like(w, 1e-12), w)
    scale = torch.tensor([width, height], dtype=pos.dtype, device=pos.device)
    return (ndc + 1) * 0.5 * scale - 0.5


def _signed_area(corners: torch.Tensor) -> torch.Tensor:
    """Twice the signed area of triangles ``[..., 3, 2]`` (positive when counter-clockwise)."""
    e1 = corners[..., 1, :] - corners[..., 0, :]
    e2 = corners[..., 2, :] - corners[..., 0, :]
    return e1[..., 0] * e2[..., 1] - e2[..., 0] * e1[..., 1]


def _edge_function(start: torch.Tensor, end: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Signed side of ``point`` relative to the directed edge ``start → end`` (all ``[..., 2]``)."""
    d = end - start
    return d[..., 0] * (point[..., 1] - start[..., 1]) - d[..., 1] * (point[..., 0] - start[..., 0])


def _zbuffer(pos: torch.Tensor, tri: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Front-most triangle id per pixel (-1 for background) of every view: ``pos`` ``[B, V, 4]``,
    result ``[B, H, W]``. The views are rasterized together: face ``f`` of view ``b`` is candidate
    ``b * F + f`` and writes into view ``b``'s pixels only, so one depth test covers the batch."""
    dev = pos.device
    batch, faces = pos.shape[0], tri.shape[0]
    corners = pos[:, tri].reshape(batch * faces, 3, 4)  # [B*F, 3, 4]
    w = corners[..., 3]
    keep = (w > 1e-8).all(dim=1)
    safe_w = torch.where(w > 1e-8, w, torch.ones_like(w))
    xy = _screen_xy(corners, height, width)
    z = corners[..., 2] / safe_w
    x0, y0 = xy[:, 0, 0], xy[:, 0, 1]
    x1, y1 = xy[:, 1, 0], xy[:, 1, 1]
    x2, y2 = xy[:, 2, 0], xy[:, 2, 1]
    area = _signed_area(xy)
    keep &= area.abs() > 1e-12
    keep &= ~((z < -1).all(dim=1) | (z > 1).all(dim=1))
    xmin = torch.ceil(xy[..., 0].amin(1)).clamp(min=0)
    xmax = torch.floor(xy[..., 0].amax(1)).clamp(max=width - 1)
    ymin = torch.ceil(xy[..., 1].amin(1)).clamp(min=0)
    ymax = torch.floor(xy[..., 1].amax(1)).clamp(max=height - 1)
    keep &= (xmin <= xmax) & (ymin <= ymax)
    ids = keep.nonzero().squeeze(1)
    zbuf = torch.full((batch * height * width,), _KEY_NONE, dtype=torch.int64, device=dev)
    if ids.numel() == 0:
        return torch.full((batch, height, width), -1, dtype=torch.int64, device=dev)
    bw = (xmax[ids] - xmin[ids] + 1).long()
    bh = (ymax[ids] - ymin[ids] + 1).long()
    counts = bw * bh
    ends = torch.cumsum(counts, 0)
    # Process triangles in chunks of bounded candidate count.
    start_tri = 0
    while start_tri < ids.numel():
        base = ends[start_tri - 1] if start_tri > 0 else ends.new_zeros(())
        stop_tri = int(torch.searchsorted(ends, base + _CHUNK, right=True))
        stop_tri = max(stop_tri, start_tri + 1)
        sel = slice(start_tri, stop_tri)
        t = ids[sel]
        c = counts[sel]
        owner = torch.repeat_interleave(torch.arange(t.numel(), device=dev), c)
        first = torch.cumsum(c, 0) - c
        local = torch.arange(int(c.sum()), device=dev) - first[owner]
        bwo = bw[sel][owner]
        px = xmin[t][owner] + (local % bwo).to(pos.dtype)
        py = ymin[t][owner] + (local // bwo).to(pos.dtype)
        tt = t[owner]
        inv_area = 1.0 / area[tt]
        b0 = ((x1[tt] - px) * (y2[tt] - py) - (x2[tt] - px) * (y1[tt] - py)) * inv_area
        b1 = ((x2[tt] - px) * (y0[tt] - py) - (x0[tt] - px) * (y2[tt] - py)) * inv_area
        b2 = 1 - b0 - b1
        depth = b0 * z[tt, 0] + b1 * z[tt, 1] + b2 * z[tt, 2]
        tol = -1e-6
        inside = (b0 >= tol) & (b1 >= tol) & (b2 >= tol) & (depth >= -1) & (depth <= 1)
        tt = tt[inside]
        view = tt // faces
        pix = view * (height * width) + (py.long() * width + px.long())[inside]
        key = ((depth[inside] + 1) * 0.5 * _DEPTH_LEVELS).long().clamp(0, _DEPTH_LEVELS) * (1 << 32) + (tt - view * faces)
        zbuf.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)
        start_tri = stop_tri
    tri_id = torch.where(zbuf == _KEY_NONE, torch.full_like(zbuf, -1), zbuf & 0xFFFFFFFF)
    return tri_id.view(batch, height, width)


def _barycentrics(pos: torch.Tensor, tri: torch.Tensor, batch: torch.Tensor, tri_id: torch.Tensor,
                  px: torch.Tensor, py: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, ...]:
    """Differentiable perspective-correct barycentrics and z/w of pixel centres ``(px, py)``."""
    corners = pos[batch[:, None], tri[tri_id]]  # [N, 3, 4]
    xy = _screen_xy(corners, height, width)
    w = corners[..., 3]
    zw = corners[..., 2] / w
    d0 = xy[:, 0] - torch.stack([px, py], 1)
    d1 = xy[:, 1] - torch.stack([px, py], 1)
    d2 = xy[:, 2] - torch.stack([px, py], 1)
    area = _signed_area(xy)
    s0 = (d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]) / area
    s1 = (d2[:, 0] * d0[:, 1] - d0[:, 0] * d2[:, 1]) / area
    s2 = 1 - s0 - s1
    depth = s0 * zw[:, 0] + s1 * zw[:, 1] + s2 * zw[:, 2]
    # Screen-space weights → perspective-correct (world-space) weights.
    q = torch.stack([s0, s1, s2], 1) / w
    q = q / q.sum(1, keepdim=True)
    return q[:, 0], q[:, 1], depth


class _FaceNeighbours:
    """Per (face, edge) the face across that edge, or -1 on boundary edges; cached per topology."""

    def __init__(self) -> None:
        self._cache: dict[tuple, torch.Tensor] = {}

    def __call__(self, tri: torch.Tensor, num_vertices: int) -> torch.Tensor:
        key = (tri.data_ptr(), tuple(tri.shape), str(tri.device), tri._version, num_vertices)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        t = tri.long()
        edges = torch.stack([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]], 1).view(-1, 2)
        lo, hi = edges.min(1).values, edges.max(1).values
        code = lo * num_vertices + hi
        order = torch.argsort(code, stable=True)
        sorted_code = code[order]
        same = (sorted_code[1:] == sorted_code[:-1]).nonzero().squeeze(1)
        a, b = order[same], order[same + 1]
        nb = torch.full((edges.shape[0],), -1, dtype=torch.int64, device=tri.device)
        nb[a] = b // 3
        nb[b] = a // 3
        nb = nb.view(-1, 3)
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = nb
        return nb


_face_neighbours = _FaceNeighbours()


def _pixel_pairs(batch: int, height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices of all horizontally and vertically adjacent pixel pairs in a ``[B, H, W]`` grid."""
    idx = torch.arange(batch * height * width, device=device).view(batch, height, width)
    a = torch.cat([idx[:, :, :-1].reshape(-1), idx[:, :-1, :].reshape(-1)])
    b = torch.cat([idx[:, :, 1:].reshape(-1), idx[:, 1:, :].reshape(-1)])
    return a, b


class TorchBackend(RasterBackend):
    """Pure-PyTorch implementation of :class:`~drot.render.backend.RasterBackend`."""

    name = "torch"

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        # Construct something on the device: a probe that fails early and clearly.
        torch.zeros(1, device=self.device)

    # ------------------------------------------------------------------ rasterize
    def rasterize(self, pos: torch.Tensor, tri: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
        _check_inputs(pos, tri)
        height, width = int(resolution[0]), int(resolution[1])
        if height <= 0 or width <= 0:
            raise ValueError(f"resolution must be positive, got {resolution}")
        batch = pos.shape[0]
        tri = tri.long()
        with torch.no_grad():
            ids = _zbuffer(pos.detach(), tri, height, width)
        flat = ids.view(-1)
        covered = (flat >= 0).nonzero().squeeze(1)
        bidx = covered // (height * width)
        pix = covered % (height * width)
        px = (pix % width).to(pos.dtype)
        py = (pix // width).to(pos.dtype)
        u, v, depth = _barycentrics(pos, tri, bidx, flat[covered], px, py, height, width)
        values = torch.stack([u, v, depth, (flat[covered] + 1).to(pos.dtype)], 1)
        rast = pos.new_zeros(batch * height * width, 4).index_put((covered,), values)
        return rast.view(batch, height, width, 4)

    # ---------------------------------------------------------------- interpolate
    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        if attr.ndim not in (2, 3):
            raise ValueError(f"attr must be [V, C] or [B, V, C], got shape {tuple(attr.shape)}")
        batch, height, width, _ = rast.shape
        flat = rast.reshape(-1, 4)
        covered = (flat[:, 3] > 0).nonzero().squeeze(1)
        tri_id = flat[covered, 3].long() - 1
        faces = tri.long()[tri_id]
        if attr.ndim == 2 or attr.shape[0] == 1:  # [V, C], or [1, V, C] broadcast along the batch (as nvdiffrast)
            corners = attr.reshape(attr.shape[-2:])[faces]
        else:
            corners = attr[(covered // (height * width))[:, None], faces]
        u, v = flat[covered, 0:1], flat[covered, 1:2]
        values = u * corners[:, 0] + v * corners[:, 1] + (1 - u - v) * corners[:, 2]
        out = attr.new_zeros(batch * height * width, attr.shape[-1]).index_put((covered,), values)
        return out.view(batch, height, width, -1)

    # ------------------------------------------------------------------ antialias
    def antialias(self, color: torch.Tensor, rast: torch.Tensor, pos: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        _check_inputs(pos, tri)
        batch, height, width, channels = color.shape
        if rast.shape[:3] != color.shape[:3]:
            raise ValueError(f"color {tuple(color.shape)} and rast {tuple(rast.shape)} differ in [B, H, W]")
        tri = tri.long()
        flat_color = color.reshape(-1, channels)
        tid = rast[..., 3].detach().reshape(-1).long() - 1
        zw = rast[..., 2].detach().reshape(-1)
        a, b = _pixel_pairs(batch, height, width, color.device)
        differ = tid[a] != tid[b]
        a, b = a[differ], b[differ]
        if a.numel() == 0:
            return color
        ta, tb = tid[a], tid[b]
        front_is_a = (tb < 0) | ((ta >= 0) & (zw[a] < zw[b]))
        p = torch.where(front_is_a, a, b)  # pixel whose centre the front triangle covers
        o = torch.where(front_is_a, b, a)  # the neighbour
        face = torch.where(front_is_a, ta, tb)
        view = p // (height * width)

        def centre(flat_idx: torch.Tensor) -> torch.Tensor:
            pix = flat_idx % (height * width)
            return torch.stack([pix % width, pix // width], 1).to(pos.dtype)

        cp, co = centre(p), centre(o)
        screen = _screen_xy(pos, height, width)  # [B, V, 2], differentiable
        with torch.no_grad():
            facing = torch.sign(_signed_area(screen.detach()[:, tri]))  # [B, F]: +1 front-, -1 back-facing
            orient = facing[view, face][:, None]
            corners = screen[view[:, None], tri[face]]  # [N, 3, 2]
            ends = corners.roll(-1, dims=1)
            ep = orient * _edge_function(corners, ends, cp[:, None])
            eo = orient * _edge_function(corners, ends, co[:, None])
            crossing = eo < 0
            alpha_all = torch.where(crossing, ep / (ep - eo).clamp_min(1e-20), torch.full_like(ep, 2.0))
            alpha_min, edge = alpha_all.min(1)
            has_edge = alpha_min <= 1.0
            # Silhouette edge: on the mesh boundary, or between a front- and a back-facing triangle.
            nb = _face_neighbours(tri, pos.shape[1])[face, edge]
            silhouette = (nb < 0) | (facing[view, nb.clamp_min(0)] != orient[:, 0])
            keep = (has_edge & silhouette).nonzero().squeeze(1)
        if keep.numel() == 0:
            return color
        p, o, face, view, edge, cp, co = p[keep], o[keep], face[keep], view[keep], edge[keep], cp[keep], co[keep]
        vi = tri[face, edge]
        vj = tri[face, (edge + 1) % 3]
        start, end = screen[view, vi], screen[view, vj]  # differentiable edge end points
        fp, fo = _edge_function(start, end, cp), _edge_function(start, end, co)
        alpha = (fp / (fp - fo)).clamp(0, 1)[:, None]  # where the edge crosses p→o, differentiable
        col_p, col_o = flat_color[p], flat_color[o]
        inside_p = (alpha < 0.5).to(color.dtype)
        # alpha < 0.5: p is only partly covered → blend p toward o; else o is partly covered → blend o toward p.
        delta_p = inside_p * (0.5 - alpha) * (col_o - col_p)
        delta_o = (1 - inside_p) * (alpha - 0.5) * (col_p - col_o)
        out = flat_color.index_add(0, p, delta_p).index_add(0, o, delta_o)
        return out.view(batch, height, width, channels)

    # -------------------------------------------------------------------- texture
    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary_mode: str = "wrap") -> torch.Tensor:
        if boundary_mode == "cube":
            return _cube_lookup(tex, uv)
        if boundary_mode not in ("wrap", "clamp"):
            raise ValueError(f"boundary_mode must be 'wrap', 'clamp' or 'cube', got {boundary_mode!r}")
        if tex.ndim != 3:
            raise ValueError(f"tex must be [Ht, Wt, C], got shape {tuple(tex.shape)}")
        if uv.shape[-1] != 2:
            raise ValueError(f"uv must be [..., 2], got shape {tuple(uv.shape)}")
        return _bilinear(tex, uv[..., 0] * tex.shape[1] - 0.5, uv[..., 1] * tex.shape[0] - 0.5, boundary_mode)


def _bilinear(tex: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mode: str, face: torch.Tensor | None = None) -> torch.Tensor:
    """Bilinear sample of ``tex`` ([Ht, Wt, C], or [6, R, R, C] with ``face``) at texel coords ``x, y``."""
    ht, wt = tex.shape[-3], tex.shape[-2]
    x0 = torch.floor(x)
    y0 = torch.floor(y)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    x0, y0 = x0.long(), y0.long()
    flat = tex.reshape(-1, tex.shape[-1])
    offset = 0 if face is None else face * (ht * wt)

    def fetch(ix: torch.Tensor, iy: torch.Tensor) -> torch.Tensor:
        if mode == "wrap":
            ix, iy = ix % wt, iy % ht
        else:
            ix, iy = ix.clamp(0, wt - 1), iy.clamp(0, ht - 1)
        return flat[offset + iy * wt + ix]

    top = fetch(x0, y0) * (1 - fx) + fetch(x0 + 1, y0) * fx
    bottom = fetch(x0, y0 + 1) * (1 - fx) + fetch(x0 + 1, y0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def _cube_lookup(cube: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Sample a cube map ``[6, R, R, C]`` (faces +x, -x, +y, -y, +z, -z, OpenGL layout) along ``[..., 3]`` directions.

    Faces are filtered bilinearly with clamping at face borders (no filtering across faces).
    """
    if cube.ndim != 4 or cube.shape[0] != 6 or cube.shape[1] != cube.shape[2]:
        raise ValueError(f"cube map must be [6, R, R, C], got shape {tuple(cube.shape)}")
    if direction.shape[-1] != 3:
        raise ValueError(f"cube map lookups need [..., 3] directions, got shape {tuple(direction.shape)}")
    x, y, z = direction.unbind(-1)
    ax, ay, az = x.abs(), y.abs(), z.abs()
    major_x = (ax >= ay) & (ax >= az)
    major_y = ~major_x & (ay >= az)
    face = torch.where(major_x, torch.where(x >= 0, 0, 1), torch.where(major_y, torch.where(y >= 0, 2, 3), torch.where(z >= 0, 4, 5)))
    # (sc, tc, ma) per face as in the OpenGL specification's cube-map face selection table.
    sc = torch.stack([-z, z, x, x, x, -x], -1).gather(-1, face[..., None])[..., 0]
    tc = torch.stack([-y, -y, z, -z, -y, -y], -1).gather(-1, face[..., None])[..., 0]
    ma = torch.stack([ax, ax, ay, ay, az, az], -1).gather(-1, face[..., None])[..., 0].clamp_min(1e-12)
    res = cube.shape[1]
    s = (sc / ma + 1) * 0.5 * res - 0.5
    t = (tc / ma + 1) * 0.5 * res - 0.5
    return _bilinear(cube, s, t, "clamp", face=face.long())


register_backend("torch", TorchBackend, auto_priority=100)
