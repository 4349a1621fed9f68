"""Checks of a mesh file's contents that :class:`~drot.scene.mesh.Mesh` cannot make by itself.

:func:`drot.load_mesh` runs them, naming the file:

* :func:`check_face_budget` — a mesh too large for this machine: the face count (from the file's
  header where the format has one, else after parsing) times :data:`BYTES_PER_FACE` against
  :func:`mesh_memory_limit` (half the available memory, or ``$DROT_MESH_MEMORY_LIMIT`` bytes), before
  any tensor is built;
* :func:`check_obj_indices` — an OBJ face index 0 (OBJ counts from 1; trimesh silently turns 0 into
  another vertex);
* :func:`check_degenerate_faces` — zero-area faces: a warning with their count, an error when every
  face is degenerate (nothing would be drawn).

The NaN / inf vertex and out-of-range index checks are :class:`Mesh`'s own; ``load_mesh`` adds the
file's name to them.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch

from .mesh import MeshError

#: Estimated bytes per triangle of drot's working set for a mesh: its tensors (vertices, faces,
#: normals, colours/UVs, clip-space positions), the rasterizer's per-triangle buffers and their
#: gradients. An estimate, deliberately generous: it guards against files that cannot fit at all.
BYTES_PER_FACE = 1024
#: Environment variable that overrides :func:`mesh_memory_limit` (bytes).
LIMIT_VARIABLE = "DROT_MESH_MEMORY_LIMIT"


class MeshTooLargeError(MeshError, MemoryError):
    """A mesh whose estimated working set exceeds :func:`mesh_memory_limit` (a MeshError and a MemoryError)."""


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def mesh_memory_limit() -> int | None:
    """Bytes a loaded mesh may take: ``$DROT_MESH_MEMORY_LIMIT`` if set, else half the available
    memory (``MemAvailable``); None when neither is known (no limit)."""
    value = os.environ.get(LIMIT_VARIABLE)
    if value:
        try:
            return int(float(value))
        except ValueError:
            raise ValueError(f"${LIMIT_VARIABLE} must be a number of bytes, got {value!r}") from None
    available = _available_memory()
    return None if available is None else available // 2


def _size(n: float) -> str:
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def check_face_budget(path: Path, faces: int, where: str = "") -> None:
    """Raise :class:`MeshTooLargeError` when ``faces`` x :data:`BYTES_PER_FACE` exceeds the limit."""
    limit = mesh_memory_limit()
    need = int(faces) * BYTES_PER_FACE
    if limit is not None and need > limit:
        source = f"${LIMIT_VARIABLE}" if os.environ.get(LIMIT_VARIABLE) else \
            f"half the available memory; set ${LIMIT_VARIABLE} in bytes to change it"
        raise MeshTooLargeError(
            f"mesh file {path} has {int(faces):,} faces{where}: about {_size(need)} of memory at ~{BYTES_PER_FACE} "
            f"bytes per face, above the limit of {_size(limit)} ({source}). Decimate the mesh to at most "
            f"{limit // BYTES_PER_FACE:,} faces")


def header_face_count(path: Path) -> int | None:
    """The face count a file declares before its data (PLY and OFF headers, binary STL), or, for an
    OBJ, the number of ``f`` lines (counted without parsing). None for other formats."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".obj":
            count, tail = 0, b"\n"
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    data = tail + chunk
                    count += data.count(b"\nf ") + data.count(b"\nf\t")
                    tail = data[-1:]
            return count
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if suffix == ".ply":
            m = re.search(rb"element\s+face\s+(\d+)", head.split(b"end_header")[0])
            return int(m.group(1)) if m else None
        if suffix == ".off":
            lines = [ln for ln in head.decode("latin1").splitlines() if ln.strip() and not ln.startswith("#")]
            if lines and lines[0].strip().endswith("OFF"):
                counts = (lines[0].split()[1:] if len(lines[0].split()) > 1 else lines[1].split())
                return int(counts[1]) if len(counts) > 1 else None
        if suffix == ".stl" and not head[:5].lower().startswith(b"solid") and len(head) >= 84:
            return int.from_bytes(head[80:84], "little")
    except (OSError, ValueError, IndexError):
        return None
    return None


_OBJ_ZERO = re.compile(rb"^f[ \t]+(?:[^\n#]*?[ \t/])?0(?=[ \t/\r\n#]|$)", re.M)  # a 0 before any comment


def check_obj_indices(path: Path) -> None:
    """Raise MeshError for an OBJ ``f`` line with an index 0 (OBJ indices count from 1, or back from -1)."""
    data = path.read_bytes()
    m = _OBJ_ZERO.search(data)
    if m:
        line = data.count(b"\n", 0, m.start()) + 1
        text = data[m.start(): data.find(b"\n", m.start()) if b"\n" in data[m.start():] else len(data)]
        bad = sum(1 for _ in _OBJ_ZERO.finditer(data))
        raise MeshError(f"mesh file {path}, line {line} ({text.decode('latin1').strip()!r}): face index 0; OBJ indices "
                        f"count from 1 (1 to V, or -1 back to -V from the last vertex); {bad} face line(s) have a 0")


def degenerate_faces(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Bool ``[F]``: faces of (near) zero area — twice the area at most 1e-12 x the squared bounding-box diagonal."""
    v = vertices.double()
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    twice_area = torch.linalg.cross(b - a, c - a).norm(dim=1)
    diag2 = float((v.max(0).values - v.min(0).values).square().sum())
    return twice_area <= 1e-12 * diag2


def check_degenerate_faces(path: Path, vertices: torch.Tensor, faces: torch.Tensor) -> None:
    """Warn with the count of zero-area faces; raise MeshError when every face has zero area."""
    bad = degenerate_faces(vertices, faces)
    n = int(bad.sum())
    if n == len(faces):
        raise MeshError(f"mesh file {path}: all {n} faces are degenerate (zero area: repeated or collinear vertices); "
                        f"nothing would be drawn. Expected triangles with three distinct, non-collinear corners")
    if n:
        first = int(bad.nonzero()[0])
        warnings.warn(f"mesh file {path}: {n} of {len(faces)} faces are degenerate (zero area, first: face {first}); "
                      f"they cover no pixel and are kept", UserWarning, stacklevel=4)
