"""drot's compiled extension ``drot._C``: find it, load it once, say once when it is missing.

``drot._C`` registers ``torch.ops.drot.freeze_surface_points`` (and its backward), the C++ / CUDA
version of :func:`drot.render.proxies.freeze_surface_points_reference`, and the multiscale Sinkhorn's
CPU loops ``torch.ops.drot.sparse_*`` (:mod:`drot.matching.sparse_pairs` probes those itself). It is
optional: without it drot runs the PyTorch references, which compute the same values and gradients. Build it with
``python3 -m drot.build_extension`` (CMake, against the installed torch).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import sys

import torch

BUILD_COMMAND = "python3 -m drot.build_extension"


@dataclasses.dataclass(frozen=True)
class ExtensionStatus:
    """Whether ``drot._C`` loaded (``available``), with CUDA kernels (``with_cuda``), or why not (``reason``)."""

    available: bool
    with_cuda: bool
    reason: str


@functools.lru_cache(maxsize=None)
def extension_status() -> ExtensionStatus:
    """Import ``drot._C`` (once) and report the outcome; never raises."""
    try:
        module = importlib.import_module("drot._C")
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == "drot._C"
        reason = (f"the compiled op drot._C is not built ({BUILD_COMMAND} builds it)" if missing else
                  f"drot._C failed to load ({exc}); rebuild it against this torch with `{BUILD_COMMAND}`")
        return ExtensionStatus(False, False, reason)
    if not hasattr(torch.ops.drot, "freeze_surface_points"):  # pragma: no cover - a broken build
        return ExtensionStatus(False, False, "drot._C loaded but registered no operator; rebuild it")
    return ExtensionStatus(True, bool(getattr(module, "with_cuda", 0)), "ok")


def op_supports(device: torch.device) -> bool:
    """True when the compiled op has kernels for ``device`` (CPU always, CUDA if compiled with CUDA)."""
    status = extension_status()
    return status.available and (device.type == "cpu" or (device.type == "cuda" and status.with_cuda))


@functools.lru_cache(maxsize=None)
def announce_fallback(device_type: str) -> None:
    """Say once per device type, in one plain line on stderr, that the PyTorch reference replaces the
    compiled op, and why. Not a warning: the reference computes the same values, nothing is wrong,
    and a newcomer's first run should not show a traceback-like source line."""
    status = extension_status()
    reason = status.reason if not status.available else f"drot._C was compiled without {device_type} kernels"
    print(f"drot: {reason}; using the PyTorch reference on {device_type}", file=sys.stderr)
