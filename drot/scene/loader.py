"""Scene files: a scene described in TOML under ``scenes/`` and loaded by name or path.

Format (see ``scenes/kitty.toml`` for a complete, commented example; ``scenes/*.toml`` hold drot's
own eight evaluation scenes, ``scenes/paper/*.toml`` the paper's protocol, loaded as ``"paper/<name>"``)::

    name = "kitty"
    resolution = 128                      # or [H, W]
    light_position = [0, 2, 2]            # optional fixed point light (default: one at each camera)
    [mesh]
    procedural = "cat"                    # a name in drot.scene.procedural_meshes, or: file = "my_mesh.obj" (relative to the scene file)
    args = {}                             # keyword arguments of the generator
    normalize = true                      # centre and scale to a unit bounding box
    scale = 1.0                           # then multiply the vertices by this (scene units per mesh unit)
    uv = "planar"                         # optional: replace the mesh's UVs by a projection, "planar",
                                          # "spherical" or "cylindrical", or a table {projection, axis}
                                          # (drot.scene.texture.project_uvs; axis "x", "y" or "z")
    texture = { procedural = "checker" }  # optional fixed albedo texture [Ht, Wt, 3] (needs UVs), or an
                                          # image file: texture = "wood.png" (relative to the scene file);
                                          # replaces the texture a mesh file carries
    merge_seams = false                   # true: vertices at the same position share one normal (smooth
                                          # shading across UV / patch seams; UVs stay split; drot.load_mesh)
    [material]                            # ambient, diffuse, specular, shininess
    [environment]                         # optional fixed environment cube map [6, R, R, 3]: a procedural value
    procedural = "sky"
    [views]
    rig = "square"                        # six cameras on ±x, ±y, ±z; distance, jitter, center, fov, near, far, seed
    # or: rig = "random": count cameras from random directions; count, distance, elevation = [lo, hi]
    #     and azimuth = [lo, hi] (degrees), center, fov, near, far, seed
    # or: [[views.cameras]] with eye, target, up (and optional fov, near, far)
    [[parameters]]                        # one table per optimised parameter
    name = "translation"
    kind = "translation"                  # see drot.scene.kinds.KINDS
    target = [0, 0, 0]
    init_range = [-1, 1]                  # or: initial = [...]
    axis = [0, 1, 0]                      # rotation only: optimise one angle [1] about this axis
    pivot = [0, 0, 0]                     # rotation / euler: the point turned about (euler: default the centroid)
    [optimize]                            # optional protocol defaults for drot-bench / Table 1 (read by
    iterations = 1000                     # drot.eval.scene_benchmark): iterations, seeds, resolution, lr, lr_decay
    [benchmark]                           # drot-bench defaults for this scene (read by drot.eval.scene_benchmark)
    metric = "vertex_mae"                 # the scene's main metric: "vertex_mae" (lower is better) or "psnr" (dB, higher)
    success_threshold = 0.01              # a run counts as converged at vertex MAE <= threshold, or PSNR >= threshold

Several objects, instead of ``[mesh]`` (each rendered with the others; its parameters are named
``"<object>/<parameter>"``; the top-level ``[[parameters]]`` then hold only scene-wide kinds: camera
eye / look-at, environment)::

    [[objects]]
    name = "mug"
    position = [1.0, 0.0, 0.0]            # world position of the object's origin
    [objects.mesh]                        # the same keys as [mesh]
    file = "mug.glb"
    [objects.material]                    # the same keys as [material]
    diffuse = 0.7
    [[objects.parameters]]                # the same keys as [[parameters]], acting on this object
    name = "translation"
    kind = "translation"
    target = [0, 0, 0]
    initial = [0.5, 0, 0]

Procedural values: a parameter's ``target`` and ``initial``, the mesh's ``texture`` and the
``environment`` may be a table ``{procedural = NAME, args = {...}}`` instead of a literal array
(generators in :data:`drot.scene.values.GENERATORS`: ``constant``, ``checker``, ``patchwork``,
``stripes``, ``sky``, ``rbf_warp``). Written as sub-tables of the last ``[[parameters]]`` entry::

    [parameters.target]
    procedural = "sky"
    args = { resolution = 16 }
    [parameters.initial]
    procedural = "constant"               # shape taken from the target
    args = { value = 0.5 }

Search order for a name: an existing file path, each folder of ``$DROT_SCENE_PATH`` (``:``-separated),
the ``scenes/`` folder of the current directory, then the ``scenes/`` folder that ships with drot
(the source checkout's, or ``<prefix>/share/drot/scenes`` for a regular install).

Every table and key is checked first against :mod:`drot.scene.schema`: an unknown key (with the
closest valid one) or a value of the wrong type is an error naming the file, the table and the key.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import torch

from ..render.camera import Camera, random_views, square_views
from ..render.shading import Material
from . import values
from .mesh import Mesh, weld_groups
from .mesh_files import load_mesh, load_texture
from .objects import SceneObject
from .parameters import Parameter
from .procedural_meshes import PROCEDURAL
from .scene import Scene
from .schema import validate
from .texture import project_uvs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def scene_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("DROT_SCENE_PATH", "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "scenes")
    dirs.append(Path(__file__).resolve().parents[2] / "scenes")  # a source checkout (editable install)
    dirs.append(Path(sys.prefix) / "share" / "drot" / "scenes")  # a regular install
    seen, out = set(), []
    for d in dirs:
        r = d.resolve()
        if r not in seen and r.is_dir():
            seen.add(r)
            out.append(r)
    return out


def available_scenes(folder: str = "") -> list[str]:
    """Names of the scene files found on the search path (in its sub-folder ``folder``, e.g. ``"paper"``:
    the paper's protocol; load those as ``"paper/<name>"``)."""
    return sorted({p.stem for d in scene_dirs() for p in (d / folder).glob("*.toml")})


#: Suffixes of the mesh files drot.load_mesh reads: given to load_scene by mistake, they get a pointer.
MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".stl", ".off")


def find_scene_file(name: str | os.PathLike) -> Path:
    path = Path(name)
    if path.suffix.lower() in MESH_SUFFIXES:
        raise ValueError(f"{str(name)!r} is a mesh file; load_scene expects a scene name "
                         f"({', '.join(available_scenes()) or 'none found'}) or a .toml scene file. For a mesh: "
                         f"drot.load_mesh({str(name)!r}) and a drot.Scene around it, or a scene file with "
                         f"[mesh] file = {path.name!r} (docs/python-scenes.md)")
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"scene file not found: {path}")
        return path
    for d in scene_dirs():
        candidate = d / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise ValueError(f"unknown scene {str(name)!r}; available scenes: {', '.join(available_scenes()) or 'none found'} "
                     f"(or pass the path of a .toml scene file)")


def scene_config(name: str | os.PathLike) -> tuple[dict[str, Any], Path]:
    """The parsed TOML of a scene and the file it came from."""
    path = find_scene_file(name)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh), path
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"scene file {path} is not valid TOML: {exc}") from exc


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise ValueError(f"{where}: missing required key {key!r}")
    return table[key]


def _mesh(cfg: dict, base: Path) -> Mesh:
    where = f"scene file {base} [mesh]"
    args = cfg.get("args", {})
    if "file" in cfg:
        file = Path(cfg["file"])
        mesh = load_mesh(file if file.is_absolute() else base.parent / file)
    elif "procedural" in cfg:
        gen = PROCEDURAL.get(cfg["procedural"])
        if gen is None:
            raise ValueError(f"{where}: unknown procedural mesh {cfg['procedural']!r}; choose one of {', '.join(PROCEDURAL)}")
        try:
            mesh = gen(**args)
        except TypeError as exc:
            raise ValueError(f"{where}: bad `args` for procedural mesh {cfg['procedural']!r}: {exc}") from exc
    else:
        raise ValueError(f"{where}: give either `file` or `procedural`")
    mesh = mesh.normalized() if cfg.get("normalize", True) else mesh
    if "scale" in cfg:
        scale = cfg["scale"]
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"{where}: `scale` must be a positive number, got {scale!r}")
        mesh = dataclasses.replace(mesh, vertices=mesh.vertices * float(scale))
    if "uv" in cfg:
        uv = cfg["uv"] if isinstance(cfg["uv"], dict) else {"projection": cfg["uv"]}
        try:
            mesh = dataclasses.replace(mesh, uvs=project_uvs(mesh.vertices, **uv))
        except TypeError as exc:
            raise ValueError(f"{where}: `uv` takes `projection` and `axis`: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    if "texture" in cfg:
        if mesh.uvs is None:
            raise ValueError(f"{where}: a `texture` needs UVs: add e.g. uv = \"planar\" (this mesh has none)")
        if isinstance(cfg["texture"], str):  # an image file, relative to the scene file
            image = Path(cfg["texture"])
            image = image if image.is_absolute() else base.parent / image
            try:
                tex = load_texture(image)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{where}: `texture` = {cfg['texture']!r}: {exc}") from exc
        else:
            tex = _value(cfg["texture"], values.ValueContext(mesh), f"{where} texture")
        try:
            mesh = dataclasses.replace(mesh, texture=tex)  # Mesh checks the texture's shape
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    merge = cfg.get("merge_seams", False)
    if not isinstance(merge, bool):
        raise ValueError(f"{where}: `merge_seams` must be true or false, got {merge!r}")
    if merge:
        mesh = dataclasses.replace(mesh, normal_groups=weld_groups(mesh.vertices))
    return mesh


def _value(raw, ctx: values.ValueContext, where: str) -> torch.Tensor:
    """A literal array or a ``{procedural, args}`` table as a float32 tensor."""
    if values.is_spec(raw):
        return values.generate(raw, ctx, where)
    try:
        return torch.as_tensor(raw, dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected numbers, a nested array or a {{procedural, args}} table: {exc}") from exc


def _views(cfg: dict, where: str) -> list[Camera]:
    rig = cfg.get("rig", "square" if "cameras" not in cfg else None)
    common = {k: cfg[k] for k in ("fov", "near", "far") if k in cfg}
    if rig == "square":
        return square_views(distance=cfg.get("distance", 2.0), jitter=cfg.get("jitter", 0.1),
                            center=tuple(cfg.get("center", (0.0, 0.0, 0.0))), fov_y=common.get("fov", 60.0),
                            near=common.get("near", 0.01), far=common.get("far", 100.0), seed=cfg.get("seed", 0))
    if rig == "random":
        return random_views(count=cfg.get("count", 4), distance=cfg.get("distance", 8.0),
                            elevation=tuple(cfg.get("elevation", (0.0, 360.0))),
                            azimuth=tuple(cfg.get("azimuth", (-180.0, 180.0))),
                            center=tuple(cfg.get("center", (0.0, 0.0, 0.0))), fov_y=common.get("fov", 60.0),
                            near=common.get("near", 0.01), far=common.get("far", 100.0), seed=cfg.get("seed", 0))
    if rig is not None:
        raise ValueError(f"{where}: unknown camera rig {rig!r} (use 'square', 'random' or a list of [[views.cameras]])")
    cams = []
    for i, c in enumerate(cfg["cameras"]):
        t = lambda k, d=None: torch.tensor(c.get(k, d) if d is not None else _require(c, k, f"{where} camera {i}"), dtype=torch.float32)  # noqa: E731
        cams.append(Camera(t("eye"), t("target", [0.0, 0.0, 0.0]), t("up", [0.0, 1.0, 0.0]),
                           c.get("fov", common.get("fov", 60.0)), c.get("near", common.get("near", 0.01)),
                           c.get("far", common.get("far", 100.0))))
    return cams


def load_scene(name: str | os.PathLike, resolution: int | None = None) -> Scene:
    """Build the :class:`Scene` described by a scene file (by name or path)."""
    return scene_from_config(*scene_config(name), resolution=resolution)


def _parameters(entries, mesh: Mesh, where: str, table: str = "[[parameters]]") -> list[Parameter]:
    """The ``[[parameters]]`` tables of a scene (or of one object, acting on ``mesh``)."""
    params = []
    for i, p in enumerate(entries):
        here = f"{where} {table} #{i}"
        try:
            kind = _require(p, "kind", here)
            target = _value(_require(p, "target", here), values.ValueContext(mesh, kind), f"{here} target")
            initial = (_value(p["initial"], values.ValueContext(mesh, kind, like=target), f"{here} initial")
                       if "initial" in p else None)
            params.append(Parameter(
                name=_require(p, "name", here), kind=kind, target=target, initial=initial,
                init_range=tuple(p["init_range"]) if "init_range" in p else None, axis=p.get("axis"),
                pivot=p.get("pivot")))
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise ValueError(message if message.startswith(where) else f"{where}: {message}") from exc
    return params


def _material(cfg: dict, where: str) -> Material:
    try:
        return Material(**{k: float(v) for k, v in cfg.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _objects(entries, path: Path, where: str, default_material: dict | None = None) -> list[SceneObject]:
    """The ``[[objects]]`` of a scene of several objects (the top-level ``[material]``, if any, is the
    material of those without their own)."""
    objects = []
    for i, o in enumerate(entries):
        here = f"{where} [[objects]] #{i}"
        name = _require(o, "name", here)
        here = f"{where} [[objects]] {name!r}"
        mesh = _mesh(_require(o, "mesh", here), path)
        try:
            objects.append(SceneObject(
                name, mesh, torch.tensor(o.get("position", [0.0, 0.0, 0.0]), dtype=torch.float32),
                _material(o["material"], f"{here} [material]") if "material" in o else
                _material(default_material or {}, f"{where} [material]"),
                tuple(_parameters(o.get("parameters", []), mesh, here, "[[parameters]]"))))
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise ValueError(message if message.startswith(where) else f"{here}: {message}") from exc
    return objects


def scene_from_config(cfg: dict[str, Any], path: Path, resolution: int | None = None) -> Scene:
    """Build the :class:`Scene` of an already parsed scene file (``path`` resolves relative mesh files)."""
    validate(cfg, path, resolution=resolution)
    where = f"scene file {path}"
    if "objects" in cfg and "mesh" in cfg:
        raise ValueError(f"{where}: give either a [mesh] or [[objects]], not both")
    objects = _objects(cfg["objects"], path, where, cfg.get("material")) if "objects" in cfg else None
    mesh = Mesh.concatenate([o.mesh for o in objects]) if objects else _mesh(_require(cfg, "mesh", where), path)
    params = _parameters(cfg.get("parameters", []) if objects else _require(cfg, "parameters", where), mesh, where)
    environment = (_value(cfg["environment"], values.ValueContext(mesh), f"{where} [environment]")
                   if "environment" in cfg else None)
    common = dict(
        cameras=_views(cfg.get("views", {}), f"{where} [views]"), resolution=resolution or cfg.get("resolution", 128),
        material=_material(cfg.get("material", {}), f"{where} [material]"),
        light_position=torch.tensor(cfg["light_position"], dtype=torch.float32) if "light_position" in cfg else None,
        environment=environment, description=cfg.get("description", ""))
    name = cfg.get("name", path.stem)
    if objects:
        return Scene.with_objects(name, objects, parameters=params, **common)
    return Scene(name=name, mesh=mesh, parameters=params, **common)
