"""Rendering: backend interface and registry, the pure-PyTorch backend, cameras, shading, renderer.

``drot.render`` is this package (``import drot.render.torch_dr as dr`` works); the function that
renders views is :func:`drot.render_views`. Calling the package, ``drot.render_views(state, views, ...)``,
is that function's old name: it still works, with a DeprecationWarning.
"""
import sys
import types
import warnings

from . import nvdiffrast_backend, torch_backend  # noqa: F401  (register the "nvdiffrast" and "torch" backends)
from .backend import RasterBackend, backend_status, get_backend, register_backend
from .renderer import render as _render_views

__all__ = ["RasterBackend", "backend_status", "get_backend", "register_backend"]


class _CallablePackage(types.ModuleType):
    """This package's module type: a module that can still be called as the old ``drot.render_views(...)``."""

    def __call__(self, *args, **kwargs):
        warnings.warn("drot.render(...) is now drot.render_views(...) (drot.render is the rendering package); "
                      "the old name will be removed", DeprecationWarning, stacklevel=2)
        return _render_views(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
