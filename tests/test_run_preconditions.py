"""What a run refuses before its first iteration rather than after its last: a resolution the
result's scores cannot be computed at (here), unobservable parameters (further down)."""
import time

import pytest
import torch

import drot
from drot.scene.loader import load_scene


def test_a_resolution_below_the_ssim_window_is_refused_before_the_loop(one_thread):
    scene = load_scene("cube", resolution=1)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"scene 'cube' renders at 1x1 pixels; a run needs at least 11x11"):
        drot.optimize(scene, iterations=100_000)
    assert time.perf_counter() - t0 < 5  # refused up front, not after 100 000 iterations
    with pytest.raises(ValueError, match=r"renders at 8x8 pixels"):
        drot.optimize(load_scene("cube", resolution=8), iterations=100_000)


def test_the_smpl_example_at_resolution_8_is_refused_before_its_first_run(one_thread):
    pytest.importorskip("smplx")
    from drot.apps import SmplProblem, compare
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"renders at 8x8 pixels; a run needs at least 11x11"):
        compare(SmplProblem(), ("hybrid", "standard"), [0], 500, 8)
    assert time.perf_counter() - t0 < 20


# ------------------------------------------------------------------------ unobservable parameters
def _sphere_and_box(sphere_at) -> drot.Scene:
    """A small sphere with a translation parameter and a large box before the camera (on +z)."""
    from drot.scene import kit
    from drot.scene.objects import SceneObject

    camera = drot.Camera(torch.tensor([0.0, 0.0, 5.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), 45.0, 0.1, 50.0)
    sphere = SceneObject("sphere", kit.paint(kit.uv_sphere(0.4, rings=8, segments=16), (0.9, 0.1, 0.1)),
                         torch.tensor(sphere_at), parameters=(
                             drot.Parameter("t", "translation", torch.zeros(3), init_range=(-0.3, 0.3)),))
    box = SceneObject("box", kit.paint(kit.box((2.0, 2.0, 0.5)), (0.1, 0.2, 0.9)), torch.tensor([0.0, 0.0, -1.0]),
                      parameters=(drot.Parameter("s", "scale", torch.ones(1), initial=torch.tensor([1.1])),))
    return drot.Scene.with_objects("two", [sphere, box], [camera], 32)


def test_an_object_hidden_behind_another_is_refused_naming_it(one_thread):
    scene = _sphere_and_box([0.0, 0.0, -3.0])  # behind the box
    with pytest.raises(ValueError, match=r"1 parameter\(s\) cannot be recovered.*sphere/t: object 'sphere' is in view "
                                         r"but changes no pixel: hidden behind other objects.*fixed=\['sphere/t'\]"):
        drot.optimize(scene, iterations=100_000)
    result = drot.optimize(scene, iterations=2, fixed=("sphere/t",))  # the way on: keep it fixed
    assert torch.equal(result.parameters["sphere/t"], result.initial_parameters["sphere/t"])


def test_an_object_outside_every_view_is_refused_naming_it(one_thread):
    scene = _sphere_and_box([20.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"sphere/t: object 'sphere' is outside every view \(1 camera\(s\)\)"):
        drot.optimize(scene, iterations=100_000)


def test_visible_objects_pass_the_check(one_thread):
    from drot.optim.observability import unobservable_parameters

    scene = _sphere_and_box([0.0, 0.0, 1.0])  # in front of the box
    assert unobservable_parameters(scene, scene.initial_values(0), (), drot.get_backend("torch")) == {}


# ------------------------------------------------------------- a top-level [material] with [[objects]]
_TWO_OBJECTS = """
name = "two"
resolution = 16
[views]
fov = 60.0
[[views.cameras]]
eye = [0.0, 0.0, 6.0]
target = [0.0, 0.0, 0.0]
{top}
[[objects]]
name = "a"
position = [-1.0, 0.0, 0.0]
[objects.mesh]
procedural = "coloured_cube"
{own}
[[objects.parameters]]
name = "t"
kind = "translation"
target = [0.0, 0.0, 0.0]
init_range = [-0.2, 0.2]

[[objects]]
name = "b"
position = [1.0, 0.0, 0.0]
[objects.mesh]
procedural = "coloured_cube"
"""


def test_a_top_level_material_is_the_material_of_objects_without_their_own(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(_TWO_OBJECTS.format(top="[material]\nambient = 0.9\ndiffuse = 0.1\nspecular = 0.0\n",
                                        own="[objects.material]\nambient = 0.2\n"))
    scene = load_scene(path)
    a, b = scene.objects
    assert a.material.ambient == pytest.approx(0.2) and b.material.ambient == pytest.approx(0.9)


def test_a_top_level_material_that_applies_to_no_object_is_refused(tmp_path):
    path = tmp_path / "two.toml"
    text = _TWO_OBJECTS.format(top="[material]\nambient = 0.9\n", own="[objects.material]\nambient = 0.2\n")
    path.write_text(text + "[objects.material]\nambient = 0.3\n")
    with pytest.raises(ValueError, match=r"two.toml.*the top-level \[material\] applies to no object"):
        load_scene(path)
