"""Shading seams: the largest angle between the normals of vertices at the same position, with
``merge_seams`` off (drot's default) and on, for meshes written as textured OBJ files and read back
with ``drot.load_mesh``.

    PYTHONPATH=. python benchmarks/seam_normals.py      # a few seconds (PYTHONPATH: this checkout's drot)

Meshes: a textured cube (``kit.box``: corners duplicated per side, as OBJ exporters write them),
the kit's ``uv_sphere`` and ``cylinder`` as they are (shared vertices: no seam), and the same two
with a UV seam cut (the vertices on the u = 0/1 meridian duplicated, as any UV-unwrapped file has
them), each exported by trimesh with a texture (OBJ + MTL + PNG) into a temporary folder.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
import trimesh
from PIL import Image

import drot
from drot.render.state import vertex_normals
from drot.scene import kit
from drot.scene.mesh import weld_groups
from drot.scene.texture import checker, project_uvs


def max_angle_deg(normals: torch.Tensor, groups: torch.Tensor) -> float:
    """Largest angle (degrees) between the normals of two vertices of one group."""
    n, worst = normals.double(), 0.0
    for g in torch.unique(groups):
        idx = (groups == g).nonzero().reshape(-1)
        if len(idx) > 1:
            a, b = n[idx][:, None].expand(-1, len(idx), -1), n[idx][None].expand(len(idx), -1, -1)
            angle = torch.atan2(torch.linalg.cross(a, b).norm(dim=-1), (a * b).sum(-1))  # exact near 0, unlike arccos
            worst = max(worst, float(angle.max()))
    return float(np.degrees(worst))


def cut_u_seam(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray):
    """Duplicate the vertices of the triangles that wrap across u = 0/1, giving those copies u + 1."""
    vertices, uv, faces = list(vertices), list(uv), faces.copy()
    copies: dict[int, int] = {}
    for f in faces:
        us = [uv[i][0] for i in f]
        if max(us) - min(us) > 0.5:
            for k, i in enumerate(f):
                if uv[i][0] < 0.5:
                    if i not in copies:
                        copies[i] = len(vertices)
                        vertices.append(vertices[i])
                        uv.append(uv[i] + np.array([1.0, 0.0]))
                    f[k] = copies[i]
    return np.asarray(vertices), faces, np.asarray(uv)


def write_obj(folder: Path, name: str, vertices, faces, uv) -> Path:
    image = Image.fromarray((checker(32, 4).numpy()[::-1] * 255).astype(np.uint8))
    mat = trimesh.visual.material.SimpleMaterial(image=image)
    mesh = trimesh.Trimesh(vertices, faces, process=False, visual=trimesh.visual.TextureVisuals(uv=uv, material=mat))
    (folder / name).mkdir()
    mesh.export(folder / name / f"{name}.obj")
    return folder / name / f"{name}.obj"


def measure(label: str, path: Path) -> None:
    split, merged = drot.load_mesh(path), drot.load_mesh(path, merge_seams=True)
    groups = merged.normal_groups
    before = max_angle_deg(vertex_normals(split.vertices, split.faces), groups)
    after = max_angle_deg(vertex_normals(merged.vertices, merged.faces, groups), groups)
    shared = int((torch.bincount(groups) > 1).sum())
    assert torch.equal(split.uvs, merged.uvs)
    print(f"{label:34s} {split.num_vertices:6d} {shared:9d} {before:10.3f} {after:10.2e}")


def main() -> None:
    print(f"{'mesh (textured OBJ, read back)':34s} {'verts':>6s} {'split pos':>9s} "
          f"{'before °':>10s} {'after °':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        box = kit.box()
        side_uv = np.tile(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), (6, 1))
        measure("textured cube (kit.box)", write_obj(folder, "cube", box.vertices.numpy(), box.faces.numpy(), side_uv))
        for name, mesh, projection in (("uv_sphere", kit.uv_sphere(), "spherical"),
                                       ("cylinder", kit.cylinder(), "cylindrical")):
            v, f = mesh.vertices.numpy(), mesh.faces.numpy()
            uv = project_uvs(mesh.vertices, projection, axis="y").numpy().astype(np.float64)
            measure(f"kit.{name} (no seam)", write_obj(folder, name, v, f, uv))
            measure(f"kit.{name}, UV seam cut", write_obj(folder, f"{name}_cut", *cut_u_seam(v, f, uv)))
        # the welded groups agree with trimesh's own vertex merge (a cross-check of weld_groups)
        t = trimesh.Trimesh(box.vertices.numpy(), box.faces.numpy(), process=False)
        t.merge_vertices()
        assert len(torch.unique(weld_groups(box.vertices))) == len(t.vertices) == 8


if __name__ == "__main__":
    main()
