"""Rendering: backend interface and registry, the pure-PyTorch backend, cameras, shading, renderer."""
from . import torch_backend  # noqa: F401  (registers the "torch" backend)
from .backend import RasterBackend, backend_status, get_backend, register_backend

__all__ = ["RasterBackend", "backend_status", "get_backend", "register_backend"]
