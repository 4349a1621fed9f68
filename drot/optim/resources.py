"""Memory guard: refuse, before allocating, a run whose renders cannot fit in the available memory.

:func:`estimate_bytes` is a rough peak of one run of :func:`drot.optimize`: the largest of

* a render of every view at once without gradients (the target, the initial and final images,
  ``eval_every``): :data:`BYTES_PER_PIXEL_VIEW` per pixel per view;
* an iteration's render of one view with gradients, backward included: :data:`BYTES_PER_PIXEL_STEP`
  per pixel (of the supersampled render with ``l2_supersample``);

plus the images the run keeps (:data:`BYTES_PER_PIXEL_KEPT` per pixel per view) and
:data:`BYTES_PER_FACE` per triangle of the mesh (clip-space corners, z-buffer candidates, the
antialiasing's edge tables, vertex normals and their gradients).

How the figures were measured (pure-PyTorch backend, torch 2.13 CPU, one process per case): the
growth of the peak resident set size (``resource.getrusage(...).ru_maxrss``) over a warm-up render
of the same scene at 8², for a render of every view at the target values and for one view
rendered with gradients plus ``backward()``, at 256² and 512² on kitty, box, outdoor, teapot and
joint (and the paper's box and joint). Per pixel per view without gradients: 168–172 B (kitty, 4–6 %
covered), 175–185 (teapot), 220–255 (joint, paper box), 310–372 (box at 64 % coverage, outdoor with
its environment map); with gradients: 180–350 B (teapot, kitty) to 590–670 B (box, outdoor, joint).
Per triangle: a uv-sphere of 159 200, 638 400 and 2 556 800 faces in kitty's 6-view rig at 32²
(warm-up: the same render with a 256-face sphere), 413–421 B (every view, no gradients) and
331–358 B (one view with gradients). ``python benchmarks/render_memory.py`` repeats them. The
constants round the largest of each up, so the estimate errs on the side of a fully covered image;
the matching (RGBXY iterations) and the soft rasterizer (``strategy="softras"``) are not included.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

#: Bytes per pixel and view of a render of several views without gradients (measured up to 372).
BYTES_PER_PIXEL_VIEW = 400
#: Bytes per pixel of one view rendered with gradients, backward included (measured up to 668).
BYTES_PER_PIXEL_STEP = 700
#: Bytes per pixel and view of the images a run keeps (target, mask, initial and final renders).
BYTES_PER_PIXEL_KEPT = 40
#: Bytes per mesh triangle (measured up to 421).
BYTES_PER_FACE = 448


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes that can still be allocated on ``device`` (None when unknown): on CUDA the free device
    memory; on the CPU ``MemAvailable`` of /proc/meminfo (else the physical memory), capped by a
    cgroup (container) limit."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # cgroup v2: the container's limit less what it uses
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            available = min(available, max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    return available


def estimate_bytes(resolution: tuple[int, int], views: int, faces: int, step_scale: int = 1) -> int:
    """Rough peak bytes of a run rendering ``views`` views at ``resolution`` of a mesh of ``faces``
    triangles, whose steps render at up to ``step_scale`` times the resolution (``l2_supersample``)."""
    pixels = int(resolution[0]) * int(resolution[1])
    render = max(BYTES_PER_PIXEL_VIEW * views * pixels, BYTES_PER_PIXEL_STEP * pixels * int(step_scale) ** 2)
    return render + BYTES_PER_PIXEL_KEPT * views * pixels + BYTES_PER_FACE * int(faces)


def _gib(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def check_memory(resolution: tuple[int, int], views: int, faces: int, device: torch.device | str = "cpu",
                 what: str = "the scene", step_scale: int = 1) -> int:
    """Raise :class:`MemoryError` when the :func:`estimate_bytes` of a run exceeds the
    :func:`available_memory`; returns the estimate."""
    need = estimate_bytes(resolution, views, faces, step_scale)
    free = available_memory(device)
    if free is not None and need > free:
        h, w = resolution
        raise MemoryError(
            f"drot.optimize: {what} at resolution {h}x{w} with {views} view(s) and a mesh of {faces} triangles needs "
            f"about {_gib(need)} to render (estimate: {BYTES_PER_PIXEL_VIEW} B per pixel per view, "
            f"{BYTES_PER_PIXEL_STEP} B per pixel of a step with gradients, {BYTES_PER_FACE} B per triangle) but only "
            f"{_gib(free)} of {torch.device(device).type} memory is available; lower the resolution "
            f"(load_scene(..., resolution=...)), use fewer views or a simpler mesh"
            + (f", or a smaller l2_supersample (steps render at {step_scale}x the resolution)" if step_scale > 1 else ""))
    return need
