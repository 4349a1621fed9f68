"""The rasterization backend interface and the registry that picks one.

Every backend follows nvdiffrast's conventions so that they are interchangeable:

* positions are clip-space, float32 ``[B, V, 4]`` (one set per view in the batch);
* triangles are int ``[F, 3]`` shared by the whole batch;
* ``rast`` is float32 ``[B, H, W, 4]`` holding ``(u, v, z/w, triangle_id + 1)`` per pixel, with
  ``triangle_id + 1 == 0`` on background pixels. ``u`` and ``v`` are the perspective-correct
  barycentric weights of the triangle's vertices 0 and 1 (vertex 2 gets ``1 - u - v``);
* image row 0 is the *bottom* of the picture (NDC y = -1), as in OpenGL and nvdiffrast.
  :mod:`drot.render.renderer` flips to the usual top-row-first layout.

A backend is probed for real before it is offered: :func:`get_backend` constructs it, and a
backend whose construction fails is reported with its reason instead of failing later.
"""
from __future__ import annotations

import abc
import dataclasses
import functools
import sys
from typing import Callable

import torch


class RasterBackend(abc.ABC):
    """Rasterize / interpolate / antialias / texture, with gradients like nvdiffrast."""

    name: str = "abstract"

    @abc.abstractmethod
    def rasterize(self, pos: torch.Tensor, tri: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
        """Visibility per pixel.

        Args:
            pos: float32 ``[B, V, 4]`` clip-space vertex positions.
            tri: int ``[F, 3]`` vertex indices.
            resolution: ``(H, W)``.

        Returns:
            ``rast`` float32 ``[B, H, W, 4]``; ``u, v`` are differentiable with respect to ``pos``.
        """

    @abc.abstractmethod
    def interpolate(self, attr: torch.Tensor, rast: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        """Barycentric interpolation of ``attr`` (``[V, C]`` or ``[B, V, C]``) → ``[B, H, W, C]`` (0 on background)."""

    @abc.abstractmethod
    def antialias(self, color: torch.Tensor, rast: torch.Tensor, pos: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
        """Analytic antialiasing of silhouette edges: ``[B, H, W, C]`` → ``[B, H, W, C]``.

        Gives the standard (per-pixel) derivatives with respect to ``pos`` at silhouettes.
        """

    @abc.abstractmethod
    def texture(self, tex: torch.Tensor, uv: torch.Tensor, boundary_mode: str = "wrap") -> torch.Tensor:
        """Bilinear texture lookup.

        ``tex`` is ``[Ht, Wt, C]`` (or ``[6, R, R, C]`` with ``boundary_mode="cube"``); ``uv`` is
        ``[..., 2]`` in [0, 1] (or ``[..., 3]`` directions for cube maps). Returns ``[..., C]``.
        """


def check_raster_inputs(pos: torch.Tensor, tri: torch.Tensor) -> None:
    """Refuse positions / triangles that no backend can rasterize, with a message saying what is wrong."""
    if pos.ndim != 3 or pos.shape[-1] != 4:
        raise ValueError(f"pos must be clip-space positions [B, V, 4], got shape {tuple(pos.shape)}")
    if tri.ndim != 2 or tri.shape[-1] != 3:
        raise ValueError(f"tri must be [F, 3] vertex indices, got shape {tuple(tri.shape)}")
    if tri.dtype not in (torch.int32, torch.int64):
        raise ValueError(f"tri must be an integer tensor, got {tri.dtype}")
    if pos.device != tri.device:
        raise ValueError(f"pos is on {pos.device} but tri is on {tri.device}")


@dataclasses.dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    reason: str


_FACTORIES: dict[str, Callable[[torch.device], RasterBackend]] = {}
# "auto" tries these in order and takes the first that constructs on the device.
_AUTO_ORDER: list[str] = []


def backend_names() -> list[str]:
    """Names of the registered backends (``"auto"`` picks among them)."""
    return list(_FACTORIES)


def register_backend(name: str, factory: Callable[[torch.device], RasterBackend], auto_priority: int | None = None) -> None:
    """Make a backend selectable by name; ``auto_priority`` (lower first) enters it in ``"auto"``."""
    _FACTORIES[name] = factory
    if auto_priority is not None and name not in _AUTO_ORDER:
        _AUTO_ORDER.insert(min(auto_priority, len(_AUTO_ORDER)), name)


@functools.lru_cache(maxsize=None)
def _probe(name: str, device: str) -> tuple[RasterBackend | None, str]:
    """Construct ``name`` on ``device`` once: ``(backend, "ok")`` or ``(None, one-line reason)``."""
    try:
        return _FACTORIES[name](torch.device(device)), "ok"
    except Exception as exc:  # a probe must never crash the caller
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return None, f"{type(exc).__name__}: {reason}"


@functools.lru_cache(maxsize=None)
def _say_skipped(name: str, device: str, reason: str) -> None:
    """Tell once (stderr) why a preferred backend is not used on an accelerator (never said for the CPU)."""
    print(f"drot: {name} backend not used on {device}: {reason}", file=sys.stderr)


def backend_status(device: torch.device | str = "cpu") -> list[BackendStatus]:
    """Probe every registered backend on ``device`` (by constructing it) and say why any is unusable."""
    device = str(torch.device(device))
    probes = {name: _probe(name, device) for name in _FACTORIES}
    return [BackendStatus(name, backend is not None, reason) for name, (backend, reason) in probes.items()]


def get_backend(name: str = "auto", device: torch.device | str = "cpu") -> RasterBackend:
    """Return a constructed backend (constructed once per name and device, then shared).

    ``"auto"`` takes the first backend in priority order that constructs on ``device``
    (nvdiffrast on CUDA when installed and working, else the pure-PyTorch backend); on a CUDA
    device it says once, in one line, why a preferred backend was skipped.
    """
    device = str(torch.device(device))
    if name == "auto":
        reasons = []
        for candidate in _AUTO_ORDER:
            backend, reason = _probe(candidate, device)
            if backend is not None:
                if torch.device(device).type != "cpu":
                    for skipped, why in reasons:
                        _say_skipped(skipped, device, why)
                return backend
            reasons.append((candidate, reason))
        raise RuntimeError(f"no rendering backend works on {device}: " + "; ".join(f"{n}: {r}" for n, r in reasons))
    if name not in _FACTORIES:
        raise ValueError(f"unknown rendering backend {name!r}; available: {sorted(_FACTORIES)}")
    backend, reason = _probe(name, device)
    if backend is None:
        raise RuntimeError(f"the {name} backend does not work on {device}: {reason}")
    return backend
