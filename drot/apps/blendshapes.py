"""Blendshape expressions (paper §6.2.3): recover expression weights from one front view.

A face is a neutral mesh ``b₀`` and ``n`` expression meshes ``b₁ … bₙ`` with the same topology; the
weights ``w`` (a ``"model"`` parameter, float32 ``[n]``) give ``b = b₀ + Σᵢ wᵢ (bᵢ − b₀)``
(:class:`BlendshapeModel`, the scene's geometry model). :func:`drot.optimize` recovers ``w``; no
optimisation loop lives here.

The default face (:func:`make_head`, :func:`expression_deltas`) is made by our own code: an
ellipsoid head with hair, a nose, eyes, eyebrows, lips and ears, coloured by region (skin, blush,
lips, mouth, brows, eyes, hair) so that motion shows, and 12 expressions (:data:`EXPRESSIONS`),
each a smooth localised displacement (Gaussian falloff) of the neutral vertices. A user's own set
loads with :func:`load_blendshapes` (a neutral mesh file and one file per expression, identical
topology).

Protocol (the paper's): targets ``wᵢ`` uniform in [0, 0.5], start ``w = 0`` (neutral), one front
view, 256². Metrics (:func:`expression_errors`): weight MAE and vertex MAE (head height 2 units).
A run succeeds at weight MAE <= :data:`WEIGHT_THRESHOLD`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np
import torch

from ..render.camera import Camera
from ..scene.mesh import Mesh, mesh_from_arrays
from ..scene.parameters import Parameter
from ..scene.kit import ellipsoid, mix, smoothstep, uv_sphere
from ..scene.scene import Scene
from . import blendshape_sets
from .blendshape_sets import BlendshapeSet, load_blendshapes  # noqa: F401  (re-exported)
from .inputs import as_tensor, check_positive, check_range
from .problem import Score

#: A run succeeds when the weight MAE is at most this.
WEIGHT_THRESHOLD = 0.05
#: Targets: every weight uniform in [0, WEIGHT_RANGE] (the paper's protocol).
WEIGHT_RANGE = 0.5
#: Explicit target weights must lie in this range (a blendshape rig's usual [0, 1]).
WEIGHT_LIMITS = (0.0, 1.0)

SKIN = np.array(blendshape_sets.SKIN)
BLUSH = np.array([0.93, 0.45, 0.45])
LIPS = np.array([0.78, 0.12, 0.20])
MOUTH = np.array([0.25, 0.02, 0.05])
BROW = np.array([0.22, 0.13, 0.06])
HAIR = np.array([0.30, 0.18, 0.08])
EYE_WHITE = np.array([0.97, 0.97, 0.97])
IRIS = np.array([0.15, 0.40, 0.85])
PUPIL = np.array([0.02, 0.02, 0.02])

# Feature positions on the neutral face (+Z is the front, +Y up, the face's left on +X).
HEAD_RADII = (0.78, 1.0, 0.86)
MOUTH_Y, EYE_Y, BROW_Y = -0.48, 0.18, 0.40


def _front_z(x: float, y: float) -> float:
    """Z of the head ellipsoid's front surface at (x, y)."""
    rx, ry, rz = HEAD_RADII
    return rz * math.sqrt(max(0.0, 1 - (x / rx) ** 2 - (y / ry) ** 2))


def _region(v: np.ndarray, centre, radii) -> np.ndarray:
    """1 inside the ellipsoid ``centre ± radii`` fading to 0 at 1.4 x its size (front side only)."""
    d = np.linalg.norm((v - np.asarray(centre)) / np.asarray(radii), axis=1)
    return smoothstep(1.4, 1.0, d) * smoothstep(0.0, 0.3, v[:, 2])


def _face_relief(v: np.ndarray) -> np.ndarray:
    """Outward relief ``[V]`` of the face: nose, lips, brow ridges (Gaussian bumps on the ellipsoid)."""
    def g(cx, cy, sx, sy):
        return np.exp(-0.5 * (((v[:, 0] - cx) / sx) ** 2 + ((v[:, 1] - cy) / sy) ** 2)) * smoothstep(0.0, 0.4, v[:, 2])
    nose = 0.26 * g(0.0, -0.12, 0.075, 0.14) + 0.1 * g(0.0, 0.05, 0.05, 0.12)
    lips = 0.05 * g(0.0, MOUTH_Y + 0.045, 0.16, 0.03) + 0.055 * g(0.0, MOUTH_Y - 0.05, 0.14, 0.035)
    brows = sum(0.03 * g(sx * 0.29, BROW_Y, 0.15, 0.04) for sx in (-1, 1))
    return nose + lips + brows


def _face_colors(v: np.ndarray) -> np.ndarray:
    """Colour regions painted on the (rest) head surface: skin, blush, nose tip, lips, mouth slit, brows, hair."""
    c = np.broadcast_to(SKIN, v.shape).copy()
    for sx in (-1, 1):
        c = mix(c, BLUSH, 0.85 * _region(v, (sx * 0.42, -0.2, 0.7), (0.13, 0.1, 0.5)))
        c = mix(c, BROW, _region(v, (sx * 0.29, BROW_Y, 0.8), (0.14, 0.028, 0.5)))
    c = mix(c, 0.5 * (SKIN + BLUSH), 0.6 * _region(v, (0.0, -0.2, 1.0), (0.07, 0.06, 0.4)))
    lips = np.maximum(_region(v, (0.0, MOUTH_Y + 0.045, 0.8), (0.19, 0.03, 0.5)),
                      _region(v, (0.0, MOUTH_Y - 0.05, 0.8), (0.17, 0.035, 0.5)))
    c = mix(c, LIPS, lips)
    c = mix(c, MOUTH, _region(v, (0.0, MOUTH_Y, 0.8), (0.17, 0.012, 0.5)))
    hair = smoothstep(0.35, 0.5, v[:, 1] - 0.55 * v[:, 2])
    return mix(c, HAIR, hair)


def make_head(detail: float = 1.0) -> Mesh:
    """The neutral head ``b₀`` (about 2 units tall, centred at the origin, facing +Z), coloured by region.

    One closed surface carries the face: an ellipsoid with the nose, lips and brow ridges raised
    on it and the regions (lips, mouth slit, brows, blush, hair) painted on it, so that expressions
    deform features and skin together. Eyeballs sit in the surface and ears on its sides as
    separate parts; no expression moves the skin against them much (a differentiable rasterizer
    has no gradient for where two interpenetrating surfaces cross). ``V ≈ 13k`` at ``detail = 1``.
    """
    check_positive(detail, "detail")

    def n(base: int, minimum: int = 4) -> int:
        return max(minimum, int(round(base * detail)))

    sphere = uv_sphere(1.0, n(96), n(128))
    d = sphere.vertices.double().numpy()                   # unit directions
    v = d * np.asarray(HEAD_RADII)
    v = v + _face_relief(v)[:, None] * d                    # raise the features along the radius
    parts = [mesh_from_arrays(v, sphere.faces.numpy(), _face_colors(v))]
    for sx in (-1, 1):
        x = sx * 0.28
        zc = _front_z(x, EYE_Y)
        parts.append(uv_sphere(0.12, n(12), n(20), (x, EYE_Y, zc - 0.07), EYE_WHITE))
        parts.append(ellipsoid((0.06, 0.06, 0.03), n(8), n(14), (x, EYE_Y, zc + 0.04), IRIS))
        parts.append(ellipsoid((0.03, 0.03, 0.02), n(6), n(10), (x, EYE_Y, zc + 0.065), PUPIL))
        parts.append(ellipsoid((0.09, 0.2, 0.12), n(10), n(16), (sx * 0.78, 0.02, -0.05),
                               lambda p: mix(np.broadcast_to(SKIN, p.shape), BLUSH, 0.3 * np.ones(len(p)))))
    return Mesh.concatenate(parts)


# --------------------------------------------------------------------------------- expressions
def _bump(v: np.ndarray, centre, radii) -> np.ndarray:
    """Smooth falloff ``[V]`` in [0, 1]: a Gaussian of the scaled distance to ``centre`` (front side only)."""
    d2 = (((v - np.asarray(centre)) / np.asarray(radii)) ** 2).sum(1)
    return np.exp(-0.5 * d2) * smoothstep(-0.2, 0.2, v[:, 2])


def _front(x: float, y: float) -> tuple[float, float, float]:
    return (x, y, _front_z(x, y))


def _jaw_open(v):
    # Everything below the lips' parting line (the lower lip, chin, jaw) moves down; the sharp
    # transition stretches the dark mouth slit open.
    below = smoothstep(MOUTH_Y + 0.004, MOUTH_Y - 0.012, v[:, 1]) * smoothstep(-0.1, 0.3, v[:, 2])
    chin = np.exp(-0.5 * (v[:, 0] / 0.45) ** 2)
    return np.stack([0 * below, -0.35 * below * chin, -0.06 * below * chin], 1)


def _mirror(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The same expression on the other side of the face (x → -x)."""
    def mirrored(v):
        d = fn(v * np.array([-1.0, 1.0, 1.0]))
        return d * np.array([-1.0, 1.0, 1.0])
    return mirrored


def _smile_left(v):
    return _bump(v, _front(0.21, MOUTH_Y), (0.1, 0.09, 0.2))[:, None] * np.array([0.16, 0.2, -0.04])


def _brow_raise_left(v):
    return _bump(v, _front(0.29, BROW_Y + 0.02), (0.16, 0.08, 0.25))[:, None] * np.array([0.0, 0.2, 0.0])


def _brow_furrow(v):
    w = _bump(v, _front(0.14, BROW_Y - 0.02), (0.09, 0.08, 0.2))
    wr = _bump(v, _front(-0.14, BROW_Y - 0.02), (0.09, 0.08, 0.2))
    return w[:, None] * np.array([-0.12, -0.12, 0.02]) + wr[:, None] * np.array([0.12, -0.12, 0.02])


def _cheek_puff_left(v):
    w = _bump(v, _front(0.45, -0.25), (0.18, 0.18, 0.35))
    return w[:, None] * np.array([0.22, 0.0, 0.12])


def _pucker(v):
    w = _bump(v, _front(0.0, MOUTH_Y), (0.16, 0.1, 0.2))
    return w[:, None] * np.stack([-0.8 * v[:, 0], -0.3 * (v[:, 1] - MOUTH_Y), np.full(len(v), 0.18)], 1)


def _nose_wrinkle(v):
    w = _bump(v, _front(0.0, 0.0), (0.16, 0.1, 0.25))
    return w[:, None] * np.stack([1.0 * v[:, 0], np.full(len(v), 0.2), np.zeros(len(v))], 1)


def _mouth_left(v):
    return _bump(v, _front(0.0, MOUTH_Y), (0.2, 0.12, 0.25))[:, None] * np.array([0.24, 0.0, 0.0])


def _upper_lip_raise(v):
    w = _bump(v, _front(0.0, MOUTH_Y + 0.07), (0.16, 0.05, 0.25)) * smoothstep(MOUTH_Y - 0.004, MOUTH_Y + 0.012, v[:, 1])
    return w[:, None] * np.array([0.0, 0.16, 0.02])


#: The 12 expressions: name → displacement field ``[V, 3] -> [V, 3]`` of the neutral vertices.
EXPRESSIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "jaw_open": _jaw_open,
    "smile_left": _smile_left,
    "smile_right": _mirror(_smile_left),
    "brow_raise_left": _brow_raise_left,
    "brow_raise_right": _mirror(_brow_raise_left),
    "brow_furrow": _brow_furrow,
    "cheek_puff_left": _cheek_puff_left,
    "cheek_puff_right": _mirror(_cheek_puff_left),
    "mouth_pucker": _pucker,
    "nose_wrinkle": _nose_wrinkle,
    "mouth_left": _mouth_left,
    "upper_lip_raise": _upper_lip_raise,
}


def expression_deltas(neutral: Mesh, names: Sequence[str] | None = None) -> torch.Tensor:
    """``bᵢ − b₀`` for the named :data:`EXPRESSIONS` (default all 12): float32 ``[n, V, 3]``."""
    names = list(EXPRESSIONS) if names is None else list(names)
    unknown = [n for n in names if n not in EXPRESSIONS]
    if unknown:
        raise ValueError(f"unknown expression(s) {unknown}; available: {', '.join(EXPRESSIONS)}")
    v = neutral.vertices.double().numpy()
    return torch.tensor(np.stack([EXPRESSIONS[n](v) for n in names]), dtype=torch.float32)


def default_blendshapes(detail: float = 1.0) -> BlendshapeSet:
    """drot's procedural face: :func:`make_head` and the 12 :data:`EXPRESSIONS`."""
    head = make_head(detail)
    return BlendshapeSet(head, expression_deltas(head), tuple(EXPRESSIONS))


# ---------------------------------------------------------------------------------- the scene
class BlendshapeModel:
    """The scene's geometry model: ``b₀ + Σᵢ wᵢ (bᵢ − b₀)``.

    Called as ``model(values, vertices)`` with ``values["weights"]`` ``[n]`` and ``vertices`` the
    neutral ``b₀`` ``[V, 3]``; returns ``[V, 3]`` in the dtype of ``vertices``, linear in the weights.
    """

    def __init__(self, deltas: torch.Tensor) -> None:
        self.deltas = deltas

    def __call__(self, values: dict[str, torch.Tensor], vertices: torch.Tensor) -> torch.Tensor:
        d = self.deltas.to(device=vertices.device, dtype=vertices.dtype)
        return vertices + torch.einsum("n,nvk->vk", values["weights"].to(vertices.dtype), d)


@dataclasses.dataclass(frozen=True)
class ExpressionFit:
    """A blendshape-expression problem.

    Attributes:
        scene: one front view; parameter ``weights`` ``[n]`` of kind ``"model"``, target = the
            target weights, initial = 0 (neutral).
        shapes: the blendshape set.
        target: float32 ``[n]`` target weights.
    """

    scene: Scene
    shapes: BlendshapeSet
    target: torch.Tensor

    def errors(self, values: dict[str, torch.Tensor]) -> "ExpressionErrors":
        """:func:`expression_errors` of ``values`` against the target."""
        return expression_errors(self.scene, values, self.target)


def front_camera(mesh: Mesh, fov_y: float = 30.0, margin: float = 1.15) -> Camera:
    """A camera on +Z framing the mesh's bounding box (with ``margin``) in a ``fov_y``° view."""
    lo, hi = mesh.vertices.min(0).values, mesh.vertices.max(0).values
    centre = (lo + hi) / 2
    half = margin * float(max(hi[0] - lo[0], hi[1] - lo[1])) / 2
    distance = half / math.tan(math.radians(fov_y / 2)) + float(hi[2] - centre[2])
    return Camera(centre + torch.tensor([0.0, 0.0, distance]), centre, torch.tensor([0.0, 1.0, 0.0]), fov_y=fov_y)


def expression_scene(shapes: BlendshapeSet | None = None, seed: int = 0, resolution: int = 256,
                     target: Sequence[float] | torch.Tensor | None = None) -> ExpressionFit:
    """Build a blendshape-expression problem (the paper's protocol by default).

    Args:
        shapes: the blendshape set; default :func:`default_blendshapes`.
        seed: seeds the target weights (uniform in [0, :data:`WEIGHT_RANGE`]).
        resolution: image side (the paper: 256).
        target: explicit target weights ``[n]`` instead, finite, in :data:`WEIGHT_LIMITS`.

    Returns:
        :class:`ExpressionFit`.
    """
    shapes = default_blendshapes() if shapes is None else shapes
    if not isinstance(shapes, BlendshapeSet):
        raise TypeError(f"shapes must be a BlendshapeSet (see load_blendshapes), got {type(shapes).__name__}")
    if target is None:
        target = torch.rand(shapes.count, generator=torch.Generator().manual_seed(int(seed))) * WEIGHT_RANGE
    target = as_tensor(target, "target weights", (shapes.count,))
    check_range(target, "target weights", *WEIGHT_LIMITS)
    camera = front_camera(shapes.neutral)
    # Light from above-left of the camera: shading shows depth changes (puffed cheeks, pucker).
    light = camera.eye + torch.tensor([-1.5, 2.0, 0.0])
    scene = Scene("expression", shapes.neutral, [camera], resolution,
                  [Parameter("weights", "model", target, initial=torch.zeros(shapes.count))],
                  geometry=BlendshapeModel(shapes.deltas), light_position=light,
                  description=f"blendshape expression: {shapes.count} weights, one front view")
    return ExpressionFit(scene, shapes, target)


@dataclasses.dataclass(frozen=True)
class ExpressionErrors:
    """Errors of expression weights against the target.

    Attributes:
        weight_mae: mean absolute weight error.
        vertex_mae: mean absolute vertex-coordinate error (mesh units; the default head is 2 units tall).
        success: ``weight_mae <= WEIGHT_THRESHOLD``.
    """

    weight_mae: float
    vertex_mae: float
    success: bool


def expression_errors(scene: Scene, values: dict[str, torch.Tensor], target: torch.Tensor) -> ExpressionErrors:
    """Weight MAE and vertex MAE of ``values`` (``{"weights": [n]}``) against ``target`` ``[n]``."""
    w = values["weights"].detach().cpu().double()
    t = torch.as_tensor(target).detach().cpu().double()
    with torch.no_grad():
        vmae = float((scene.world_vertices(values) - scene.world_vertices({"weights": t.float()})).abs().mean())
    mae = float((w - t).abs().mean())
    return ExpressionErrors(mae, vmae, mae <= WEIGHT_THRESHOLD)


# --------------------------------------------------------------------------- the compared problem
@dataclasses.dataclass
class BlendshapeProblem:
    """Blendshape expressions as a :class:`drot.apps.problem.Problem`: the seed draws the target
    weights, the start is the neutral face.

    ``shapes``: the blendshape set; None (default): :func:`default_blendshapes` (made once, on the
    first instance). Instances are :func:`expression_scene`; scores: weight MAE and vertex MAE.
    """

    shapes: BlendshapeSet | None = None
    name: str = "blendshapes"
    resolution: int = 256
    paper_resolution: int = 256
    iterations: int = 300
    # The face fills a third of the view: DROT matches 2048 random pixels per side.
    settings: dict = dataclasses.field(default_factory=lambda: {"max_points": 2048})
    columns: dict = dataclasses.field(default_factory=lambda: {"weight_mae": ".4f", "vertex_mae": ".5f"})
    thresholds: dict = dataclasses.field(default_factory=lambda: {"weight_mae": ("<=", WEIGHT_THRESHOLD)})
    rule: str = f"weight MAE <= {WEIGHT_THRESHOLD}"

    def instance(self, seed: int, resolution: int | None = None) -> ExpressionFit:
        if self.shapes is None:
            self.shapes = default_blendshapes()
        return expression_scene(self.shapes, seed=seed, resolution=resolution or self.resolution)

    def score(self, instance: ExpressionFit, values: dict[str, torch.Tensor]) -> Score:
        e = instance.errors(values)
        return Score({"weight_mae": e.weight_mae, "vertex_mae": e.vertex_mae}, e.success, e)
