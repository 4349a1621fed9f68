"""The applications (drot.apps): furniture layout, SMPL pose fitting, blendshape expressions.

Each app is a parameter model plugged into the shared optimizer: it builds, renders, its
parameters get gradients, a short optimisation improves its parameter error; plus the file inputs
(a user's OBJ furniture, the SMPL-format model through smplx, a user's blendshape set) and their
errors. Small images and few iterations keep the file fast.
"""
import math
import pickle

import numpy as np
import pytest
import torch

import drot
from drot.apps import blendshapes as bs
from drot.apps import furniture as fu
from drot.apps import run_method
from drot.render.renderer import render

BACKEND = drot.get_backend("torch")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def render_target(scene):
    return render(scene.evaluate(scene.target_values()), list(range(scene.num_views)), scene.resolution, BACKEND)


# ------------------------------------------------------------------------------------- furniture
def test_furniture_scene_poses_items_and_keeps_the_room_still():
    problem = fu.furniture_scene(seed=0, resolution=48)
    scene = problem.scene
    assert [p.name for p in scene.parameters] == list(fu.DEFAULT_ITEMS)
    assert all(torch.equal(problem.random_start(0)[n], problem.start[n]) for n in problem.start)
    assert all(p.kind == "model" and p.target.shape == (3,) for p in scene.parameters)
    room = fu.Room().mesh().num_vertices
    values = {k: v.clone().requires_grad_(True) for k, v in problem.start.items()}
    verts = scene.world_vertices(values)
    assert torch.equal(verts[:room], scene.mesh.vertices[:room])            # the room does not move
    # an item's range is its object-space mesh turned about +Y and moved on the floor
    bed = fu.bed().mesh.vertices
    x, z, a = problem.start["bed"].tolist()
    c, s = math.cos(a), math.sin(a)
    expected = torch.stack([c * bed[:, 0] + s * bed[:, 2] + x, bed[:, 1], -s * bed[:, 0] + c * bed[:, 2] + z], 1)
    assert torch.allclose(verts[room: room + len(bed)], expected, atol=1e-5)
    frame = render(scene.evaluate(values), [0], scene.resolution, BACKEND)
    frame.image.square().mean().backward()
    assert all(values[n].grad.abs().sum() > 0 for n in values)
    assert render_target(scene).mask.float().mean() > 0.4                  # the room fills much of the view


def test_furniture_room_as_background_renders_the_same_images():
    mesh_mode = fu.furniture_scene(seed=0, resolution=48)
    bg_mode = fu.furniture_scene(seed=0, resolution=48, room_as="background")
    assert bg_mode.scene.background.shape == (48, 48, 3)
    assert bg_mode.scene.mesh.num_vertices == mesh_mode.scene.mesh.num_vertices - fu.Room().mesh().num_vertices
    a, b = render_target(mesh_mode.scene), render_target(bg_mode.scene)
    assert (a.image - b.image).abs().amax(-1).gt(0.05).float().mean() < 0.02   # same up to edge antialiasing
    assert b.mask.float().mean() < 0.5 * a.mask.float().mean()                  # only the items are foreground


def test_furniture_errors_respect_symmetry_and_wrap_angles():
    items = (fu.table(), fu.chair())
    target = {"table": torch.tensor([0.0, 0.0, 0.0]), "chair": torch.tensor([1.0, 1.0, 3.0])}
    moved = {"table": torch.tensor([0.3, 0.4, math.pi]), "chair": torch.tensor([1.0, 1.0, 3.0 - 2 * math.pi + 0.1])}
    e = fu.layout_errors(moved, target, items)
    assert e.per_item["table"] == pytest.approx((0.5, 0.0), abs=1e-6)     # a table turned by π looks the same
    assert e.per_item["chair"] == pytest.approx((0.0, 0.1), abs=1e-5)     # angles wrap
    assert not e.success and fu.layout_errors(target, target, items).success


def test_furniture_short_optimisation_improves_the_layout():
    problem = fu.furniture_scene(["sofa", "chair"], seed=0, resolution=48,
                                 targets={"sofa": (0.5, -1.5, 0.0), "chair": (-1.0, 0.5, 0.5)})
    start = {"sofa": torch.tensor([-0.3, -1.0, 0.3]), "chair": torch.tensor([-0.4, 0.0, 0.2])}
    result = drot.optimize(problem.scene, iterations=40, initial=start, seed=0, max_points=512)
    before, after = problem.errors(start), problem.errors(result.parameters)
    assert after.position < 0.5 * before.position


def test_furniture_from_a_user_obj_file(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    path = tmp_path / "armchair.obj"
    trimesh.creation.box((2.0, 1.0, 1.0)).export(path)                     # 2 x 1 x 1, centred on the origin
    item = fu.item_from_file(path, footprint=1.0)
    assert item.name == "armchair"
    lo, hi = item.mesh.vertices.min(0).values, item.mesh.vertices.max(0).values
    assert float(lo[1]) == pytest.approx(0.0, abs=1e-6)                      # stands on the floor
    assert float(hi[0] - lo[0]) == pytest.approx(1.0, abs=1e-5)               # longer side scaled to 1 m
    assert item.mesh.colors is not None and float(item.mesh.colors.std(0).sum()) == 0   # one palette colour
    problem = fu.furniture_scene([path, "chair"], seed=1, resolution=32)
    assert [p.name for p in problem.scene.parameters] == ["armchair", "chair"]
    assert render_target(problem.scene).mask.any()
    with pytest.raises(FileNotFoundError):
        fu.item_from_file(tmp_path / "missing.obj")
    with pytest.raises(ValueError, match="unknown furniture item"):
        fu.furniture_scene(["wardrobe"])


# ------------------------------------------------------------------------------------------ SMPL
# smplx is the optional extra drot[apps]: the tests that need it skip without it.
@pytest.fixture(scope="module")
def smpl_file(tmp_path_factory):
    pytest.importorskip("smplx")
    from drot.apps.smpl_model import write_smpl_model
    return write_smpl_model(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", detail=0.6)


def test_generated_smpl_file_loads_and_poses_through_smplx(smpl_file):
    smplx = pytest.importorskip("smplx")
    from drot.apps.smpl_model import JOINT_NAMES, PARENTS, rest_joints

    with open(smpl_file, "rb") as fh:
        data = pickle.load(fh)
    ids = data["drot_vertex_ids"]
    model = smplx.SMPL(model_path=str(smpl_file), vertex_ids=ids)
    assert model.J_regressor.shape[0] == len(JOINT_NAMES) == 24
    assert model.parents.tolist() == list(PARENTS)
    rest = model()
    assert torch.allclose(rest.joints[0, :24].double(), torch.from_numpy(rest_joints()), atol=1e-5)
    pose = (torch.rand(1, 69, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.4
    out = model(body_pose=pose)
    assert out.vertices.shape == (1, len(data["v_template"]), 3)
    assert not torch.allclose(out.vertices, rest.vertices)
    # smplx's extra joints are read at our vertex ids (nose, eyes, ears, toes, heels, finger tips)
    extra = out.joints[0, 24:]
    assert extra.shape[0] == 21
    assert torch.allclose(extra[0], out.vertices[0, ids["nose"]])
    assert torch.allclose(extra[-1], out.vertices[0, ids["rpinky"]])


def test_smpl_scene_gradients_and_short_fit(smpl_file):
    pytest.importorskip("smplx")
    from drot.apps import smpl

    body = smpl.load_smpl(smpl_file)
    assert body.num_joints == 24 and body.vertex_ids is not None
    problem = smpl.smpl_scene(body, seed=0, resolution=48)
    scene = problem.scene
    assert scene.num_views == 6 and {p.name for p in scene.parameters} == {"body_pose", "global_orient"}
    values = {p.name: p.initial.clone().requires_grad_(True) for p in scene.parameters}
    render(scene.evaluate(values), [0, 4], scene.resolution, BACKEND).image.square().mean().backward()
    assert values["body_pose"].grad.abs().sum() > 0 and values["global_orient"].grad.abs().sum() > 0
    # the scene's geometry model is smplx's forward pass
    target = problem.target
    ref = body.pose(target["body_pose"], target["global_orient"]).vertices[0]
    assert torch.allclose(scene.world_vertices(target), ref, atol=1e-5)
    result = drot.optimize(scene, iterations=60, seed=0)
    start = problem.errors({k: torch.zeros_like(v) for k, v in target.items()})
    assert problem.errors(result.parameters).vertex_mae < 0.6 * start.vertex_mae


def test_missing_smpl_model_file_says_what_to_download(tmp_path, monkeypatch):
    from drot.apps import smpl

    monkeypatch.delenv("DROT_SMPL_MODEL", raising=False)
    with pytest.raises(FileNotFoundError, match=r"smpl\.is\.tue\.mpg\.de") as info:
        smpl.find_model_file(tmp_path / "SMPL_NEUTRAL.pkl")
    assert "SMPL_NEUTRAL.pkl" in str(info.value) and str(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="licensed"):
        smpl.find_model_file(tmp_path)                                      # a folder without the file
    monkeypatch.setenv("DROT_SMPL_MODEL", str(tmp_path / "nowhere.pkl"))
    with pytest.raises(FileNotFoundError, match="nowhere.pkl"):
        smpl.find_model_file()
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"v_template": np.zeros((3, 3))}))
    pytest.importorskip("smplx")
    with pytest.raises(ValueError, match="lacks the key"):
        smpl.load_smpl(bad)


# ----------------------------------------------------------------------------------- blendshapes
@pytest.fixture(scope="module")
def face():
    return bs.default_blendshapes(detail=0.5)


def test_blendshape_model_is_the_linear_blend_and_gets_gradients(face):
    assert face.count == 12 and face.names == tuple(bs.EXPRESSIONS)
    problem = bs.expression_scene(face, seed=0, resolution=64)
    assert 0 <= float(problem.target.min()) and float(problem.target.max()) <= bs.WEIGHT_RANGE
    w = torch.rand(12, generator=torch.Generator().manual_seed(1))
    expected = face.neutral.vertices + sum(w[i] * face.deltas[i] for i in range(12))
    assert torch.allclose(problem.scene.world_vertices({"weights": w}), expected, atol=1e-5)
    assert torch.allclose(face.mesh(w).vertices, expected, atol=1e-5)
    # every expression moves something the front view sees
    weights = torch.zeros(12, requires_grad=True)
    frame = render(problem.scene.evaluate({"weights": weights}), [0], (64, 64), BACKEND)
    target = render_target(problem.scene).image
    (frame.image - target).square().mean().backward()
    assert (weights.grad.abs() > 0).all()


def test_blendshape_short_optimisation_improves_the_weights(face):
    problem = bs.expression_scene(face, seed=0, resolution=64)
    result = run_method(problem.scene, "hybrid", 40, seed=0)
    before = problem.errors({"weights": torch.zeros(12)})
    after = problem.errors(result.parameters)
    assert after.weight_mae < 0.7 * before.weight_mae and after.vertex_mae < before.vertex_mae


def test_user_blendshape_set_and_shape_mismatch(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    base = trimesh.creation.icosphere(subdivisions=2)
    base.export(tmp_path / "neutral.obj")
    smile = base.copy()
    smile.vertices[:, 1] += 0.1 * np.exp(-((smile.vertices[:, 0] - 1) ** 2) * 4)
    smile.export(tmp_path / "smile.obj")
    shapes = bs.load_blendshapes(tmp_path / "neutral.obj", [tmp_path / "smile.obj"])
    assert shapes.names == ("smile",) and shapes.deltas.shape == (1, len(base.vertices), 3)
    assert torch.allclose(shapes.deltas[0], torch.tensor(smile.vertices - base.vertices, dtype=torch.float32), atol=1e-5)
    problem = bs.expression_scene(shapes, resolution=32, target=[0.4])
    assert render_target(problem.scene).mask.any()

    trimesh.creation.icosphere(subdivisions=1).export(tmp_path / "frown.obj")     # fewer vertices
    with pytest.raises(ValueError, match=r"frown\.obj.*\(42, 3\).*\(162, 3\)"):
        bs.load_blendshapes(tmp_path / "neutral.obj", [tmp_path / "smile.obj", tmp_path / "frown.obj"])
    flipped = base.copy()
    flipped.faces = flipped.faces[:, [0, 2, 1]]
    flipped.export(tmp_path / "flipped.obj")
    with pytest.raises(ValueError, match=r"flipped\.obj.*faces"):
        bs.load_blendshapes(tmp_path / "neutral.obj", [tmp_path / "flipped.obj"])
    with pytest.raises(ValueError, match="at least one"):
        bs.load_blendshapes(tmp_path / "neutral.obj", [])


def test_methods_run_the_shared_optimizer_with_the_paper_decay(face):
    problem = bs.expression_scene(face, seed=2, resolution=32)
    result = run_method(problem.scene, "hybrid", 12, seed=0)
    assert [h["mode"] for h in result.history] == ["rgbxy"] * 9 + ["standard"] * 3
    assert result.settings.lr_decay == pytest.approx(0.999 ** (1000 / 12))
    assert run_method(problem.scene, "standard", 3).settings.strategy == "standard"
    with pytest.raises(ValueError, match="unknown method"):
        run_method(problem.scene, "l1", 5)
