"""The nvdiffrast backend: NVIDIA's CUDA rasterizer behind drot's backend interface.

Optional: ``pip install -e ".[cuda]"`` installs ``diffrp-nvdiffrast`` (a PyPI redistribution of
nvdiffrast under NVIDIA's non-commercial licence; it compiles its CUDA plugin on first use, which
needs nvcc and ninja). The backend is offered only when constructing a ``RasterizeCudaContext``
succeeds on the device — the real probe, as kaolin does — and ``"auto"`` prefers it on CUDA.

What is cached, per backend (one per device): the rasterizer context, the int32 copy of each
triangle tensor and its antialiasing topology hash (keyed on the tensor, which is kept alive so
its storage cannot be reused by another tensor). The rasterization itself is reused between
matchings by the optimizer (proxies are re-evaluated on a K-iteration-old ``rast``).
"""
from __future__ import annotations

import collections

import torch

from .backend import RasterBackend, check_raster_inputs, register_backend

INSTALL_HINT = 'pip install -e ".[cuda]"  (installs diffrp-nvdiffrast; needs nvcc and ninja on first use)'


class NvdiffrastBackend(RasterBackend):
    """:class:`~drot.render.backend.RasterBackend` on nvdiffrast's CUDA rasterizer (``RasterizeCudaContext``)."""

    name = "nvdiffrast"
    _CACHE_SIZE = 8

    def __init__(self, device: torch.device | str = "cuda") -> None:
        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise RuntimeError(f"nvdiffrast rasterizes on CUDA devices only, not {self.device}")
        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device (CPU-only torch build, or no driver)")
        try:
            import nvdiffrast.torch as dr
        except ImportError as exc:
            raise RuntimeError(f"nvdiffrast is not installed ({exc}); {INSTALL_HINT}") from None
        self._dr = dr
        # The probe: builds (first time) and loads nvdiffrast's plugin, and allocates the context.
        self._context = dr.RasterizeCudaContext(device=self.device)
        self._triangles: collections.OrderedDict[int, tuple[torch.Tensor, int, torch.Tensor, object]] = \
            collections.OrderedDict()

    # ----------------------------------------------------------------- caching
    def _topology(self, tri: torch.Tensor) -> tuple[torch.Tensor, object]:
        """``(tri as contiguous int32, lazily built topology hash)`` for ``tri``, cached."""
        key = id(tri)
        hit = self._triangles.get(key)
        if hit is not None and hit[0] is tri and hit[1] == tri._version:
            self._triangles.move_to_end(key)
            return hit[2], hit[3]
        tri32 = tri.to(device=self.device, dtype=torch.int32).contiguous()
        self._triangles[key] = (tri, tri._version, tri32, None)
        while len(self._triangles) > self._CACHE_SIZE:
            self._triangles.popitem(last=False)
        return tri32, None

    def _topology_hash(self, tri: torch.Tensor):
        tri32, hashed = self._topology(tri)
        if hashed is None:
            hashed = self._dr.antialias_construct_topology_hash(tri32)
            entry = self._triangles[id(tri)]
            self._triangles[id(tri)] = (entry[0], entry[1], entry[2], hashed)
        return tri32, hashed

    def _check_device(self, *tensors: torch.Tensor) -> None:
        for t in tensors:
            if t.device != self.device:
                raise ValueError(f"the nvdiffrast backend on {self.device} got a tensor on {t.device}")

    # --------------------------------------------------------------- interface
    def rasterize(self, pos: torch.Tensor, tri: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
        check_raster_inputs(pos, tri)
        self._check_device(pos)
        height, width = int(resolution[0]), int(resolution[1])
        if height <= 0 or width <= 0:
            raise ValueError(f"resolution must be positive, got {resolution}")
        tri32, _ = self._topology(tri)
        rast, _ = self._dr.rasterize(self._context, pos.float().contiguous(), tri32, resolution=[height, width],
                                     grad_db=False)
        return rast

    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        if attr.ndim not in (2, 3):
            raise ValueError(f"attr must be [V, C] or [B, V, C], got shape {tuple(attr.shape)}")
        self._check_device(attr, rast)
        tri32, _ = self._topology(tri)
        attr = attr[None] if attr.ndim == 2 else attr  # instanced mode: broadcast along the batch
        out, _ = self._dr.interpolate(attr.float().contiguous(), rast.contiguous(), tri32)
        return out

    def antialias(self, color: torch.Tensor, rast: torch.Tensor, pos: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        check_raster_inputs(pos, tri)
        if rast.shape[:3] != color.shape[:3]:
            raise ValueError(f"color {tuple(color.shape)} and rast {tuple(rast.shape)} differ in [B, H, W]")
        self._check_device(color, rast, pos)
        tri32, hashed = self._topology_hash(tri)
        return self._dr.antialias(color.float().contiguous(), rast.contiguous(), pos.float().contiguous(), tri32,
                                  topology_hash=hashed)

    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary_mode: str = "wrap") -> torch.Tensor:
        if boundary_mode not in ("wrap", "clamp", "cube"):
            raise ValueError(f"boundary_mode must be 'wrap', 'clamp' or 'cube', got {boundary_mode!r}")
        cube = boundary_mode == "cube"
        if cube and (tex.ndim != 4 or tex.shape[0] != 6 or tex.shape[1] != tex.shape[2]):
            raise ValueError(f"cube map must be [6, R, R, C], got shape {tuple(tex.shape)}")
        if not cube and tex.ndim != 3:
            raise ValueError(f"tex must be [Ht, Wt, C], got shape {tuple(tex.shape)}")
        if uv.shape[-1] != (3 if cube else 2):
            raise ValueError(f"uv must be [..., {3 if cube else 2}], got shape {tuple(uv.shape)}")
        self._check_device(tex, uv)
        # nvdiffrast samples [minibatch, H, W, 2|3] coordinates: lay any [..., 2|3] out as one column.
        lead = uv.shape[:-1]
        flat_uv = uv.float().reshape(1, -1, 1, uv.shape[-1]).contiguous()
        out = self._dr.texture(tex.float()[None].contiguous(), flat_uv, filter_mode="linear",
                               boundary_mode=boundary_mode)
        return out.reshape(*lead, tex.shape[-1])


register_backend("nvdiffrast", NvdiffrastBackend, auto_priority=0)
