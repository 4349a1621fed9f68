"""Rendering: backend interface and registry, the pure-PyTorch backend, cameras, shading, renderer."""
from . import nvdiffrast_backend, torch_backend  # noqa: F401  (register the "nvdiffrast" and "torch" backends)
from .backend import RasterBackend, backend_status, get_backend, register_backend

__all__ = ["RasterBackend", "backend_status", "get_backend", "register_backend"]
