"""The hooks applications plug into: a geometry model with parameters of kind "model", a background
image under the render, orthographic cameras."""
import pytest
import torch

import drot
from drot.render.camera import Camera
from drot.render.renderer import render
from drot.scene.parameters import Parameter
from drot.scene.kit import box

BACKEND = drot.get_backend("torch")


def front_camera(ortho=None):
    return Camera(torch.tensor([0.0, 0.0, 3.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), ortho_half_height=ortho)


def stretch_scene(**kw):
    def geometry(values, vertices):  # one "model" input: a stretch along x and y (what the front view sees)
        return vertices * torch.cat([values["stretch"], values["stretch"].new_ones(1)])
    return drot.Scene("stretch", box(), [front_camera(ortho=1.0)], 32,
                      [Parameter("stretch", "model", torch.tensor([1.0, 0.5]), init_range=(0.5, 1.5))],
                      geometry=geometry, **kw)


def test_geometry_model_poses_vertices_and_gets_gradients():
    scene = stretch_scene()
    stretch = torch.tensor([2.0, 1.0], requires_grad=True)
    verts = scene.world_vertices({"stretch": stretch})
    assert torch.allclose(verts, box().vertices * torch.tensor([2.0, 1.0, 1.0]))
    verts.square().sum().backward()
    assert stretch.grad.abs().sum() > 0
    result = drot.optimize(scene, iterations=60, seed=0, strategy="hybrid")
    assert result.vertex_mae < 0.2 * result.history[0]["vertex_mae"]


def test_model_parameters_need_a_geometry_model():
    with pytest.raises(ValueError, match="geometry model"):
        drot.Scene("bad", box(), [front_camera()], 16, [Parameter("w", "model", torch.zeros(3), init_range=(0, 1))])


def test_background_image_shows_where_nothing_is_drawn():
    background = torch.zeros(32, 32, 3)
    background[:4] = torch.tensor([0.0, 0.0, 1.0])  # a blue band at the top
    scene = stretch_scene(background=background)
    frame = render(scene.evaluate(scene.target_values()), [0], scene.resolution, BACKEND)
    assert torch.allclose(frame.image[0, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    assert frame.mask[0].any() and not frame.mask[0, 0, 0]
    with pytest.raises(ValueError, match="background must be"):
        stretch_scene(background=torch.zeros(16, 16, 3))


def test_orthographic_camera_keeps_sizes_independent_of_depth():
    near, far = (render(drot.Scene("o", box(), [front_camera(ortho=2.0)], 32,
                                   [Parameter("t", "translation", torch.tensor([0.0, 0.0, dz]), initial=[0.0, 0.0, dz])]
                                   ).evaluate({}), [0], (32, 32), BACKEND).mask.sum() for dz in (0.5, -0.5))
    assert near == far > 0
