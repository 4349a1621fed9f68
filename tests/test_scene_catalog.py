"""The paper's eight evaluation scenes as scene files, their procedural assets, and the scene-file
features they use (procedural values, UV projections, textures, environments) on a user's own mesh."""
import numpy as np
import pytest
import torch
import trimesh

import drot
from drot.eval.scene_benchmark import benchmark_config
from drot.optim.losses import image_l2_loss
from drot.render.torch_backend import _cube_lookup
from drot.scene import assets as models
from drot.scene.deform import rbf_warp
from drot.scene.environment import cube_directions, sky
from drot.scene.loader import load_scene, scene_config
from drot.scene.assets.teapot import PATCH_COUNT, PATCH_GROUPS, control_points, make_teapot, patch_indices
from drot.scene.texture import checker, patchwork, project_uvs

BACKEND = drot.get_backend("torch")

# scene -> (main metric, views, parameter kinds), from the paper's table of evaluation scenes
CATALOG = {
    "kitty": ("vertex_mae", 6, ["translation"]),
    "buddha": ("vertex_mae", 6, ["rotation"]),
    "cube": ("vertex_mae", 4, ["translation", "rotation"]),
    "ginger": ("vertex_mae", 1, ["vertex_offsets"]),
    "box": ("psnr", 1, ["camera_eye", "camera_target"]),
    "teapot": ("psnr", 6, ["diffuse", "specular"]),
    "outdoor": ("psnr", 6, ["environment"]),
    "joint": ("psnr", 1, ["translation", "rotation", "scale", "texture"]),
}


def _render(scene, values):
    return drot.render_views(scene.evaluate(values), list(range(scene.num_views)), scene.resolution, BACKEND)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_scene_loads_renders_and_has_gradients(name):
    metric, views, kinds = CATALOG[name]
    cfg, path = scene_config(name)
    assert benchmark_config(cfg, path)["metric"] == metric
    scene = load_scene(name, resolution=32)
    assert scene.num_views == views and [p.kind for p in scene.parameters] == kinds
    target = _render(scene, scene.target_values())
    assert target.mask.any(dim=(1, 2)).all()  # the object is seen in every view
    start = {k: v.requires_grad_(True) for k, v in scene.initial_values(0).items()}
    image = _render(scene, start).image
    assert not torch.allclose(image, target.image, atol=1e-3)  # the start differs from the target
    image_l2_loss(image, target.image).backward()
    for p in scene.parameters:
        g = start[p.name].grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0, p.name


def test_benchmark_config_defaults_and_errors():
    assert benchmark_config({}) == {"metric": "vertex_mae", "success_threshold": 0.01}
    assert benchmark_config({"benchmark": {"metric": "psnr", "success_threshold": 30}})["success_threshold"] == 30.0
    with pytest.raises(ValueError, match="unknown metric 'ssim'"):
        benchmark_config({"benchmark": {"metric": "ssim"}})
    with pytest.raises(ValueError, match="unknown key"):
        benchmark_config({"benchmark": {"threshold": 1}})


# ------------------------------------------------------------------------------------ assets
def test_teapot_from_newells_patches():
    assert control_points().shape == (306, 3)
    nets = patch_indices()
    assert nets.shape == (PATCH_COUNT, 16) and nets.min() == 0 and nets.max() == 305
    assert sum(len(r) for r in PATCH_GROUPS.values()) == PATCH_COUNT
    pot = make_teapot(subdivisions=8)
    assert pot.num_vertices == 2081 and pot.num_faces == 4032
    lo, hi = pot.vertices.min(0).values, pot.vertices.max(0).values
    assert float((hi - lo).max()) == pytest.approx(1.0, abs=1e-5)
    assert float(pot.vertices[pot.vertices[:, 0].argmax(), 1]) > 0  # the spout tip is high up (+Y up, spout +X)
    t = trimesh.Trimesh(pot.vertices.numpy(), pot.faces.numpy(), process=False)
    assert t.is_winding_consistent
    # welded: open only where the data is (rim/lid gap, spout tip, handle and spout ends): 8 loops of 16 edges
    edges = np.sort(pot.faces.numpy()[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert counts.max() == 2 and (counts == 1).sum() == 128
    body = make_teapot(subdivisions=4, patches=PATCH_GROUPS["body"])  # faces outward: away from the axis
    v, f = body.vertices.double().numpy(), body.faces.numpy()
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    radial = v[f].mean(1) * [1, 0, 1]
    assert (np.einsum("ij,ij->i", n, radial) > 0).mean() > 0.99


@pytest.mark.parametrize("make", [models.make_buddha, models.coloured_cube, models.make_gingerbread,
                                  models.make_room, models.make_stone, models.textured_box])
def test_models_are_normalized_and_coloured(make):
    m = make()
    lo, hi = m.vertices.min(0).values, m.vertices.max(0).values
    assert float((hi - lo).max()) == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose((lo + hi) / 2, torch.zeros(3), atol=1e-5)
    assert m.colors is not None and 0 <= float(m.colors.min()) and float(m.colors.max()) <= 1
    assert torch.equal(make().vertices, m.vertices)  # deterministic


def test_gingerbread_faces_the_camera_and_cube_sides_differ():
    g = models.make_gingerbread()
    v, f = g.vertices.double().numpy(), g.faces.numpy()
    assert (np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])[:, 2] > 0).all()  # every face toward +Z
    cube = models.coloured_cube(subdivisions=1)
    assert torch.unique(cube.colors, dim=0).shape[0] == 6
    box = models.textured_box()
    assert box.uvs is not None and 0 <= float(box.uvs.min()) and float(box.uvs.max()) <= 1


def test_environment_layout_matches_the_renderers_cube_lookup():
    d = torch.as_tensor(cube_directions(32), dtype=torch.float32)
    assert torch.allclose(d.norm(dim=-1), torch.ones(6, 32, 32))
    q = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
    looked_up = _cube_lookup(d * 0.5 + 0.5, q)  # a map storing its own directions gives them back
    assert torch.allclose(looked_up, q / q.norm(dim=1, keepdim=True) * 0.5 + 0.5, atol=0.02)
    env = sky(8)
    assert env.shape == (6, 8, 8, 3) and 0 <= float(env.min()) and float(env.max()) <= 1
    assert env[2].mean(dim=(0, 1))[2] > env[3].mean(dim=(0, 1))[2]  # blue sky above, ground below


def test_textures_and_uv_projections():
    c = checker(16, 4)
    assert c.shape == (16, 16, 3) and not torch.equal(c[0, 0], c[0, 4])
    p = patchwork(24, 6, border=0.0)
    assert not torch.equal(p[0, 0], p[0, 4]) and not torch.equal(p[0, 0], p[4, 0])
    v = torch.tensor([[-1.0, -2.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(project_uvs(v, "planar", "z")[:2], torch.tensor([[0.25, 0.0], [0.75, 1.0]]))
    sph = project_uvs(v, "spherical", "y")
    assert sph.shape == (3, 2) and 0 <= float(sph.min()) and float(sph.max()) <= 1
    with pytest.raises(ValueError, match="unknown UV projection"):
        project_uvs(v, "cubic")


def test_rbf_warp_is_local_and_smooth():
    v = torch.tensor([[0.0, 0.0, 0.0], [0.05, 0.0, 0.0], [5.0, 0.0, 0.0]])
    off = rbf_warp(v, [[0.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], radius=0.2)
    assert torch.allclose(off[0], torch.tensor([0.0, 1.0, 0.0]))
    assert 0.9 < float(off[1, 1]) < 1.0 and float(off[2].abs().max()) < 1e-6


# --------------------------------------------------------------------------- a user's scene
USER_SCENE = """
name = "user"
resolution = 24
[mesh]
file = "ball.obj"
uv = { projection = "spherical", axis = "y" }
[environment]
procedural = "sky"
args = { resolution = 4 }
[views]
[[views.cameras]]
eye = [0.0, 0.3, 2.0]
[[parameters]]
name = "paint"
kind = "texture"
[parameters.target]
procedural = "checker"
args = { resolution = 16, tiles = 4 }
[parameters.initial]
procedural = "constant"
args = { value = [0.5, 0.4, 0.3] }
[[parameters]]
name = "dent"
kind = "vertex_offsets"
[parameters.target]
procedural = "rbf_warp"
args = { centers = [[0.0, 0.0, 0.5]], shifts = [[0.0, 0.0, -0.1]], radius = 0.2 }
[parameters.initial]
procedural = "constant"
[benchmark]
metric = "psnr"
success_threshold = 35
"""


def test_user_scene_with_an_obj_mesh_uses_the_new_features(tmp_path):
    trimesh.creation.icosphere(2, radius=0.5).export(tmp_path / "ball.obj")
    path = tmp_path / "user.toml"
    path.write_text(USER_SCENE)
    scene = load_scene(path)
    v = scene.mesh.num_vertices
    assert scene.mesh.uvs is not None and scene.mesh.uvs.shape == (v, 2)
    assert scene.environment is not None and scene.environment.shape == (6, 4, 4, 3)
    paint, dent = scene.parameters
    assert paint.target.shape == (16, 16, 3) and torch.allclose(paint.initial[3, 5], torch.tensor([0.5, 0.4, 0.3]))
    assert dent.target.shape == (v, 3) and float(dent.target[:, 2].min()) < -0.05 and not dent.initial.any()
    start = {k: t.requires_grad_(True) for k, t in scene.initial_values(0).items()}
    image = _render(scene, start).image
    target = _render(scene, scene.target_values()).image
    assert not torch.allclose(image, target)
    image_l2_loss(image, target).backward()
    assert start["paint"].grad.abs().sum() > 0 and start["dent"].grad.abs().sum() > 0
    assert benchmark_config(*scene_config(path)) == {"metric": "psnr", "success_threshold": 35.0}


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace('procedural = "checker"', 'procedural = "plaid"'), "unknown procedural value 'plaid'"),
    (lambda s: s.replace('args = { resolution = 16, tiles = 4 }', 'args = { size = 16 }'), "bad arguments"),
    (lambda s: s.replace('uv = { projection = "spherical", axis = "y" }\n', ''), "texture must be .* on a mesh with uvs"),
    (lambda s: s.replace('axis = "y"', 'axis = "w"'), "UV projection axis"),
    (lambda s: s.replace('[mesh]\n', '[mesh]\ntexture = { procedural = "checker" }\n').replace(
        'uv = { projection = "spherical", axis = "y" }\n', ''), "a `texture` needs UVs"),
    (lambda s: s.replace('[mesh]\n', '[mesh]\nscale = -2\n'), "`scale` must be a positive number"),
])
def test_bad_procedural_values_name_the_problem(tmp_path, edit, message):
    trimesh.creation.icosphere(1, radius=0.5).export(tmp_path / "ball.obj")
    path = tmp_path / "user.toml"
    path.write_text(edit(USER_SCENE))
    with pytest.raises(ValueError, match=message):
        load_scene(path)
