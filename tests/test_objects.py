"""Scenes of several objects, the Euler-angle kind, the random camera rig, and the paper's protocol
as scene files (scenes/paper/*.toml)."""
import dataclasses
import math
from pathlib import Path

import pytest
import torch

import drot
from drot.eval.cli import main as bench_main
from drot.eval.scene_benchmark import optimize_defaults
from drot.render.camera import random_views
from drot.scene import kit
from drot.scene.kinds import euler_matrix
from drot.scene.loader import available_scenes, scene_config
from drot.scene.objects import SceneObject
from drot.scene.texture import checker, project_uvs

BACKEND = drot.get_backend("torch")
ROOT = Path(__file__).resolve().parents[1]
CAMERA = drot.Camera(torch.tensor([0.0, 0.0, 5.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), 45.0, 0.1, 50.0)


def two_objects(**params) -> drot.Scene:
    """A small red sphere in front of a large blue box (z = +1 and z = -1), one camera on +z."""
    sphere = SceneObject("sphere", kit.paint(kit.uv_sphere(0.4, rings=8, segments=16), (0.9, 0.1, 0.1)),
                         torch.tensor([0.0, 0.0, 1.0]), parameters=params.get("sphere", ()))
    box = SceneObject("box", kit.paint(kit.box((2.0, 2.0, 0.5)), (0.1, 0.2, 0.9)), torch.tensor([0.0, 0.0, -1.0]),
                      drot.Material(ambient=0.3, diffuse=0.7, specular=0.0), parameters=params.get("box", ()))
    return drot.Scene.with_objects("two", [sphere, box], [CAMERA], 48)


def test_objects_render_together_with_occlusion_and_their_own_materials():
    scene = two_objects(sphere=(drot.Parameter("t", "translation", torch.zeros(3), init_range=(-0.3, 0.3)),))
    assert [p.name for p in scene.parameters] == ["sphere/t"]
    assert scene.object_ranges()["box"][1] == scene.mesh.num_vertices
    image = drot.render_views(scene.evaluate(scene.target_values()), [0], (48, 48), BACKEND).image[0]
    centre, beside = image[24, 24], image[24, 15]
    assert centre[0] > 0.5 and centre[2] < 0.3          # the sphere, in front, hides the box
    assert beside[2] > 0.3 and beside[0] < 0.2          # the box around it
    # Moving the box's material changes only the box's pixels.
    dimmer = dataclasses.replace(scene, objects=(scene.objects[0], dataclasses.replace(
        scene.objects[1], material=drot.Material(ambient=0.0, diffuse=0.3, specular=0.0))))
    image2 = drot.render_views(dimmer.evaluate(dimmer.target_values()), [0], (48, 48), BACKEND).image[0]
    assert torch.allclose(image2[24, 24], centre) and image2[24, 15, 2] < beside[2] - 0.1


def test_object_parameters_act_on_their_object_only_and_give_per_object_errors(one_thread):
    scene = two_objects(sphere=(drot.Parameter("t", "translation", torch.zeros(3),
                                               initial=torch.tensor([0.3, -0.2, 0.0])),),
                        box=(drot.Parameter("s", "scale", torch.ones(1), initial=torch.tensor([1.1])),))
    start = scene.initial_values(0)
    verts = scene.world_vertices(start)
    rest = scene.world_vertices(scene.target_values())
    a, b = scene.object_ranges()["sphere"]
    assert torch.allclose(verts[a:b] - rest[a:b], torch.tensor([0.3, -0.2, 0.0]).expand(b - a, 3), atol=1e-6)
    c, d = scene.object_ranges()["box"]
    # Scale acts in object space, then the object is placed: its centre stays at its position.
    assert torch.allclose(verts[c:d].mean(0), rest[c:d].mean(0), atol=1e-5)
    assert not torch.allclose(verts[c:d], rest[c:d])
    result = drot.optimize(scene, iterations=400, seed=0)
    assert set(result.object_vertex_mae) == {"sphere", "box"}
    start_error = drot.metrics.vertex_mae(verts[a:b], rest[a:b])
    # The sphere comes back across the view; its depth, seen by one camera only through its image size,
    # does not reliably (benchmarks/joint_depth.py: the matching's pull on a small object's size): it
    # ended 0.004 from its target on one machine and 0.124 too far on another, so only the image-plane
    # coordinates and the per-object errors are held to bounds here.
    t = result.parameters["sphere/t"]
    assert float(t[:2].abs().max()) < 0.03 and result.object_vertex_mae["sphere"] < 0.5 * start_error
    assert result.object_vertex_mae["box"] < 0.005
    assert result.vertex_mae < drot.metrics.vertex_mae(verts, rest)
    assert "object_vertex_mae" in result.summary()


def test_object_scenes_refuse_what_does_not_fit():
    sphere = kit.uv_sphere(0.4, rings=6, segments=8)
    with pytest.raises(ValueError, match="unique"):
        drot.Scene.with_objects("x", [SceneObject("a", sphere), SceneObject("a", sphere)], [CAMERA], 16)
    with pytest.raises(ValueError, match="whole scene"):
        SceneObject("a", sphere, parameters=(drot.Parameter("e", "camera_eye", torch.zeros(3), init_range=(0, 1)),))
    with pytest.raises(ValueError, match="declare it on the object"):
        drot.Scene.with_objects("x", [SceneObject("a", sphere)], [CAMERA], 16,
                                parameters=(drot.Parameter("t", "translation", torch.zeros(3), init_range=(0, 1)),))
    with pytest.raises(ValueError, match="object name"):
        SceneObject("a/b", sphere)


def test_textured_and_coloured_objects_side_by_side():
    box = kit.box((0.8, 0.8, 0.8))
    box = dataclasses.replace(box, uvs=project_uvs(box.vertices, "planar"), texture=checker())
    target_texture = checker(resolution=32, tiles=4, color_a=(1.0, 0.0, 0.0), color_b=(0.0, 1.0, 0.0))
    objects = [SceneObject("tex", box, torch.tensor([-0.6, 0.0, 0.0]), parameters=(
                   drot.Parameter("albedo", "texture", target_texture, initial=torch.full((32, 32, 3), 0.5)),)),
               SceneObject("plain", kit.paint(kit.uv_sphere(0.35, rings=8, segments=16), (0.1, 0.1, 0.9)),
                           torch.tensor([0.6, 0.0, 0.0]))]
    scene = drot.Scene.with_objects("mixed", objects, [CAMERA], 48)
    state = scene.evaluate(scene.target_values())
    assert state.objects is not None and len(state.objects.textures) == 1
    image = drot.render_views(state, [0], (48, 48), BACKEND).image[0]
    left = image[16:32, 8:20].reshape(-1, 3)
    assert (left[:, 0] > 0.3).any() and (left[:, 1] > 0.3).any() and float(left[:, 2].max()) < 0.2  # red/green texture
    assert image[24, 33, 2] > 0.3 and image[24, 33, 0] < 0.2                                       # the blue sphere
    grad_scene = scene.evaluate({"tex/albedo": torch.full((32, 32, 3), 0.5, requires_grad=True)})
    assert grad_scene.objects.textures[0].requires_grad


def test_euler_kind_turns_about_the_centroid():
    angles = torch.tensor([0.3, -0.4, 1.1])
    r = euler_matrix(angles)
    assert torch.allclose(r @ r.T, torch.eye(3), atol=1e-6) and abs(float(torch.det(r)) - 1) < 1e-6
    rz = euler_matrix(torch.tensor([0.0, 0.0, math.pi / 2]))
    assert torch.allclose(rz @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    mesh = kit.transform(kit.box((1.0, 0.5, 0.2)), translation=(2.0, 0.0, 0.0))
    scene = drot.Scene("e", mesh, [CAMERA], 16, (drot.Parameter("r", "euler", torch.zeros(3), init_range=(0, 1.57)),))
    v = scene.world_vertices({"r": angles})
    assert torch.allclose(v.mean(0), mesh.vertices.mean(0), atol=1e-5)  # the centroid stays put
    with pytest.raises(ValueError, match="kind euler must have shape"):
        drot.Parameter("r", "euler", torch.zeros(1), init_range=(0, 1))


def test_random_views_are_seeded_and_look_at_the_centre():
    cams = random_views(4, distance=8.0, seed=3)
    assert [c.eye.tolist() for c in cams] == [c.eye.tolist() for c in random_views(4, distance=8.0, seed=3)]
    assert cams[0].eye.tolist() != random_views(4, distance=8.0, seed=4)[0].eye.tolist()
    for c in cams:
        assert abs(float(c.eye.norm()) - 8.0) < 1e-5
        direction = -c.eye / c.eye.norm()
        assert abs(float((c.up / c.up.norm()) @ direction)) < 1e-5  # a valid up vector, also over the poles
    with pytest.raises(ValueError, match="count"):
        random_views(0)


# --------------------------------------------------------------------- the paper's protocol
PAPER = {  # scene → (parameter, kind, start range or fixed start) per the authors' evaluation configuration
    "kitty": [("translation", "translation", (-1.0, 1.0))],
    "buddha": [("rotation", "euler", (0.0, 1.5708))],
    "cube": [("translation", "translation", (-4.0, 4.0)), ("rotation", "euler", (0.0, 1.5708))],
    "box": [("eye", "camera_eye", (-5.0, 5.0)), ("look_at", "camera_target", (-1.5, 1.5))],
}


def test_paper_scene_files_hold_the_papers_start_ranges_and_views():
    assert {"kitty", "buddha", "cube", "ginger", "box", "teapot", "outdoor", "joint"} <= set(available_scenes("paper"))
    for name, expected in PAPER.items():
        scene = drot.load_scene(f"paper/{name}")
        got = [(p.name, p.kind, p.init_range) for p in scene.parameters]
        assert got == expected, name
        cfg, path = scene_config(f"paper/{name}")
        assert optimize_defaults(cfg, path) == {"iterations": 1000, "lr": 0.02, "lr_decay": 0.999, "seeds": 10} \
            or name == "kitty"
    buddha = drot.load_scene("paper/buddha")
    assert buddha.num_views == 6 and all(abs(float(c.eye.norm()) - 5.0) < 0.2 for c in buddha.cameras)
    cube = drot.load_scene("paper/cube")
    assert cube.num_views == 4 and all(abs(float(c.eye.norm()) - 8.0) < 1e-4 for c in cube.cameras)
    assert (cube.material.ambient, cube.material.diffuse, cube.material.specular) == (1.0, 0.0, 0.0)  # flat colours
    box = drot.load_scene("paper/box")
    assert abs(float((box.cameras[0].eye - box.cameras[0].target).norm()) - 12.0) < 0.1
    ginger = drot.load_scene("paper/ginger")
    assert float(ginger.mesh.vertices[:, 2].abs().max()) < 0.1  # flat (10 units tall)
    assert ginger.parameters[0].init_range is None              # one manual start
    assert ginger.parameters[0].kind == "planar_offsets"        # its vertices move in its plane, as in the paper


def test_paper_joint_is_five_objects_with_the_papers_starts():
    joint = drot.load_scene("paper/joint")
    assert len(joint.objects) == 5
    starts = joint.initial_values(0)
    kinds = {p.name: p.kind for p in joint.parameters}
    rotation = next(k for k in starts if kinds[k] == "rotation")
    assert abs(float(starts[rotation]) - 3.14) < 1e-6
    assert joint.objects[[o.name for o in joint.objects].index(rotation.split("/")[0])].parameters[0].axis.tolist() \
        == [0.0, 0.0, 1.0]
    scale = next(k for k in starts if kinds[k] == "scale")
    assert starts[scale].tolist() == pytest.approx([1.2, 0.8, 1.0])
    assert sorted(float(v[0]) for k, v in starts.items() if kinds[k] == "translation") == [-4.0, 4.0]
    assert any(kinds[k] == "texture" for k in starts)
    cfg, path = scene_config("paper/joint")
    assert optimize_defaults(cfg, path)["lr_decay"] == 0.998


def test_drot_bench_runs_the_paper_protocol(tmp_path, capsys, one_thread):
    out = tmp_path / "res"
    assert bench_main(["--protocol", "paper", "--scene", "cube", "--seeds", "2", "--iterations", "20",
                       "--resolution", "32", "--frames", "0", "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "seeds 0..1" in text and "20 iterations" in text
    assert (out / "results.json").is_file()
