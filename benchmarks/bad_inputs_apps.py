"""Bad application inputs for ``benchmarks/bad_inputs.py``: SMPL model files and pose arguments
(area ``smpl``), blendshape sets (``blendshapes``), furniture items (``furniture``) and accessory /
portrait images (``accessory``)."""
from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import torch

from bad_inputs import Case, Skip
from bad_inputs_meshes import write

from drot.apps import blendshapes as bs
from drot.apps import furniture as fu


# ------------------------------------------------------------------------------------------ SMPL
@functools.lru_cache(maxsize=1)
def _model() -> dict:
    from drot.apps.smpl_model import generate_smpl_model

    return generate_smpl_model(detail=0.3)


def _smpl():
    try:
        import smplx  # noqa: F401
    except ImportError:
        raise Skip("smplx is not installed (pip install \"drot[apps]\")") from None
    from drot.apps import smpl
    return smpl


def load_modified(tmp: Path, name: str, change=None, **replace):
    """Write the generated SMPL-format model with keys replaced / removed, and load it."""
    smpl = _smpl()
    data = dict(_model())
    data.update(replace)
    if change:
        change(data)
    path = tmp / name
    path.write_bytes(pickle.dumps(data))
    return smpl.load_smpl(path)


def _with_nan(key, index):
    def change(data):
        a = np.array(data[key], dtype=np.float64)
        a[index] = np.nan
        data[key] = a
    return change


def _body(tmp: Path):
    return load_modified(tmp, "SMPL_NEUTRAL.pkl")


SMPL = [
    Case("SMPL model file missing", "smpl", lambda t: _smpl().load_smpl(t / "nowhere.pkl"), ("nowhere.pkl", "smpl.is.tue")),
    Case("SMPL file is not a pickle", "smpl", lambda t: _smpl().load_smpl(write(t, "text.pkl", "hello")), "text.pkl"),
    Case("SMPL file is empty", "smpl", lambda t: _smpl().load_smpl(write(t, "empty.pkl", b"")), "empty.pkl"),
    Case("SMPL pickle of a list", "smpl", lambda t: _smpl().load_smpl(write(t, "list.pkl", pickle.dumps([1, 2]))),
         ("list.pkl", "dict")),
    Case("SMPL file lacks posedirs", "smpl", lambda t: load_modified(t, "nokey.pkl", lambda d: d.pop("posedirs")),
         ("nokey.pkl", "'posedirs'")),
    Case("SMPL weights [V, 20]", "smpl", lambda t: load_modified(t, "w.pkl", weights=_model()["weights"][:, :20]),
         ("w.pkl", "'weights'", "expected [")),
    Case("SMPL shapedirs with too few vertices", "smpl",
         lambda t: load_modified(t, "sd.pkl", shapedirs=_model()["shapedirs"][:-4]), ("sd.pkl", "'shapedirs'")),
    Case("SMPL posedirs [V, 3, 200]", "smpl",
         lambda t: load_modified(t, "pd.pkl", posedirs=_model()["posedirs"][:, :, :200]), ("pd.pkl", "'posedirs'", "207")),
    Case("SMPL v_template with NaN", "smpl", lambda t: load_modified(t, "nan.pkl", _with_nan("v_template", (5, 1))),
         ("nan.pkl", "'v_template'", "NaN")),
    Case("SMPL shapedirs with inf", "smpl",
         lambda t: load_modified(t, "inf.pkl", lambda d: d.__setitem__("shapedirs", d["shapedirs"] + np.inf)),
         ("inf.pkl", "'shapedirs'")),
    Case("SMPL face index past V", "smpl",
         lambda t: load_modified(t, "f.pkl", f=np.vstack([_model()["f"], [[0, 1, 10 ** 6]]]).astype(np.uint32)),
         ("f.pkl", "'f'", "1000000")),
    Case("SMPL parent after its child", "smpl",
         lambda t: load_modified(t, "tree.pkl", kintree_table=np.stack([np.r_[-1, 0, 0, 5, np.arange(1, 21)],
                                                                         np.arange(24)])), ("tree.pkl", "kintree_table")),
    Case("SMPL weights stored as a string", "smpl", lambda t: load_modified(t, "str.pkl", weights="hello"),
         ("str.pkl", "'weights'")),
    Case("SMPL small mesh, smplx's default vertex ids", "smpl",
         lambda t: load_modified(t, "ids.pkl", lambda d: d.pop("drot_vertex_ids")), ("ids.pkl", "vertex id")),
    Case("body.pose(body_pose [68])", "smpl", lambda t: _body(t).pose(torch.zeros(68)), ("body_pose", "[69]")),
    Case("body.pose(global_orient NaN)", "smpl",
         lambda t: _body(t).pose(torch.zeros(69), torch.tensor([0.0, float("nan"), 0.0])), ("global_orient", "NaN")),
    Case("body.pose(betas [3])", "smpl", lambda t: _body(t).pose(torch.zeros(69), betas=torch.zeros(3)), "betas"),
    Case("smpl_scene target with a wrong key", "smpl",
         lambda t: _smpl().smpl_scene(_body(t), target={"pose": torch.zeros(69)}, resolution=16), ("target", "body_pose")),
    Case("smpl_scene target NaN", "smpl",
         lambda t: _smpl().smpl_scene(_body(t), resolution=16, target={"body_pose": torch.full((69,), float("nan")),
                                                                       "global_orient": torch.zeros(3)}),
         ("target['body_pose']", "NaN")),
    Case("random_pose(pose_range=-1)", "smpl", lambda t: _smpl().random_pose(0, pose_range=-1.0), "pose_range"),
]


# ----------------------------------------------------------------------------------- blendshapes
def _face_files(tmp: Path) -> tuple[Path, Path]:
    import trimesh

    base = trimesh.creation.icosphere(subdivisions=1)
    base.export(tmp / "neutral.obj")
    smile = base.copy()
    smile.vertices[:, 1] += 0.1 * np.exp(-((smile.vertices[:, 0] - 1) ** 2) * 4)
    smile.export(tmp / "smile.obj")
    return tmp / "neutral.obj", tmp / "smile.obj"


def _user_set(tmp: Path):
    return bs.load_blendshapes(*_face_files(tmp)[:1], [_face_files(tmp)[1]])


def _other(tmp: Path, name: str, change, subdivisions: int = 1) -> Path:
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions)
    change(m)
    if name.startswith("nan"):
        text = "".join(f"v {a} {b} {c}\n" for a, b, c in m.vertices) + "".join(f"f {a + 1} {b + 1} {c + 1}\n"
                                                                              for a, b, c in m.faces)
        return write(tmp, name, text)
    m.export(tmp / name)
    return tmp / name


def _nan_vertex(m):
    v = np.array(m.vertices)
    v[3, 0] = np.nan
    m.vertices = v


def _inf_deltas(tmp: Path):
    s = _user_set(tmp)
    d = s.deltas.clone()
    d[0, 4, 1] = float("inf")
    return bs.BlendshapeSet(s.neutral, d, ("smile",))


BLENDSHAPES = [
    Case("shapes is one path, not a list", "blendshapes", lambda t: bs.load_blendshapes(*_face_files(t)),
         ("shapes", "list")),
    Case("no expression files", "blendshapes", lambda t: bs.load_blendshapes(_face_files(t)[0], []), "shapes"),
    Case("expression with fewer vertices", "blendshapes",
         lambda t: bs.load_blendshapes(_face_files(t)[0], [_other(t, "frown.obj", lambda m: None, 2)]),
         ("frown.obj", "(162, 3)", "(42, 3)")),
    Case("expression with other faces", "blendshapes",
         lambda t: bs.load_blendshapes(_face_files(t)[0], [_other(t, "flip.obj", lambda m: setattr(
             m, "faces", m.faces[:, [0, 2, 1]]))]), ("flip.obj", "faces")),
    Case("expression with a NaN vertex", "blendshapes",
         lambda t: bs.load_blendshapes(_face_files(t)[0], [_other(t, "nanface.obj", _nan_vertex)]), ("nanface.obj", "NaN")),
    Case("neutral file missing", "blendshapes", lambda t: bs.load_blendshapes(t / "gone.obj", [_face_files(t)[1]]),
         "gone.obj"),
    Case("2 names for 1 file", "blendshapes",
         lambda t: bs.load_blendshapes(_face_files(t)[0], [_face_files(t)[1]], names=["a", "b"]), "names"),
    Case("color (1, 2, 3)", "blendshapes",
         lambda t: bs.load_blendshapes(*_face_files(t)[:1], [_face_files(t)[1]], color=(1, 2, 3)), ("color", "[0, 1]")),
    Case("BlendshapeSet with inf deltas", "blendshapes", _inf_deltas, ("blendshape 0", "'smile'", "inf")),
    Case("empty BlendshapeSet", "blendshapes",
         lambda t: bs.BlendshapeSet(_user_set(t).neutral, torch.zeros(0, 42, 3), ()), "empty"),
    Case("mesh(weights) of the wrong length", "blendshapes", lambda t: _user_set(t).mesh([0.1, 0.2]), ("weights", "[1]")),
    Case("target weights out of [0, 1]", "blendshapes",
         lambda t: bs.expression_scene(_user_set(t), target=[1.5], resolution=16), ("target weights", "[0, 1]")),
    Case("target weights NaN", "blendshapes",
         lambda t: bs.expression_scene(_user_set(t), target=[float("nan")], resolution=16), ("target weights", "NaN")),
    Case("make_head(detail=nan)", "blendshapes", lambda t: bs.make_head(float("nan")), "detail"),
]


# ------------------------------------------------------------------------------------- furniture
FURNITURE = [
    Case("item file missing", "furniture", lambda t: fu.furniture_scene([t / "missing.obj"]), "missing.obj"),
    Case("items is one name, not a list", "furniture", lambda t: fu.furniture_scene("bed"), ("items", "'bed'")),
    Case("unknown catalogue name", "furniture", lambda t: fu.furniture_scene(["wardrobe"]), "wardrobe"),
    Case("item file with a NaN vertex", "furniture",
         lambda t: fu.item_from_file(write(t, "nan.obj", "v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")), ("nan.obj", "NaN")),
    Case("item file without faces", "furniture",
         lambda t: fu.item_from_file(write(t, "points.obj", "v 0 0 0\nv 1 0 1\n")), "points.obj"),
    Case("item file unreadable", "furniture", lambda t: fu.item_from_file(write(t, "chair.glb", b"not a glb")),
         "chair.glb"),
    Case("item file on a vertical line", "furniture",
         lambda t: fu.item_from_file(write(t, "pole.obj", "v 0 0 0\nv 0 1 0\nv 0 1 1e-30\nf 1 2 3\n")), "pole.obj"),
    Case("footprint=inf", "furniture",
         lambda t: fu.item_from_file(write(t, "tri.obj", "v 0 0 0\nv 1 0 0\nv 0 1 1\nf 1 2 3\n"), footprint=np.inf),
         "footprint"),
    Case("item color of 2 numbers", "furniture",
         lambda t: fu.item_from_file(write(t, "tri.obj", "v 0 0 0\nv 1 0 0\nv 0 1 1\nf 1 2 3\n"), color=(1, 0)), "color"),
    Case("target pose with NaN", "furniture",
         lambda t: fu.furniture_scene(["table"], targets={"table": (0, float("nan"), 0)}, resolution=16),
         ("'table'", "NaN")),
    Case("target pose of 2 numbers", "furniture",
         lambda t: fu.furniture_scene(["table"], targets={"table": (0, 0)}, resolution=16), ("'table'", "[3]")),
    Case("Room(width=-1)", "furniture", lambda t: fu.Room(width=-1.0), "width"),
]


# ------------------------------------------------------------------------------------- accessory
def _png(tmp: Path, name: str, array: np.ndarray) -> Path:
    import imageio.v3 as iio

    iio.imwrite(tmp / name, array)
    return tmp / name


def _opaque(h=8, w=12, channels=4):
    a = np.zeros((h, w, channels), np.uint8)
    a[2:6, 2:10] = 255
    return a


def _scene(acc, portrait, target=((0, 0), (12, 0), (12, 8), (0, 8))):
    from drot.apps.accessory import accessory_scene
    return accessory_scene(acc, portrait, target)


def _accessory():
    from drot.apps import accessory
    return accessory


ACCESSORY = [
    Case("accessory PNG without alpha (RGB)", "accessory",
         lambda t: _accessory().load_accessory(_png(t, "rgb.png", _opaque(channels=3))), ("rgb.png", "RGBA")),
    Case("accessory PNG grey", "accessory",
         lambda t: _accessory().load_accessory(_png(t, "grey.png", _opaque()[..., 0])), ("grey.png", "alpha")),
    Case("accessory PNG fully transparent", "accessory",
         lambda t: _accessory().load_accessory(_png(t, "clear.png", np.zeros((8, 8, 4), np.uint8))),
         ("clear.png", "transparent")),
    Case("accessory file not an image", "accessory",
         lambda t: _accessory().load_accessory(write(t, "hat.png", "not a png")), "hat.png"),
    Case("accessory file missing", "accessory", lambda t: _accessory().load_accessory(t / "tie.png"), "tie.png"),
    Case("portrait PNG grey + alpha", "accessory",
         lambda t: _accessory().load_portrait(_png(t, "face.png", _opaque(channels=2))), ("face.png", "[H, W, 3]")),
    Case("portrait smaller than the accessory", "accessory",
         lambda t: _scene(torch.ones(8, 12, 4), torch.zeros(6, 64, 3)), ("portrait is 6 x 64", "8 x 12")),
    Case("accessory stored as float 0-255", "accessory",
         lambda t: _scene(torch.full((8, 12, 4), 255.0), torch.zeros(64, 64, 3)), ("accessory image", "[0, 1]")),
    Case("accessory array [8, 12]", "accessory", lambda t: _scene(torch.ones(8, 12), torch.zeros(64, 64, 3)),
         ("accessory image", "RGBA")),
    Case("target placement a string", "accessory",
         lambda t: _scene(torch.ones(8, 12, 4), torch.zeros(64, 64, 3), "centre"), ("target", "[4, 2]")),
    Case("target corners collinear", "accessory",
         lambda t: _scene(torch.ones(8, 12, 4), torch.zeros(64, 64, 3), [[0, 0], [5, 0], [10, 0], [0, 8]]),
         ("target", "collinear")),
]

CASES = SMPL + BLENDSHAPES + FURNITURE + ACCESSORY
