"""The scene model: a mesh, cameras, lighting, material and the parameters to optimise.

:meth:`Scene.evaluate` maps parameter values to a :class:`SceneState` — world-space geometry,
appearance and per-view camera matrices — which is everything the renderer and the point
proxies need. Every tensor in it is a differentiable function of the parameter values.
"""
from __future__ import annotations

import dataclasses
import torch

from ..render.camera import Camera
from ..render.shading import Material
from ..render.state import ObjectAppearance, SceneState, vertex_normals
from .kinds import KINDS, STAGES, Evaluation, GeometryModel, SceneContext, kinds_in_order, scene_wide_kinds
from .mesh import Mesh
from .objects import SCOPE, SceneObject
from .parameters import Parameter


@dataclasses.dataclass(frozen=True)
class Scene:
    """A scene to render and optimise.

    Attributes:
        name: scene name (results are labelled with it).
        mesh: the geometry, in object space.
        cameras: one camera per view.
        resolution: ``(H, W)`` of every view.
        parameters: what is optimised; everything else stays fixed.
        material: Phong material.
        light_position: a fixed world-space point light ``[3]``, or None for a light at each view's eye.
        environment: optional environment cube map ``[6, R, R, 3]``.
        description: free text.
        geometry: optional geometry model ``geometry(values, vertices) -> vertices``: given the values
            of the parameters of kind ``"model"`` (name → tensor) and the mesh's object-space
            vertices ``[V, 3]``, it returns the posed object-space vertices ``[V, 3]``
            (differentiably); translation / rotation / scale parameters then apply on top. This is
            how applications (skinned bodies, blendshapes, layouts of several items, 2-D warps) plug
            their parameter models into the same optimizer.
        background: optional image ``[H, W, 3]`` (top row first, the scene's resolution) composited
            behind the geometry, e.g. a portrait under a 2-D accessory.
        objects: the objects of a scene of several (build it with :meth:`with_objects`): ``mesh`` is
            then their concatenation, ``parameters`` holds the scene-wide ones and every object's
            under its scoped name ``"object/parameter"``, and each object keeps its material.
    """

    name: str
    mesh: Mesh
    cameras: tuple[Camera, ...]
    resolution: tuple[int, int]
    parameters: tuple[Parameter, ...]
    material: Material = Material()
    light_position: torch.Tensor | None = None
    environment: torch.Tensor | None = None
    description: str = ""
    geometry: GeometryModel | None = None
    background: torch.Tensor | None = None
    objects: tuple[SceneObject, ...] = ()

    @classmethod
    def with_objects(cls, name: str, objects, cameras, resolution, parameters=(), **kwargs) -> "Scene":
        """A scene of several :class:`~drot.scene.objects.SceneObject` (rendered together, so they
        occlude each other), plus scene-wide ``parameters`` (cameras, environment)."""
        objects = tuple(objects)
        if not objects:
            raise ValueError(f"scene {name!r}: with_objects needs at least one object")
        names = [o.name for o in objects]
        if len(set(names)) != len(names):
            raise ValueError(f"scene {name!r}: object names must be unique, got {names}")
        scoped = [o.scoped(p) for o in objects for p in o.parameters]
        return cls(name, Mesh.concatenate([o.mesh for o in objects]), cameras, resolution,
                   (*parameters, *scoped), objects=objects, **kwargs)

    def object_ranges(self) -> dict[str, tuple[int, int]]:
        """Object name → ``(first, end)`` vertex range in the scene's vertices (empty for one mesh)."""
        ranges, start = {}, 0
        for o in self.objects:
            ranges[o.name] = (start, start + o.mesh.num_vertices)
            start += o.mesh.num_vertices
        return ranges

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        res = self.resolution
        if isinstance(res, int):
            res = (res, res)
        res = tuple(int(r) for r in res)
        if len(res) != 2 or min(res) < 1:
            raise ValueError(f"scene resolution must be a positive (H, W), got {self.resolution}")
        object.__setattr__(self, "resolution", res)
        if not self.cameras:
            raise ValueError(f"scene {self.name!r} has no cameras (views)")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"scene {self.name!r}: parameter names must be unique, got {names}")
        if not self.parameters:
            raise ValueError(f"scene {self.name!r} declares no parameter to optimise")
        if self.background is not None and tuple(self.background.shape) != (*res, 3):
            raise ValueError(f"scene {self.name!r}: background must be [{res[0]}, {res[1]}, 3] (the scene's "
                             f"resolution), got {tuple(self.background.shape)}")
        object.__setattr__(self, "objects", tuple(self.objects))
        if self.objects:
            if self.geometry is not None:
                raise ValueError(f"scene {self.name!r}: a geometry model (Scene.geometry) applies to one mesh, "
                                 "not to a scene of several objects")
            if sum(o.mesh.num_vertices for o in self.objects) != self.mesh.num_vertices:
                raise ValueError(f"scene {self.name!r}: the mesh must be the objects' meshes concatenated "
                                 "(build the scene with Scene.with_objects)")
        own = {f"{o.name}{SCOPE}{p.name}": (o, p) for o in self.objects for p in o.parameters}
        for p in self.parameters:
            obj, _ = own.get(p.name, (None, None))
            if obj is None and KINDS[p.kind].scope != "scene" and self.objects:
                raise ValueError(f"scene {self.name!r}: parameter {p.name!r} of kind {p.kind} acts on one object: "
                                 f"declare it on the object (scene-wide kinds: {', '.join(scene_wide_kinds())})")
            KINDS[p.kind].validate_in_scene(p, self.context, self.mesh if obj is None else obj.mesh)

    @property
    def context(self) -> SceneContext:
        """What the parameter kinds see of this scene (see :mod:`drot.scene.kinds`)."""
        return SceneContext(self.name, self.geometry)

    def __repr__(self) -> str:
        # Short: the dataclass repr dumps every vertex, camera and texture tensor.
        h, w = self.resolution
        parts = [f"{self.name!r}", f"{self.num_views} view{'s' if self.num_views != 1 else ''} of {h}x{w}",
                 f"{self.mesh.num_vertices} vertices, {self.mesh.num_faces} faces"]
        if self.objects:
            parts.append(f"objects {', '.join(o.name for o in self.objects)}")
        parts.append("parameters " + ", ".join(repr(p) for p in self.parameters))
        return f"Scene({'; '.join(parts)})"

    @property
    def num_views(self) -> int:
        return len(self.cameras)

    def target_values(self) -> dict[str, torch.Tensor]:
        return {p.name: p.target.clone() for p in self.parameters}

    def initial_values(self, seed: int) -> dict[str, torch.Tensor]:
        """Start values for ``seed`` (fixed ones as declared, random ones drawn reproducibly)."""
        gen = torch.Generator().manual_seed(int(seed))
        return {p.name: p.sample_initial(gen) for p in self.parameters}

    def value_starts(self, values: dict[str, torch.Tensor]) -> int | None:
        """``S`` when every value carries a leading start axis (``[S, *target shape]``), None when none
        does; anything else is an error naming the parameter."""
        shapes = {p.name: tuple(p.target.shape) for p in self.parameters}
        starts = set()
        for name, v in values.items():
            if name not in shapes:
                continue
            shape = tuple(v.shape)
            if shape == shapes[name]:
                starts.add(None)
            elif len(shape) == len(shapes[name]) + 1 and shape[1:] == shapes[name]:
                starts.add(shape[0])
            else:
                raise ValueError(f"parameter {name!r} of scene {self.name!r}: value of shape {shape}, expected "
                                 f"{list(shapes[name])} or [S, {', '.join(map(str, shapes[name]))}] (S starts)")
        if len(starts) > 1:
            raise ValueError(f"scene {self.name!r}: the values mix shapes with and without a start axis, or "
                             f"different numbers of starts ({sorted(str(s) for s in starts)})")
        return next(iter(starts)) if starts else None

    def _evaluation(self, values: dict[str, torch.Tensor], device, stages: tuple[str, ...]) -> Evaluation:
        """Apply the parameter kinds of ``stages`` (in order) to the scene at ``values``."""
        unknown = set(values) - {p.name for p in self.parameters}
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)} for scene {self.name!r}")
        starts = self.value_starts(values)
        if device is None:
            device = next(iter(values.values())).device if values else torch.device("cpu")
        device = torch.device(device)
        by_kind: dict[str, list[tuple[Parameter, torch.Tensor]]] = {}

        def value_of(p: Parameter, v: torch.Tensor | None) -> torch.Tensor:
            if v is not None:
                return v
            v = p.target.to(device)
            return v if starts is None else v.expand(starts, *v.shape)

        # Compute in the widest dtype of the values (float64 values give a float64 state, e.g. for gradient checks).
        dtype = torch.float32
        for p in self.parameters:
            v = value_of(p, values.get(p.name))
            dtype = torch.promote_types(dtype, v.dtype)
            by_kind.setdefault(p.kind, []).append((p, v))
        zero = torch.zeros(3, device=device, dtype=dtype)
        context = self.context
        if not self.objects:
            rest = self.mesh.vertices.to(device=device, dtype=dtype)
            ev = Evaluation(context, device, dtype, rest, zero, zero, rest=rest, starts=starts)
            for kind in kinds_in_order(stages):
                kind.apply(ev, by_kind.get(kind.name, []))
            return ev
        # Several objects: each object's kinds act on its own vertices and appearance, then it is
        # placed; the scene-wide kinds (cameras, environment) act on the whole.
        parts = []
        for obj in self.objects:
            rest = obj.mesh.vertices.to(device=device, dtype=dtype)
            part = Evaluation(context, device, dtype, rest, zero, zero, rest=rest, starts=starts)
            own: dict[str, list] = {}
            for p in obj.parameters:
                own.setdefault(p.kind, []).append((p, value_of(p, values.get(f"{obj.name}{SCOPE}{p.name}"))))
            for kind in kinds_in_order(tuple(st for st in stages if st != "camera")):
                kind.apply(part, own.get(kind.name, []))
            part.vertices = part.vertices + obj.position.to(device=device, dtype=dtype)
            parts.append(part)
        scoped = {obj.scoped(p).name for obj in self.objects for p in obj.parameters}
        scene_wide = {k: [(p, v) for p, v in items if p.name not in scoped] for k, items in by_kind.items()}
        lead = () if starts is None else (starts,)
        vertices = torch.cat([part.vertices.expand(*lead, *part.vertices.shape[-2:]) for part in parts], -2)
        ev = Evaluation(context, device, dtype, vertices, zero, zero, rest=vertices, parts=parts, starts=starts)
        for kind in kinds_in_order(stages):
            if kind.stage != "geometry":
                kind.apply(ev, scene_wide.get(kind.name, []))
        return ev

    def world_vertices(self, values: dict[str, torch.Tensor], device: torch.device | str | None = None) -> torch.Tensor:
        """World-space vertices ``[V, 3]`` (``[S, V, 3]`` for stacked values) for parameter ``values``
        (geometry only: cheap)."""
        ev = self._evaluation(values, device, ("geometry",))
        return ev.vertices if ev.starts is None else ev.vertices.expand(ev.starts, *ev.vertices.shape[-2:])

    def _cameras(self, ev: Evaluation) -> tuple[torch.Tensor, torch.Tensor]:
        """Clip matrices ``[N, 4, 4]`` and eyes ``[N, 3]`` of every view (``[S, ...]`` when the camera
        moves per start). Without camera parameters they are computed once per device and dtype."""
        device, dtype = ev.device, ev.dtype
        aspect = self.resolution[1] / self.resolution[0]
        moved = ev.eye_shift.ndim > 1 or ev.target_shift.ndim > 1 or ev.eye_shift.requires_grad \
            or ev.target_shift.requires_grad or bool(ev.eye_shift.any()) or bool(ev.target_shift.any())

        def views(eye_shift, target_shift):
            mats, eyes = [], []
            for cam in self.cameras:
                cam = cam.to(device)
                cam = dataclasses.replace(cam, eye=cam.eye.to(dtype), target=cam.target.to(dtype), up=cam.up.to(dtype))
                eye = cam.eye + eye_shift
                mats.append(cam.clip_matrix(aspect, eye=eye, target=cam.target + target_shift))
                eyes.append(eye)
            return torch.stack(mats), torch.stack(eyes)

        if not moved:
            cache = self.__dict__.setdefault("_camera_cache", {})
            key = (str(device), dtype)
            if key not in cache:
                with torch.no_grad():
                    cache[key] = views(ev.eye_shift, ev.target_shift)
            return cache[key]
        if ev.starts is None:
            return views(ev.eye_shift, ev.target_shift)
        eye_shift = ev.eye_shift.expand(ev.starts, 3)
        target_shift = ev.target_shift.expand(ev.starts, 3)
        per_start = [views(eye_shift[i], target_shift[i]) for i in range(ev.starts)]
        return torch.stack([m for m, _ in per_start]), torch.stack([e for _, e in per_start])

    def evaluate(self, values: dict[str, torch.Tensor], device: torch.device | str | None = None) -> SceneState:
        """World geometry, appearance and cameras for parameter ``values`` (name → tensor).

        Values stacked along a leading start axis (``[S, *shape]`` each; missing ones are their
        targets) give one state with a start axis (see :class:`~drot.render.state.SceneState`): the
        ``S`` starts of a multi-start run, evaluated as one batch."""
        ev = self._evaluation(values, device, STAGES)
        device, dtype, verts, starts = ev.device, ev.dtype, ev.vertices, ev.starts
        mesh = self.mesh.to(device)
        lead = () if starts is None else (starts,)
        verts = verts.expand(*lead, *verts.shape[-2:])
        mats, eyes_t = self._cameras(ev)
        if starts is not None and mats.ndim == 3:
            mats, eyes_t = mats.expand(starts, *mats.shape), eyes_t.expand(starts, *eyes_t.shape)
        lights = eyes_t if self.light_position is None else self.light_position.to(device).expand_as(eyes_t)

        mat = self.material
        scalar = lambda x: torch.tensor([float(x)], device=device, dtype=dtype)  # noqa: E731
        diffuse = ev.diffuse if ev.diffuse is not None else scalar(mat.diffuse)
        specular = ev.specular if ev.specular is not None else scalar(mat.specular)
        texture = ev.texture if ev.texture is not None else mesh.texture
        environment = ev.environment if ev.environment is not None else (
            None if self.environment is None else self.environment.to(device))
        colors = None if texture is not None else (
            mesh.colors.to(dtype) if mesh.colors is not None else torch.full_like(mesh.vertices.to(device, dtype), 0.7))
        objects = None
        if ev.parts is not None:
            objects = self._object_appearance(ev.parts, device, dtype, starts)
            colors = texture = None
        return SceneState(
            vertices=verts, normals=vertex_normals(verts, mesh.faces, mesh.normal_groups), faces=mesh.faces,
            colors=colors, uvs=mesh.uvs if texture is not None else None, texture=texture,
            clip_matrices=mats, eyes=eyes_t, lights=lights,
            ambient=scalar(mat.ambient), diffuse=diffuse, specular=specular, shininess=float(mat.shininess),
            environment=environment,
            background=None if self.background is None else self.background.to(device=device, dtype=dtype),
            objects=objects,
        )

    def _object_appearance(self, parts: list[Evaluation], device: torch.device, dtype: torch.dtype,
                           starts: int | None = None) -> ObjectAppearance:
        """Every object's colours or texture and material as per-vertex attributes (the material
        ``[S, V, 6]`` when an object's material differs per start)."""
        colors, uvs, slots, materials, textures = [], [], [], [], []
        for obj, part in zip(self.objects, parts):
            mesh, n = obj.mesh.to(device), obj.mesh.num_vertices
            texture = part.texture if part.texture is not None else mesh.texture
            if texture is not None:
                textures.append(texture)
                colors.append(torch.zeros(n, 3, device=device, dtype=dtype))
                uvs.append(mesh.uvs.to(dtype))
            else:
                colors.append(mesh.colors.to(dtype) if mesh.colors is not None
                              else torch.full((n, 3), 0.7, device=device, dtype=dtype))
                uvs.append(torch.zeros(n, 2, device=device, dtype=dtype))
            slots.append(torch.full((n, 1), float(len(textures) if texture is not None else 0), device=device,
                                    dtype=dtype))
            m = obj.material
            scalar = lambda x: torch.tensor([float(x)], device=device, dtype=dtype)  # noqa: E731
            diffuse = (part.diffuse if part.diffuse is not None else scalar(m.diffuse)).to(dtype)
            specular = (part.specular if part.specular is not None else scalar(m.specular)).to(dtype)
            per_start = starts is not None and (diffuse.ndim > 1 or specular.ndim > 1)
            lead = (starts,) if per_start else ()
            row = torch.cat([scalar(m.ambient).expand(*lead, 1), diffuse.expand(*lead, 3), specular.expand(*lead, 1),
                             scalar(m.shininess).expand(*lead, 1)], -1)
            materials.append(row.unsqueeze(-2).expand(*lead, n, 6))
        if any(m.ndim == 3 for m in materials):
            materials = [m.expand(starts, *m.shape[-2:]) for m in materials]
        return ObjectAppearance(torch.cat(colors), torch.cat(uvs), torch.cat(slots), torch.cat(materials, -2),
                                tuple(textures))

    def to(self, device) -> "Scene":
        return dataclasses.replace(
            self, mesh=self.mesh.to(device), cameras=tuple(c.to(device) for c in self.cameras),
            objects=tuple(o.to(device) for o in self.objects),
            light_position=None if self.light_position is None else self.light_position.to(device),
            environment=None if self.environment is None else self.environment.to(device),
            background=None if self.background is None else self.background.to(device))
