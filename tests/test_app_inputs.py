"""Bad application inputs and mesh files get errors that name the file, key or argument at fault.

SMPL model files (checked before smplx sees them), pose arguments, blendshape sets, furniture item
files, accessory images, and load_mesh's own checks (OBJ index 0, degenerate faces, NaN vertices, a
mesh too large for memory); plus the bad-input catalogue (benchmarks/bad_inputs.py) for these areas.
"""
import importlib
import math
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import drot
from drot.apps import blendshapes as bs
from drot.apps import furniture as fu
from drot.scene import mesh_checks
from drot.scene.mesh import MeshError

ROOT = Path(__file__).resolve().parents[1]
QUAD = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n"


# ------------------------------------------------------------------------------------------ SMPL
@pytest.fixture(scope="module")
def smpl_model():
    pytest.importorskip("smplx")
    from drot.apps.smpl_model import generate_smpl_model
    return generate_smpl_model(detail=0.3)


def write_model(folder: Path, name: str, data: dict) -> Path:
    path = folder / name
    path.write_bytes(pickle.dumps(data))
    return path


def test_smpl_file_without_a_key_smplx_needs(tmp_path, smpl_model):
    from drot.apps import smpl

    data = {k: v for k, v in smpl_model.items() if k != "J_regressor"}
    with pytest.raises(ValueError, match=r"nokey\.pkl lacks the key\(s\) \['J_regressor'\]"):
        smpl.load_smpl(write_model(tmp_path, "nokey.pkl", data))


@pytest.mark.parametrize("key, value, message", [
    ("weights", lambda m: m["weights"][:, :20], r"key 'weights' has shape \[\d+, 20\], expected \[\d+, 24\]"),
    ("posedirs", lambda m: m["posedirs"][:, :, :9], r"key 'posedirs' has shape \[\d+, 3, 9\], expected \[\d+, 3, 207\]"),
    ("J_regressor", lambda m: m["J_regressor"][:, :-1], r"key 'J_regressor' has shape \[24, \d+\], expected \[24, \d+\]"),
    ("kintree_table", lambda m: m["kintree_table"][:, :23], r"key 'kintree_table' has shape \[2, 23\], expected \[2, 24\]"),
])
def test_smpl_file_with_a_wrong_shape(tmp_path, smpl_model, key, value, message):
    from drot.apps import smpl

    path = write_model(tmp_path, "shape.pkl", {**smpl_model, key: value(smpl_model)})
    with pytest.raises(ValueError, match=r"shape\.pkl: " + message):
        smpl.load_smpl(path)


def test_smpl_file_with_nan_or_bad_indices(tmp_path, smpl_model):
    from drot.apps import smpl

    v = smpl_model["v_template"].copy()
    v[7, 2] = math.nan
    with pytest.raises(ValueError, match=r"nan\.pkl: key 'v_template' contains NaN or inf \(1 of \d+ entries, "
                                         r"first at index \(7, 2\)\)"):
        smpl.load_smpl(write_model(tmp_path, "nan.pkl", {**smpl_model, "v_template": v}))
    f = np.vstack([smpl_model["f"], [[0, 1, 99999]]])
    with pytest.raises(ValueError, match=r"f\.pkl: key 'f' indexes vertices outside .*99999"):
        smpl.load_smpl(write_model(tmp_path, "f.pkl", {**smpl_model, "f": f}))
    no_ids = {k: v for k, v in smpl_model.items() if k != "drot_vertex_ids"}
    with pytest.raises(ValueError, match=r"ids\.pkl: the extra-joint vertex id .*\(smplx's default"):
        smpl.load_smpl(write_model(tmp_path, "ids.pkl", no_ids))
    (tmp_path / "text.pkl").write_text("not a pickle")
    with pytest.raises(ValueError, match=r"cannot read SMPL model file .*text\.pkl"):
        smpl.load_smpl(tmp_path / "text.pkl")


def test_smpl_pose_arguments_are_checked_by_name(tmp_path, smpl_model):
    from drot.apps import smpl

    body = smpl.load_smpl(write_model(tmp_path, "SMPL_NEUTRAL.pkl", smpl_model))
    with pytest.raises(ValueError, match=r"body_pose must have shape \[69\], got \[68\]"):
        body.pose(torch.zeros(68))
    with pytest.raises(ValueError, match="global_orient contains NaN"):
        body.pose(torch.zeros(69), torch.tensor([0.0, math.inf, 0.0]))
    with pytest.raises(ValueError, match=r"betas must have shape \[10\]"):
        body.pose(torch.zeros(69), betas=torch.zeros(4))
    assert body.pose(torch.zeros(23, 3)).vertices.shape[0] == 1          # a [23, 3] pose still reshapes
    with pytest.raises(ValueError, match=r"SMPL target\['body_pose'\] contains NaN"):
        smpl.smpl_scene(body, resolution=16, target={"body_pose": torch.full((69,), math.nan),
                                                     "global_orient": torch.zeros(3)})


# ----------------------------------------------------------------------------------- blendshapes
@pytest.fixture
def face_files(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    base = trimesh.creation.icosphere(subdivisions=1)
    base.export(tmp_path / "neutral.obj")
    smile = base.copy()
    smile.vertices[:, 1] += 0.05
    smile.export(tmp_path / "smile.obj")
    return tmp_path / "neutral.obj", tmp_path / "smile.obj"


def test_bad_blendshape_sets(tmp_path, face_files):
    neutral, smile = face_files
    with pytest.raises(TypeError, match="shapes must be a list of file paths, got a single"):
        bs.load_blendshapes(neutral, smile)
    with pytest.raises(ValueError, match="shapes is empty"):
        bs.load_blendshapes(neutral, [])
    (tmp_path / "nan.obj").write_text(QUAD.replace("v 0 1 0", "v 0 nan 0") + "f 1 2 3\n")
    with pytest.raises(MeshError, match=r"nan\.obj: mesh vertices contain NaN or inf"):
        bs.load_blendshapes(neutral, [smile, tmp_path / "nan.obj"])
    with pytest.raises(ValueError, match=r"color must lie in \[0, 1\]"):
        bs.load_blendshapes(neutral, [smile], color=(0.5, 2.0, 0.5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shapes = bs.load_blendshapes(neutral, [smile, neutral])
    assert any("blendshape 1" in str(w.message) and "identical to the neutral" in str(w.message) for w in caught)
    deltas = shapes.deltas.clone()
    deltas[1, 3, 0] = math.nan
    with pytest.raises(ValueError, match=r"blendshape 1 \('neutral'\) has NaN or inf deltas at 1 of 42 vertices"):
        bs.BlendshapeSet(shapes.neutral, deltas, shapes.names)
    with pytest.raises(ValueError, match="blendshape set is empty"):
        bs.BlendshapeSet(shapes.neutral, torch.zeros(0, 42, 3), ())


def test_blendshape_weights_are_checked_by_name(face_files):
    shapes = bs.load_blendshapes(face_files[0], [face_files[1]])
    with pytest.raises(ValueError, match=r"weights must have shape \[1\], got \[2\]"):
        shapes.mesh([0.1, 0.2])
    with pytest.raises(ValueError, match=r"target weights must lie in \[0, 1\], got 1.5"):
        bs.expression_scene(shapes, target=[1.5], resolution=16)
    with pytest.raises(ValueError, match="target weights contains NaN"):
        bs.expression_scene(shapes, target=[math.nan], resolution=16)


# ------------------------------------------------------------------------------------- mesh files
def test_obj_face_index_zero_names_the_line(tmp_path):
    path = tmp_path / "zero.obj"
    path.write_text(QUAD + "f 1 2 3\nf 0 1 2\n")       # trimesh alone turns the 0 into another vertex
    with pytest.raises(MeshError, match=r"zero\.obj, line 6 \('f 0 1 2'\): face index 0; OBJ indices count from 1"):
        drot.load_mesh(path)
    (tmp_path / "ok.obj").write_text(QUAD + "f 1 2 3\nf -1 -3 -2\n")          # negative: back from the last
    assert drot.load_mesh(tmp_path / "ok.obj").faces.tolist() == [[0, 1, 2], [3, 1, 2]]


def test_degenerate_faces_warn_with_the_count_and_all_degenerate_is_an_error(tmp_path):
    (tmp_path / "some.obj").write_text(QUAD + "f 1 2 3\nf 2 4 3\nf 1 1 2\n")
    with pytest.warns(UserWarning, match=r"some\.obj: 1 of 3 faces are degenerate \(zero area, first: face 2\)"):
        mesh = drot.load_mesh(tmp_path / "some.obj")
    assert mesh.num_faces == 3                                             # kept
    (tmp_path / "line.obj").write_text("v 0 0 0\nv 1 1 1\nv 2 2 2\nv 3 3 3\nf 1 2 3\nf 2 3 4\n")
    with pytest.raises(MeshError, match=r"line\.obj: all 2 faces are degenerate"):
        drot.load_mesh(tmp_path / "line.obj")


def test_nan_vertex_and_bad_index_name_the_file(tmp_path):
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 inf 0\nf 1 2 3\n")
    with pytest.raises(MeshError, match=r"nan\.obj: mesh vertices contain NaN or inf: 1 of 3 vertices, first: vertex 2"):
        drot.load_mesh(tmp_path / "nan.obj")
    header = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
              "element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    (tmp_path / "idx.ply").write_text(header + "0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n")
    with pytest.raises(MeshError, match=r"idx\.ply: mesh faces index vertices outside \[0, 2\]: 1 of 1 faces, first: "
                                        r"face 0 = \[0, 1, 5\]"):
        drot.load_mesh(tmp_path / "idx.ply")


def test_a_mesh_too_large_for_memory_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh_checks, "mesh_memory_limit", lambda: 10 * mesh_checks.BYTES_PER_FACE)
    (tmp_path / "big.obj").write_text(QUAD + "f 1 2 3\n" * 11)
    with pytest.raises(MemoryError, match=r"big\.obj has 11 faces \(f lines\)") as info:
        drot.load_mesh(tmp_path / "big.obj")
    assert isinstance(info.value, MeshError) and "Decimate the mesh to at most 10 faces" in str(info.value)
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
              "property float z\nelement face 20000000\nproperty list uchar int vertex_indices\nend_header\n")
    (tmp_path / "huge.ply").write_bytes(header.encode() + b"\0" * 36)      # 20M faces declared, none there
    with pytest.raises(MeshError, match=r"huge\.ply has 20,000,000 faces \(declared in its header\)"):
        drot.load_mesh(tmp_path / "huge.ply")
    (tmp_path / "ok.obj").write_text(QUAD + "f 1 2 3\n" * 10)
    assert drot.load_mesh(tmp_path / "ok.obj").num_faces == 10
    monkeypatch.undo()
    monkeypatch.setenv("DROT_MESH_MEMORY_LIMIT", "100")
    assert mesh_checks.mesh_memory_limit() == 100


# ------------------------------------------------------------------------- furniture and accessory
def test_furniture_item_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"furniture item file not found: .*missing\.obj"):
        fu.furniture_scene([tmp_path / "missing.obj"])
    with pytest.raises(TypeError, match="items must be a list .* got a single str 'bed'"):
        fu.furniture_scene("bed")
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 nan 1\nf 1 2 3\n")
    with pytest.raises(MeshError, match=r"nan\.obj: mesh vertices contain NaN"):
        fu.item_from_file(tmp_path / "nan.obj")
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 1\nf 1 2 3\n")
    with pytest.raises(ValueError, match="footprint must be a finite number > 0, got inf"):
        fu.item_from_file(tmp_path / "tri.obj", footprint=math.inf)
    with pytest.raises(ValueError, match=r"target pose of 'table' \(x, z, angle\) contains NaN"):
        fu.furniture_scene(["table"], targets={"table": (0.0, math.nan, 0.0)}, resolution=16)


def test_bad_accessory_images(tmp_path):
    import imageio.v3 as iio
    from PIL import Image

    from drot.apps.accessory import accessory_scene, as_accessory, load_accessory

    rgba = np.zeros((8, 12, 4), np.uint8)
    rgba[2:6, 2:10] = 255
    iio.imwrite(tmp_path / "rgb.png", rgba[..., :3])
    with pytest.raises(ValueError, match=r"rgb\.png: accessory image has no alpha channel.*expected RGBA \[h, w, 4\]"):
        load_accessory(tmp_path / "rgb.png")
    iio.imwrite(tmp_path / "clear.png", np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match=r"clear\.png: accessory image is fully transparent"):
        load_accessory(tmp_path / "clear.png")
    palette = Image.new("P", (8, 8), 0)                                      # transparency in a tRNS chunk
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(1, (2, 2, 6, 6))
    palette.save(tmp_path / "palette.png", transparency=0)
    assert load_accessory(tmp_path / "palette.png").shape == (4, 4, 4)
    with pytest.raises(ValueError, match=r"float values in \[255, 255\]; expected \[0, 1\]"):
        as_accessory(np.full((4, 4, 4), 255.0))
    with pytest.raises(ValueError, match=r"portrait is 6 x 64 pixels .* accessory is 8 x 12"):
        accessory_scene(torch.ones(8, 12, 4), torch.zeros(6, 64, 3), [[0, 0], [12, 0], [12, 8], [0, 8]])
    with pytest.raises(TypeError, match=r"target \(accessory corners\) must be \(x, y\) points \[4, 2\]"):
        accessory_scene(torch.ones(8, 12, 4), torch.zeros(64, 64, 3), "centre")


# ------------------------------------------------------------------------------- the catalogue
AREAS = {"smpl", "blendshapes", "furniture", "accessory", "mesh", "scene file", "settings", "target", "run", "cli",
         "objects", "texture file", "multi-start", "own loop", "sweeps", "imitator"}


def test_bad_input_catalogue_is_all_good(one_thread):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        catalogue = importlib.import_module("bad_inputs")
        cases = [c for c in catalogue.discover(ROOT / "benchmarks") if "20M" not in c.label]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert {c.area for c in cases} == AREAS and len(cases) >= 200
    assert all(sum(c.area == a for c in cases) >= 5 for a in AREAS)  # every surface, at least five cases
    outcomes = catalogue.run(cases)
    bad = [(o.case.label, o.outcome, o.first_line) for o in outcomes if o.outcome not in ("good", "skipped")]
    assert not bad, "\n".join(map(str, bad))
