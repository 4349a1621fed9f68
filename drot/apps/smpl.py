"""SMPL pose fitting (paper §6.2.2): recover a body's joint rotations from six views.

The body is an SMPL model loaded with the ``smplx`` package (optional extra: ``pip install
"drot[apps]"``); the pose — ``body_pose`` (23 joints x axis-angle, float32 ``[69]``) and, by
default, ``global_orient`` (``[3]``), i.e. SMPL's 24 joint rotations — are parameters of kind
``"model"``, and the scene's geometry model (:class:`SmplPoser`) runs smplx's linear blend skinning
(``smplx.lbs.lbs``) on the mesh's rest vertices. :func:`drot.optimize` does the rest; no
optimisation loop lives here.

Model files: the real SMPL model is licensed and not shipped. Download "SMPL for Python" from
https://smpl.is.tue.mpg.de (free registration), and put the neutral model
(``basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl``, renamed ``SMPL_NEUTRAL.pkl``) at
``~/.cache/drot/smpl/SMPL_NEUTRAL.pkl``, or anywhere and pass its path (or set ``$DROT_SMPL_MODEL``).
For tests and examples, :mod:`drot.apps.smpl_model` writes a body model in SMPL's format made by our
own code; :func:`generated_body` writes one to a temporary folder and loads it.

Protocol (the paper's): targets with every pose component uniform in [-0.4, 0.4] rad, start at zero
(the rest pose), six views (:func:`drot.render.camera.square_views`), 128². Metrics
(:func:`pose_errors`): joint-angle MAE (mean absolute error of the axis-angle components, radians),
mean geodesic joint-rotation error (radians) and vertex MAE (metres). A run succeeds at vertex MAE
<= :data:`VERTEX_THRESHOLD` (1 cm on a 1.7 m body).
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..render.camera import square_views
from ..scene.mesh import Mesh, mesh_from_arrays
from ..scene.parameters import Parameter
from ..scene.scene import Scene
from .inputs import as_tensor, check_positive
from .problem import Score
from .smpl_checks import check_smpl_data

#: A run succeeds when the vertex MAE (metres) is at most this.
VERTEX_THRESHOLD = 0.01
#: Targets: every pose component uniform in [-POSE_RANGE, POSE_RANGE] radians (the paper's protocol).
POSE_RANGE = 0.4
MODEL_FILENAME = "SMPL_NEUTRAL.pkl"
DEFAULT_MODEL_PATH = Path("~/.cache/drot/smpl") / MODEL_FILENAME
DOWNLOAD_HINT = ("download 'SMPL for Python' from https://smpl.is.tue.mpg.de (free registration), take the neutral "
                 f"model basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl, rename it {MODEL_FILENAME} and put it at "
                 f"{DEFAULT_MODEL_PATH} (or pass its path, or set $DROT_SMPL_MODEL)")


def require_smplx():
    """Import ``smplx`` or raise an ImportError saying how to install it."""
    try:
        import smplx
    except ImportError as exc:
        raise ImportError("drot.apps.smpl needs the 'smplx' package: pip install \"drot[apps]\" "
                          "(or pip install smplx)") from exc
    return smplx


def find_model_file(path: str | os.PathLike | None = None) -> Path:
    """The SMPL model file: ``path`` (a ``.pkl`` file, or a folder holding ``SMPL_NEUTRAL.pkl`` directly
    or in ``smpl/``), else ``$DROT_SMPL_MODEL``, else :data:`DEFAULT_MODEL_PATH`.

    Raises:
        FileNotFoundError: no such file, with what to download and where to put it.
    """
    if path is None:
        path = os.environ.get("DROT_SMPL_MODEL", DEFAULT_MODEL_PATH)
    path = Path(path).expanduser()
    candidates = [path] if not path.is_dir() else [path / MODEL_FILENAME, path / "smpl" / MODEL_FILENAME]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"SMPL model file not found: {' or '.join(map(str, candidates))}. The SMPL model is "
                            f"licensed and not shipped with drot: {DOWNLOAD_HINT}")


def _read_model_file(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh, encoding="latin1")
    except ModuleNotFoundError as exc:
        if exc.name == "chumpy":
            raise ValueError(f"SMPL model file {path} stores chumpy objects: pip install chumpy, or convert it with "
                             f"smplx's tools/clean_ch.py (github.com/vchoutas/smplx)") from exc
        raise
    except Exception as exc:  # corrupt or not a pickle
        raise ValueError(f"cannot read SMPL model file {path} ({type(exc).__name__}: {exc}): expected SMPL's "
                         f"pickle (.pkl) of a dict of arrays") from exc
    if not isinstance(data, dict):
        raise ValueError(f"SMPL model file {path} does not hold a dict of arrays (got {type(data).__name__}): "
                         f"is it an SMPL model?")
    return data


# A body part's colour: one hue per joint, so that every bone's motion is visible; the side of a part
# facing +Z in the rest pose is lighter than the other, so that twists about a bone show too.
_PART_HUES = np.linspace(0.0, 1.0, 24, endpoint=False)[np.argsort((np.arange(24) * 7) % 24)]


def _hsv(h: np.ndarray, s: float, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    return np.stack([np.choose(i, [c[k] for c in table]) for k in range(3)], 1)


def part_colors(vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Per-vertex colours ``[V, 3]``: the hue of the joint with the largest skinning weight, lighter
    on the part's front (+Z of the joint) than on its back."""
    part = weights.argmax(1)
    front = (vertices[:, 2] - joints[part, 2]) > 0
    return _hsv(_PART_HUES[part], 0.75, np.where(front, 0.95, 0.6))


@dataclasses.dataclass(frozen=True)
class SmplBody:
    """A loaded SMPL model.

    Attributes:
        model: the ``smplx.SMPL`` module (float32).
        path: the file it came from.
        mesh: rest-pose mesh (``v_template``, faces, :func:`part_colors`).
        vertex_ids: the extra-joint vertex ids given to smplx (None: smplx's SMPL defaults).
    """

    model: torch.nn.Module
    path: Path
    mesh: Mesh
    vertex_ids: dict | None

    @property
    def num_joints(self) -> int:
        """Joints of the kinematic tree (24 for SMPL)."""
        return int(self.model.J_regressor.shape[0])

    def pose(self, body_pose: torch.Tensor, global_orient: torch.Tensor | None = None,
             betas: torch.Tensor | None = None):
        """smplx's forward pass for one body: ``body_pose`` ``[69]``, ``global_orient`` ``[3]``, ``betas`` ``[10]``
        → ``smplx`` output (``vertices`` ``[1, V, 3]``, ``joints`` ``[1, 24 + extra, 3]``).

        Raises TypeError / ValueError naming the argument for a wrong shape or a NaN / inf value.
        """
        body_pose = check_pose_arguments(body_pose, global_orient, betas, int(self.model.num_betas))
        zeros = body_pose.new_zeros
        return self.model(body_pose=body_pose.reshape(1, -1),
                          global_orient=(zeros(3) if global_orient is None else global_orient).reshape(1, 3),
                          betas=(zeros(self.model.num_betas) if betas is None else betas).reshape(1, -1),
                          transl=zeros(1, 3))


def load_smpl(path: str | os.PathLike | None = None, vertex_ids: dict | None = None) -> SmplBody:
    """Load an SMPL model file with smplx (see :func:`find_model_file` for where it is looked for).

    ``vertex_ids`` (name → vertex id of smplx's extra joints) defaults to the file's
    ``drot_vertex_ids`` (files written by :mod:`drot.apps.smpl_model`), else smplx's SMPL ids.

    Raises:
        ImportError: smplx is not installed.
        FileNotFoundError: the file is missing (the message says what to download, and where to put it).
        ValueError: the file is not a readable SMPL model: not a pickle, a key smplx needs missing, a
            wrong shape, NaN / inf values, bad face indices or vertex ids (the message names the file and
            the key, the shape found and the one expected; :func:`drot.apps.smpl_checks.check_smpl_data`).
    """
    smplx = require_smplx()
    path = find_model_file(path)
    data = _read_model_file(path)
    if vertex_ids is None:
        vertex_ids = data.get("drot_vertex_ids")
    check_smpl_data(data, path, vertex_ids)
    from smplx.utils import Struct

    # smplx prints a warning for every SMPL file (they all have 10 shape components): keep the rest.
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        model = smplx.SMPL(model_path=str(path), data_struct=Struct(**data), vertex_ids=vertex_ids)
    for line in captured.getvalue().splitlines():
        if "10 shape coefficients" not in line:
            print(line, file=sys.stdout)
    model.requires_grad_(False)
    v = model.v_template.double().numpy()
    joints = (model.J_regressor.double() @ model.v_template.double()).numpy()
    colors = part_colors(v, model.lbs_weights.double().numpy(), joints)
    return SmplBody(model, path, mesh_from_arrays(v, model.faces.astype(np.int64), colors), vertex_ids)


def generated_body(folder: str | os.PathLike | None = None, detail: float = 1.0) -> SmplBody:
    """Write drot's own SMPL-format model (:mod:`drot.apps.smpl_model`) as ``folder/SMPL_NEUTRAL.pkl``
    and load it through :func:`load_smpl`. Without ``folder`` the file goes to a temporary folder that
    is removed once the model is loaded (``SmplBody.path`` then names a file that no longer exists)."""
    from .smpl_model import write_smpl_model

    if folder is not None:
        return load_smpl(write_smpl_model(Path(folder) / MODEL_FILENAME, detail))
    with tempfile.TemporaryDirectory(prefix="drot-smpl-") as tmp:
        return load_smpl(write_smpl_model(Path(tmp) / MODEL_FILENAME, detail))


class SmplPoser:
    """The scene's geometry model: smplx's linear blend skinning of the rest vertices.

    Called as ``poser(values, vertices)`` with ``values["body_pose"]`` ``[69]`` and optionally
    ``values["global_orient"]`` ``[3]`` and ``values["betas"]`` ``[num_betas]`` (axis-angle, radians),
    ``vertices`` the rest vertices ``[V, 3]``; returns posed vertices ``[V, 3]`` in the dtype of
    ``vertices`` (smplx's buffers are cast to it), differentiable in the values.
    """

    def __init__(self, body: SmplBody) -> None:
        self.smplx = require_smplx()
        m = body.model
        self.buffers = {k: getattr(m, k) for k in ("shapedirs", "posedirs", "J_regressor", "lbs_weights")}
        self.parents = m.parents
        self.num_betas = int(m.num_betas)

    def __call__(self, values: dict[str, torch.Tensor], vertices: torch.Tensor) -> torch.Tensor:
        dt, dev = vertices.dtype, vertices.device
        body_pose = values["body_pose"].to(dt)
        orient = values["global_orient"].to(dt) if "global_orient" in values else body_pose.new_zeros(3)
        betas = values["betas"].to(dt) if "betas" in values else body_pose.new_zeros(self.num_betas)
        b = {k: v.to(device=dev, dtype=dt) for k, v in self.buffers.items()}
        verts, _ = self.smplx.lbs.lbs(betas[None], torch.cat([orient, body_pose])[None], vertices[None],
                                      b["shapedirs"], b["posedirs"], b["J_regressor"], self.parents.to(dev),
                                      b["lbs_weights"])
        return verts[0]


@dataclasses.dataclass(frozen=True)
class SmplFit:
    """An SMPL pose-fitting problem.

    Attributes:
        scene: six views of the body; parameters ``body_pose`` ``[69]`` (and ``global_orient`` ``[3]``)
            of kind ``"model"``, target = the target pose, initial = zero (the rest pose).
        body: the SMPL model.
        target: parameter name → target value.
    """

    scene: Scene
    body: SmplBody
    target: dict[str, torch.Tensor]

    def errors(self, values: dict[str, torch.Tensor]) -> "PoseErrors":
        """:func:`pose_errors` of ``values`` against the target."""
        return pose_errors(self.scene, values, self.target)


def check_pose_arguments(body_pose, global_orient=None, betas=None, num_betas: int = 10) -> torch.Tensor:
    """Check pose arguments (``body_pose`` ``[69]``, ``global_orient`` ``[3]``, ``betas`` ``[num_betas]``, finite;
    a tensor of another layout with as many numbers is accepted) and return ``body_pose`` (unchanged when it is a tensor)."""
    def check(value, name, n):
        if isinstance(value, torch.Tensor) and value.numel() == n:      # any layout smplx reshapes to [1, n]
            as_tensor(value.reshape(n), name, (n,), value.dtype)
            return value
        return as_tensor(value, name, (n,))

    for value, name, n in ((global_orient, "global_orient", 3), (betas, "betas", num_betas)):
        if value is not None:
            check(value, name, n)
    return check(body_pose, "body_pose", 69)


def random_pose(seed: int, global_orient: bool = True, pose_range: float = POSE_RANGE) -> dict[str, torch.Tensor]:
    """A seeded target: every axis-angle component uniform in ``[-pose_range, pose_range]``."""
    check_positive(pose_range, "pose_range", allow_zero=True)
    gen = torch.Generator().manual_seed(int(seed))
    pose = {"body_pose": (torch.rand(69, generator=gen) * 2 - 1) * pose_range}
    if global_orient:
        pose["global_orient"] = (torch.rand(3, generator=gen) * 2 - 1) * pose_range
    return pose


def smpl_scene(body: SmplBody | str | os.PathLike | None = None, seed: int = 0, resolution: int = 128,
               global_orient: bool = True, target: dict[str, torch.Tensor] | None = None,
               distance_factor: float = 1.2) -> SmplFit:
    """Build an SMPL pose-fitting problem (the paper's protocol by default).

    Args:
        body: an :class:`SmplBody`, or the path of an SMPL model file (see :func:`load_smpl`); None:
            the model file found by :func:`find_model_file` (the real SMPL model).
        seed: seeds the target pose (:func:`random_pose`).
        resolution: image side (the paper: 128).
        global_orient: also optimise the root rotation (SMPL's 24 joint rotations, as in the paper).
        target: explicit target values instead of a random pose.
        distance_factor: camera distance in units of what a 60° view needs to frame the rest body.

    Returns:
        :class:`SmplFit`.
    """
    check_positive(distance_factor, "distance_factor")
    if not isinstance(body, SmplBody):
        body = load_smpl(body)
    shapes = {"body_pose": (69,), "global_orient": (3,)}
    names = ["global_orient", "body_pose"] if global_orient else ["body_pose"]
    if target is None:
        target = random_pose(seed, global_orient)
    elif not isinstance(target, dict) or set(target) != set(names):
        got = sorted(target) if isinstance(target, dict) else type(target).__name__
        raise ValueError(f"SMPL target must be a dict with the keys {names} (global_orient={global_orient}), got {got}")
    else:
        target = {k: as_tensor(v, f"SMPL target[{k!r}]", shapes[k]) for k, v in target.items()}
    v = body.mesh.vertices
    lo, hi = v.min(0).values, v.max(0).values
    centre = ((lo + hi) / 2).tolist()
    distance = distance_factor * float((hi - lo).max()) / 2 / math.tan(math.radians(30.0))
    params = [Parameter(k, "model", target[k], initial=torch.zeros(shapes[k])) for k in names]
    scene = Scene("smpl", body.mesh, square_views(distance, jitter=0.05 * distance, center=centre), resolution,
                  params, geometry=SmplPoser(body), description="SMPL pose fitting: 24 joint rotations, 6 views")
    return SmplFit(scene, body, target)


# ---------------------------------------------------------------------------------------- metrics
@dataclasses.dataclass(frozen=True)
class PoseErrors:
    """Errors of a pose against the target.

    Attributes:
        joint_angle_mae: mean absolute error of the axis-angle components (radians).
        rotation_error: mean over joints of the geodesic angle between estimated and target rotations (radians).
        vertex_mae: mean absolute vertex-coordinate error (metres).
        success: ``vertex_mae <= VERTEX_THRESHOLD``.
    """

    joint_angle_mae: float
    rotation_error: float
    vertex_mae: float
    success: bool


def _rotation_matrices(rotvecs: torch.Tensor) -> torch.Tensor:
    smplx = require_smplx()
    return smplx.lbs.batch_rodrigues(rotvecs.reshape(-1, 3))


def pose_errors(scene: Scene, values: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> PoseErrors:
    """Joint-angle MAE, mean geodesic rotation error and vertex MAE of ``values`` against ``target``."""
    names = sorted(target)
    est = torch.cat([values[k].detach().double().cpu().reshape(-1) for k in names])
    ref = torch.cat([target[k].detach().double().cpu().reshape(-1) for k in names])
    rel = _rotation_matrices(est).transpose(1, 2) @ _rotation_matrices(ref)
    cos = ((rel.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2).clamp(-1, 1)
    with torch.no_grad():
        mae = float((scene.world_vertices(values) - scene.world_vertices(target)).abs().mean())
    return PoseErrors(float((est - ref).abs().mean()), float(torch.arccos(cos).mean()), mae, mae <= VERTEX_THRESHOLD)


# --------------------------------------------------------------------------- the compared problem
@dataclasses.dataclass
class SmplProblem:
    """SMPL pose fitting as a :class:`drot.apps.problem.Problem`: the seed draws the target pose, the
    start is the rest pose.

    ``body``: an :class:`SmplBody` or the path of an SMPL model file; None (default): drot's generated
    SMPL-format body (:func:`generated_body`, made once, on the first instance). Instances are
    :func:`smpl_scene`; scores: joint-angle MAE, geodesic rotation error (radians), vertex MAE (m).
    """

    body: SmplBody | str | os.PathLike | None = None
    global_orient: bool = True
    name: str = "smpl"
    resolution: int = 128
    paper_resolution: int = 128
    iterations: int = 300
    settings: dict = dataclasses.field(default_factory=dict)
    columns: dict = dataclasses.field(default_factory=lambda: {"joint_angle_mae": ".3f", "rotation_err": ".3f",
                                                               "vertex_mae": ".4f"})
    thresholds: dict = dataclasses.field(default_factory=lambda: {"vertex_mae": ("<=", VERTEX_THRESHOLD)})
    rule: str = f"vertex MAE <= {VERTEX_THRESHOLD} m"

    def loaded_body(self) -> SmplBody:
        """The body, loaded (or generated) on first use."""
        if not isinstance(self.body, SmplBody):
            self.body = generated_body() if self.body is None else load_smpl(self.body)
        return self.body

    def instance(self, seed: int, resolution: int | None = None) -> SmplFit:
        return smpl_scene(self.loaded_body(), seed=seed, resolution=resolution or self.resolution,
                          global_orient=self.global_orient)

    def score(self, instance: SmplFit, values: dict[str, torch.Tensor]) -> Score:
        e = instance.errors(values)
        return Score({"joint_angle_mae": e.joint_angle_mae, "rotation_err": e.rotation_error,
                      "vertex_mae": e.vertex_mae}, e.success, e)
