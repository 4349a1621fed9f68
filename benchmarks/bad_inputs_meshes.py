"""Bad mesh files and meshes for ``benchmarks/bad_inputs.py`` (area ``mesh``): ``drot.load_mesh`` and ``drot.Mesh``."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from bad_inputs import Case

import drot
from drot.scene.mesh import Mesh, mesh_from_arrays

QUAD = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n"


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def ply(faces: int, body: str = "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", vertices: int = 3) -> str:
    return (f"ply\nformat ascii 1.0\nelement vertex {vertices}\nproperty float x\nproperty float y\nproperty float z\n"
            f"element face {faces}\nproperty list uchar int vertex_indices\nend_header\n{body}")


def with_limit(limit: int, fn):
    """Run ``fn`` with ``$DROT_MESH_MEMORY_LIMIT`` set to ``limit`` bytes."""
    old = os.environ.get("DROT_MESH_MEMORY_LIMIT")
    os.environ["DROT_MESH_MEMORY_LIMIT"] = str(limit)
    try:
        return fn()
    finally:
        if old is None:
            del os.environ["DROT_MESH_MEMORY_LIMIT"]
        else:
            os.environ["DROT_MESH_MEMORY_LIMIT"] = old


def _big_glb(tmp: Path) -> Path:
    import trimesh

    path = tmp / "sphere.glb"
    trimesh.creation.icosphere(subdivisions=4).export(path)   # 5120 faces
    return path


CASES = [
    Case("mesh file missing", "mesh", lambda t: drot.load_mesh(t / "nope.obj"), ("nope.obj", "not found")),
    Case("mesh file is garbage", "mesh",
         lambda t: drot.load_mesh(write(t, "garbage.ply", b"ply\nformat binary_little_endian 1.0\n\x00\x01")),
         "garbage.ply"),
    Case("mesh file of points only", "mesh", lambda t: drot.load_mesh(write(t, "points.obj", QUAD)),
         ("points.obj", "no triangles")),
    Case("OBJ face index 0", "mesh", lambda t: drot.load_mesh(write(t, "zero.obj", QUAD + "f 0 1 2\nf 2 3 4\n")),
         ("zero.obj", "line 5", "index 0")),
    Case("OBJ texture index 0 (f 1/0 ...)", "mesh",
         lambda t: drot.load_mesh(write(t, "vt0.obj", QUAD + "vt 0 0\nf 1/0 2/1 3/1\n")), ("vt0.obj", "index 0")),
    Case("OBJ face index past the last vertex", "mesh",
         lambda t: drot.load_mesh(write(t, "past.obj", QUAD + "f 1 2 9\n")), ("past.obj", "out of range")),
    Case("PLY face index past the last vertex", "mesh",
         lambda t: drot.load_mesh(write(t, "badidx.ply", ply(1, "0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n"))),
         ("badidx.ply", "outside [0, 2]", "face 0")),
    Case("all faces degenerate (collinear)", "mesh",
         lambda t: drot.load_mesh(write(t, "line.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")),
         ("line.obj", "degenerate")),
    Case("all faces degenerate (repeated vertex)", "mesh",
         lambda t: drot.load_mesh(write(t, "repeat.obj", QUAD + "f 1 1 2\nf 3 3 4\n")), ("repeat.obj", "all 2 faces")),
    Case("NaN vertex in an OBJ", "mesh",
         lambda t: drot.load_mesh(write(t, "nan.obj", "v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")),
         ("nan.obj", "NaN", "vertex 2")),
    Case("inf vertex in a PLY", "mesh",
         lambda t: drot.load_mesh(write(t, "inf.ply", ply(1, "0 0 0\n1 0 0\n0 inf 0\n3 0 1 2\n"))), ("inf.ply", "inf")),
    Case("PLY header declaring 2e9 faces", "mesh",
         lambda t: drot.load_mesh(write(t, "huge.ply", ply(2_000_000_000))), ("huge.ply", "2,000,000,000 faces")),
    Case("20M-face OBJ (limit 1 GiB, f lines)", "mesh",
         lambda t: with_limit(2 ** 30, lambda: drot.load_mesh(write(t, "twenty.obj", QUAD + "f 1 2 3\n" * 20_000_000))),
         ("twenty.obj", "20,000,000 faces")),
    Case("GLB above the memory limit (1 MiB)", "mesh",
         lambda t: with_limit(2 ** 20, lambda: drot.load_mesh(_big_glb(t))), ("sphere.glb", "5,120 faces")),
    Case("Mesh with float faces", "mesh",
         lambda t: Mesh(torch.zeros(3, 3), torch.tensor([[0.0, 1.0, 2.0]])), ("faces", "integer")),
    Case("Mesh with a NaN vertex", "mesh",
         lambda t: mesh_from_arrays([[0, 0, 0], [1, 0, 0], [0, np.nan, 0]], [[0, 1, 2]]), ("vertex 2", "NaN")),
    Case("Mesh face index -1", "mesh",
         lambda t: mesh_from_arrays(np.eye(3), [[0, 1, -1]]), ("outside [0, 2]", "face 0 = [0, 1, -1]")),
]
