"""Scene files: the built-in KITTY file and a user's own scene with a mesh file and explicit cameras."""
import pytest
import torch
import trimesh

import drot
from drot.scene.loader import available_scenes, load_scene


def test_kitty_scene_file_matches_the_paper_setting():
    scene = load_scene("kitty")
    assert scene.resolution == (128, 128) and scene.num_views == 6
    (param,) = scene.parameters
    assert param.kind == "translation" and param.init_range == (-1.0, 1.0)
    assert torch.equal(param.target, torch.zeros(3))
    lo, hi = scene.mesh.vertices.min(0).values, scene.mesh.vertices.max(0).values
    assert float((hi - lo).max()) == pytest.approx(1.0, abs=1e-5)
    for cam in scene.cameras:  # distance 2 from the centre, up to 0.1 jitter per axis
        assert 2 - 0.2 < float(cam.eye.norm()) < 2 + 0.2
        assert cam.fov_y == 60.0
    assert "kitty" in available_scenes()


def write_user_scene(tmp_path, body: str):
    trimesh.creation.icosphere(2, radius=0.5).export(tmp_path / "ball.obj")
    path = tmp_path / "ball.toml"
    path.write_text(body)
    return path


USER_SCENE = """
name = "ball"
resolution = [24, 32]
[mesh]
file = "ball.obj"
[views]
fov = 50.0
[[views.cameras]]
eye = [0.0, 0.0, 3.0]
[[views.cameras]]
eye = [3.0, 0.0, 0.0]
up = [0.0, 1.0, 0.0]
[[parameters]]
name = "offset"
kind = "translation"
target = [0.2, 0.0, 0.0]
initial = [-0.3, 0.1, 0.0]
"""


def test_user_scene_with_mesh_file_and_cameras(tmp_path):
    path = write_user_scene(tmp_path, USER_SCENE)
    scene = load_scene(path)
    assert scene.name == "ball" and scene.resolution == (24, 32) and scene.num_views == 2
    assert scene.cameras[0].fov_y == 50.0
    assert torch.allclose(scene.initial_values(0)["offset"], torch.tensor([-0.3, 0.1, 0.0]))
    frame = drot.render_views(scene.evaluate(scene.target_values()), [0, 1], scene.resolution, drot.get_backend())
    assert frame.image.shape == (2, 24, 32, 3) and frame.mask.any()


def test_user_scene_via_search_path(tmp_path, monkeypatch):
    write_user_scene(tmp_path, USER_SCENE)
    monkeypatch.setenv("DROT_SCENE_PATH", str(tmp_path))
    assert "ball" in available_scenes()
    assert load_scene("ball").name == "ball"


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace('file = "ball.obj"', 'procedural = "dragon"'), "unknown procedural mesh 'dragon'"),
    (lambda s: s.replace('file = "ball.obj"', 'file = "missing.obj"'), "mesh file not found"),
    (lambda s: s.replace('kind = "translation"', 'kind = "teleport"'), "unknown parameter kind 'teleport'"),
    (lambda s: s.replace('initial = [-0.3, 0.1, 0.0]', ''), "give either `initial` or `init_range`"),
    (lambda s: s.replace('eye = [0.0, 0.0, 3.0]', 'target = [0.0, 0.0, 0.0]'), "missing required key 'eye'"),
    (lambda s: s + "\n[[[broken", "not valid TOML"),
])
def test_bad_scene_files_name_the_problem(tmp_path, edit, message):
    path = write_user_scene(tmp_path, edit(USER_SCENE))
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_scene(path)
