"""Mesh and texture files: the appearance a file carries, read through trimesh's visuals.

:func:`load_mesh` (``drot.load_mesh``) reads a mesh file. Appearance, per geometry of the file:

* ``TextureVisuals`` with UVs and a texture image (OBJ ``map_Kd``, glTF/GLB ``baseColorTexture``,
  times ``baseColorFactor``) → the mesh's ``uvs`` and ``texture``;
* a material without a texture (OBJ ``Kd``, glTF ``baseColorFactor``) → a flat per-vertex colour;
* ``ColorVisuals`` (PLY/OFF/GLB vertex colours) → per-vertex ``colors``.

Colours are 8-bit sRGB values divided by 255 (no linearisation, like the target images).
Whatever cannot be used is reported by a :class:`UserWarning` naming the file and what was dropped.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .image_files import image_file_problem, image_to_texture, load_texture  # noqa: F401  (this module's API too)
from .mesh import Mesh, MeshError, mesh_from_arrays, weld_groups
from .mesh_checks import check_degenerate_faces, check_face_budget, check_obj_indices, header_face_count
from .ply_checks import check_ply_body

GREY = 0.7  # drot's default albedo (Scene.evaluate, Mesh.concatenate)


def _warn(path: Path, message: str) -> None:
    warnings.warn(f"mesh file {path}: {message}", UserWarning, stacklevel=4)


def _obj_missing_files(path: Path) -> list[str]:
    """Material libraries (``mtllib``) and ``map_Kd`` images an OBJ names that are not on disk or not
    usable images (empty, not an image, truncated), each with why."""
    missing = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return missing
    for line in lines:
        if not line.startswith("mtllib"):
            continue
        name = line[len("mtllib"):].strip()
        mtl = path.parent / name
        if not mtl.is_file():
            missing.append(f"material library {name!r} not found")
            continue
        for entry in mtl.read_text(errors="replace").splitlines():
            parts = entry.split()
            if len(parts) > 1 and parts[0].lower() == "map_kd":
                image = " ".join(parts[1:]) if (mtl.parent / " ".join(parts[1:])).is_file() else parts[-1]
                if not (mtl.parent / image).is_file():
                    missing.append(f"texture image {image!r} (map_Kd in {name}) not found")
                elif (problem := image_file_problem(mtl.parent / image)) is not None:
                    missing.append(f"texture image {image!r} (map_Kd in {name}) {problem}")
    return missing


def _parts(loaded, path: Path) -> list:
    """``(label, mesh)`` for the triangle meshes of a loaded file, scene-graph transforms applied, in graph order."""
    import trimesh

    if isinstance(loaded, trimesh.Scene):
        parts, skipped = [], []
        for node in loaded.graph.nodes_geometry:
            transform, name = loaded.graph[node]
            geom = loaded.geometry[name]
            if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
                geom = geom.copy()
                geom.apply_transform(transform)
                parts.append((f"geometry {name!r}", geom))
            else:
                skipped.append(f"{name} ({type(geom).__name__})")
        if skipped:
            _warn(path, f"skipped {len(skipped)} geometries that are not triangle meshes: {', '.join(skipped)}")
        return parts
    if isinstance(loaded, trimesh.Trimesh):
        return [("the mesh", loaded)] if len(loaded.faces) else []
    return []


def _color(rgba, path: Path, what: str) -> np.ndarray:
    c = np.asarray(rgba, dtype=np.float64).reshape(-1)
    if c.size == 4 and c[3] < 255:
        _warn(path, f"{what}: the alpha (transparency) is dropped")
    return c[:3] / 255.0


def _appearance(geom, path: Path, label: str) -> dict:
    """``{"uv", "texture", "colors"}`` of one geometry (any may be None)."""
    from trimesh.visual import ColorVisuals, TextureVisuals
    from trimesh.visual.material import PBRMaterial, SimpleMaterial

    n = len(geom.vertices)
    out = {"uv": None, "texture": None, "colors": None, "name": label}
    visual = getattr(geom, "visual", None)
    if isinstance(visual, TextureVisuals):
        uv = None if visual.uv is None else np.asarray(visual.uv, dtype=np.float64)
        out["uv"] = uv if uv is not None and uv.shape == (n, 2) else None
        mat = visual.material
        image, factor = None, None
        if isinstance(mat, PBRMaterial):
            image = mat.baseColorTexture
            if mat.baseColorFactor is not None:
                factor = _color(mat.baseColorFactor, path, f"{label} baseColorFactor")
            flat = factor
        elif isinstance(mat, SimpleMaterial):
            if getattr(mat, "_name", None) is None:  # trimesh's placeholder (no material in the file)
                return out
            image, flat = mat.image, _color(mat.diffuse, path, f"{label} diffuse colour")
        else:
            if mat is not None:
                _warn(path, f"{label}: unsupported material type {type(mat).__name__}: rendered grey")
            return out
        if image is not None and out["uv"] is None:
            _warn(path, f"{label}: the texture is dropped because the geometry has no UVs; "
                        f"using the material's flat colour")
            image = None
        tex = None
        if image is not None:
            try:
                tex = image_to_texture(image, f"{label} texture")
            except ValueError as exc:  # undecodable (the OBJ's image file is named by read_mesh_file)
                _warn(path, f"{exc}: that texture is dropped, using the material's flat colour")
        if tex is not None:
            if factor is not None and not np.allclose(factor, 1.0):
                tex = tex * torch.as_tensor(factor, dtype=torch.float32)
            out["texture"] = tex
        elif flat is not None:
            out["colors"] = np.broadcast_to(flat, (n, 3)).copy()
    elif isinstance(visual, ColorVisuals):
        if visual.kind in ("vertex", "face"):
            vc = np.asarray(visual.vertex_colors)  # trimesh averages face colours at the vertices
            if visual.kind == "face":
                _warn(path, f"{label}: face colours are averaged at the vertices (drot colours vertices)")
            if vc.shape[1] == 4 and (vc[:, 3] < 255).any():
                _warn(path, f"{label}: the alpha (transparency) of the vertex colours is dropped")
            out["colors"] = vc[:, :3] / 255.0
    elif visual is not None:
        _warn(path, f"{label}: unsupported visual kind {type(visual).__name__}: rendered grey")
    return out


def _bake(appearance: dict) -> np.ndarray:
    """Per-vertex colours of one geometry: its texture sampled at its UVs, its colours, or grey."""
    from ..render.torch_backend import TorchBackend

    if appearance["texture"] is not None:
        uv = torch.as_tensor(appearance["uv"], dtype=torch.float32)
        return TorchBackend("cpu").texture(appearance["texture"], uv).double().numpy()
    if appearance["colors"] is not None:
        return appearance["colors"]
    return np.full((appearance["count"], 3), GREY)


def load_mesh(path: str | os.PathLike, merge_seams: bool = False) -> Mesh:
    """Load a triangle mesh file (OBJ, PLY, GLB/glTF, STL, OFF... anything trimesh reads) with its appearance.

    * OBJ + MTL: UVs and the texture image the MTL's ``map_Kd`` names (``Kd`` is not multiplied in:
      exporters often write Kd 0.8 next to a texture); without ``map_Kd``, ``Kd`` as a flat colour.
    * glTF / GLB: UVs and the embedded ``baseColorTexture`` times ``baseColorFactor``; without a
      texture, ``baseColorFactor`` as a flat colour.
    * PLY, OFF, GLB vertex colours: per-vertex ``colors`` (face colours averaged at the vertices).

    Textures follow :class:`Mesh`'s convention (row 0 = v of 0: the image rows are flipped) and
    colours are 8-bit sRGB values divided by 255 (no linearisation, like the target images).
    Multi-object files (scenes) are merged into one mesh, scene-graph transforms applied. When
    their geometries have different textures (or some have none), one texture cannot serve them
    all: every geometry is baked to per-vertex colours (its texture sampled at its vertex UVs, or
    its material's colour). Whatever is dropped — a texture without UVs, a missing MTL or image,
    several textures, transparency, an unsupported visual — is reported by a ``UserWarning``
    naming the file. UVs are kept even without a texture (a scene file's ``texture`` can use them).
    Vertex order is trimesh's with ``process=False``: the file's order, except that a textured
    OBJ's vertices are split where a position has several UVs.

    ``merge_seams``: give the vertices at the same position (split at UV seams, or duplicated by
    the exporter) one shared normal, by setting :attr:`Mesh.normal_groups` to :func:`weld_groups`;
    UVs, colours and vertex order are unchanged. It is off by default: drot then renders every file
    as before, and a position-only weld cannot tell a UV seam from an intended hard edge (a cube's
    corners are duplicated per side precisely to keep it flat-shaded; merged, the cube is shaded
    like a rounded object). Turn it on for smooth surfaces that show shading seams.

    Checks (:mod:`drot.scene.mesh_checks`; every message names the file): a face budget —
    faces x ~1 KiB against half the available memory (``$DROT_MESH_MEMORY_LIMIT`` bytes overrides
    it), taken from the header (PLY, OFF, binary STL) or the ``f`` lines (OBJ) before parsing; an
    OBJ face index 0 (the line is named); NaN / inf vertices and out-of-range indices (the first
    one named); zero-area faces: a ``UserWarning`` with their count, an error when all are.

    Raises:
        FileNotFoundError: the file does not exist.
        MeshError: the file cannot be parsed, holds no triangles, has an OBJ face index 0, NaN / inf
            vertices, faces indexing missing vertices, or only degenerate (zero-area) faces.
        drot.scene.mesh_checks.MeshTooLargeError: (a MeshError and a MemoryError) too many faces
            for the memory limit.
    """
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    declared = header_face_count(path)   # too large for memory? said before trimesh parses it
    if declared is not None:
        check_face_budget(path, declared, " (f lines)" if path.suffix.lower() == ".obj" else " (declared in its header)")
    if path.suffix.lower() == ".obj":
        check_obj_indices(path)
    if path.suffix.lower() == ".ply":
        check_ply_body(path)
    missing = _obj_missing_files(path) if path.suffix.lower() == ".obj" else []
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as exc:  # trimesh raises many exception types for corrupt files
        if isinstance(exc, IndexError) and "out of bounds" in str(exc):  # a face's index past the vertices
            raise MeshError(f"cannot read mesh file {path}: a face index is out of range ({exc}); faces must index "
                            f"existing vertices (OBJ: 1 to V, or -1 back to -V)") from exc
        if missing:  # an unusable texture image it tried to decode: name it, not the image library's words
            raise MeshError(f"cannot read mesh file {path}: {', '.join(missing)}") from exc
        raise MeshError(f"cannot read mesh file {path}: {exc}") from exc
    parts = _parts(loaded, path)
    if not parts:
        raise MeshError(f"mesh file {path} contains no triangles (faces)")
    if declared is None:
        check_face_budget(path, sum(len(g.faces) for _, g in parts))
    if missing:
        _warn(path, f"{', '.join(missing)}: that texture is dropped "
                    f"(rendered with the material's flat colour, or grey)")
    looks = []
    for label, geom in parts:
        look = _appearance(geom, path, label)
        look["count"] = len(geom.vertices)
        looks.append(look)
    parts = [geom for _, geom in parts]

    vertices = np.concatenate([np.asarray(g.vertices, dtype=np.float64) for g in parts])
    offsets = np.cumsum([0] + [len(g.vertices) for g in parts])[:-1]
    faces = np.concatenate([np.asarray(g.faces, dtype=np.int64) + o for g, o in zip(parts, offsets)])
    uvs = np.concatenate([a["uv"] for a in looks]) if all(a["uv"] is not None for a in looks) else None
    textures = [a["texture"] for a in looks if a["texture"] is not None]
    texture, colors = None, None
    if textures and len(textures) == len(looks) and all(
            t.shape == textures[0].shape and torch.equal(t, textures[0]) for t in textures):
        texture = textures[0]  # one texture shared by every geometry: kept
    elif textures:
        names = ", ".join(a["name"] for a in looks if a["texture"] is not None)
        plain = len(looks) - len(textures)
        _warn(path, f"{len(looks)} geometries with {len(textures)} textures ({names}) and {plain} untextured ones "
                    f"cannot share one texture: the textures are dropped and baked to per-vertex colours "
                    f"sampled at the vertex UVs (texture detail is lost)")
        colors = np.concatenate([_bake(a) for a in looks])
    elif any(a["colors"] is not None for a in looks):
        colors = np.concatenate([_bake(a) for a in looks])
    try:
        mesh = mesh_from_arrays(vertices, faces, colors, uvs, texture)
    except MeshError as exc:  # Mesh's own checks (NaN / inf vertices, face indices): name the file
        raise MeshError(f"mesh file {path}: {exc}") from None
    check_degenerate_faces(path, mesh.vertices, mesh.faces)
    if merge_seams:
        import dataclasses

        mesh = dataclasses.replace(mesh, normal_groups=weld_groups(mesh.vertices))
    return mesh
