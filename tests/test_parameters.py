"""Every parameter kind acts on the render and receives gradients (standard and RGBXY)."""
import numpy as np
import pytest
import torch

import drot
from drot.render.proxies import point_proxies
from drot.render.camera import square_views
from drot.scene.mesh import mesh_from_arrays
from drot.scene.parameters import Parameter
from drot.scene.kit import uv_sphere

BACKEND = drot.get_backend("torch")


def textured_sphere():
    base = uv_sphere(0.5, rings=10, segments=16)
    v = base.vertices.numpy()
    uv = np.stack([np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi) + 0.5, v[:, 1] + 0.5], 1)
    tex = np.random.default_rng(0).random((8, 8, 3))
    return mesh_from_arrays(v, base.faces.numpy(), uvs=uv, texture=tex)


CASES = {
    "translation": ([0.1, 0.0, 0.0], None),
    "rotation": ([0.2, 0.1, 0.0], None),
    "scale": ([1.1], None),
    "vertex_offsets": (None, "offsets"),
    "camera_eye": ([0.1, 0.1, 0.0], None),
    "camera_target": ([0.05, 0.0, 0.05], None),
    "diffuse": ([0.5, 0.6, 0.7], None),
    "specular": ([0.4], None),
    "texture": (None, "texture"),
    "environment": (None, "environment"),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_parameter_kind_has_gradients(kind):
    mesh = textured_sphere()
    value, special = CASES[kind]
    if special == "offsets":
        value = torch.full((mesh.num_vertices, 3), 0.01)
    elif special == "texture":
        value = torch.full((8, 8, 3), 0.5)
    elif special == "environment":
        value = torch.full((6, 4, 4, 3), 0.3)
    scene = drot.Scene("t", mesh, square_views(), 32, [Parameter("p", kind, value, initial=value)])
    p = torch.as_tensor(value, dtype=torch.float32).clone().requires_grad_(True)
    state = scene.evaluate({"p": p})
    frame = drot.render_views(state, [4], scene.resolution, BACKEND)
    (frame.image * torch.rand_like(frame.image)).sum().backward()
    assert p.grad is not None and p.grad.abs().sum() > 0, f"no standard gradient for {kind}"
    # RGBXY derivatives of the point proxies reach the parameter too.
    p.grad = None
    proxies = point_proxies(scene.evaluate({"p": p}), [4], frame.rast.detach(), BACKEND)
    (proxies.rgbxy * torch.rand_like(proxies.rgbxy)).sum().backward()
    assert p.grad.abs().sum() > 0, f"no RGBXY gradient for {kind}"


def test_texture_and_environment_change_the_image():
    mesh = textured_sphere()
    scene = drot.Scene("t", mesh, square_views(), 32, [Parameter("t", "translation", [0.0, 0, 0], initial=[0.0, 0, 0])])
    lit = drot.render_views(scene.evaluate(scene.target_values()), [4], scene.resolution, BACKEND).image
    env = torch.zeros(6, 4, 4, 3)
    env[..., 2] = 1.0  # blue sky all around
    import dataclasses
    with_env = dataclasses.replace(scene, environment=env)
    blue = drot.render_views(with_env.evaluate(scene.target_values()), [4], scene.resolution, BACKEND).image
    mask = lit.amax(-1) > 0
    assert (blue[..., 2][mask] > lit[..., 2][mask] + 0.15).float().mean() > 0.9
    assert torch.allclose(blue[..., :2][mask], lit[..., :2][mask], atol=1e-5)


def test_rotation_about_an_axis_is_an_angle():
    p = Parameter("yaw", "rotation", [0.5], initial=[0.0], axis=[0, 2, 0])
    assert torch.allclose(p.axis, torch.tensor([0.0, 1.0, 0.0]))
    scene = drot.Scene("t", uv_sphere(0.5, 6, 8), square_views(), 16, [p])
    verts = scene.world_vertices({"yaw": torch.tensor([np.pi / 2])})
    base = scene.mesh.vertices
    # A quarter turn about +y maps (x, y, z) → (z, y, -x).
    assert torch.allclose(verts, torch.stack([base[:, 2], base[:, 1], -base[:, 0]], 1), atol=1e-5)
