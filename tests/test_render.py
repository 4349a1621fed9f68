"""The pure-PyTorch backend: visibility, barycentrics, interpolation, antialiasing, textures."""
import math

import pytest
import torch

from drot.render.backend import backend_status, get_backend
from drot.render.torch_backend import TorchBackend

BACKEND = TorchBackend()


def quad_clip(x0=-0.5, x1=0.5, y0=-0.5, y1=0.5, z=0.0, w=1.0):
    """Two triangles forming an axis-aligned rectangle in NDC, as clip positions [1, 4, 4]."""
    pos = torch.tensor([[x0, y0, z, 1.0], [x1, y0, z, 1.0], [x1, y1, z, 1.0], [x0, y1, z, 1.0]]) * w
    return pos[None], torch.tensor([[0, 1, 2], [0, 2, 3]])


def test_rasterize_coverage_and_ids():
    pos, tri = quad_clip()
    rast = BACKEND.rasterize(pos, tri, (32, 32))
    assert rast.shape == (1, 32, 32, 4)
    covered = rast[0, ..., 3] > 0
    # The rectangle spans NDC [-0.5, 0.5]^2 = the central 16x16 pixels.
    assert int(covered.sum()) == 16 * 16
    assert covered[8:24, 8:24].all()
    assert set(rast[0, ..., 3][covered].long().unique().tolist()) == {1, 2}


def test_rasterize_depth_test_keeps_nearest():
    near = torch.tensor([[-1.0, -1, -0.5, 1], [1, -1, -0.5, 1], [0, 1, -0.5, 1]])
    far = torch.tensor([[-1.0, -1, 0.5, 1], [1, -1, 0.5, 1], [0, 1, 0.5, 1]])
    tri = torch.tensor([[0, 1, 2], [3, 4, 5]])
    for order in (torch.cat([near, far]), torch.cat([far, near])):
        rast = BACKEND.rasterize(order[None], tri, (16, 16))
        ids = rast[0, ..., 3][rast[0, ..., 3] > 0].long() - 1
        near_id = 0 if order[0, 2] < 0 else 1
        assert (ids == near_id).all()
        assert torch.allclose(rast[0, ..., 2][rast[0, ..., 3] > 0], torch.tensor(-0.5))


def test_perspective_correct_barycentrics_reproduce_pixel_centres():
    # A tilted quad with varying w: interpolating clip positions with (u, v) must land on the pixel centre.
    pos = torch.tensor([[[-0.8, -0.6, 0.1, 1.0], [1.5, -0.9, 0.4, 2.0], [1.2, 1.4, 0.7, 2.5], [-0.5, 0.7, 0.2, 1.2]]])
    tri = torch.tensor([[0, 1, 2], [0, 2, 3]])
    H, W = 24, 20
    rast = BACKEND.rasterize(pos, tri, (H, W))
    attr = pos[0]
    clip = BACKEND.interpolate(attr, rast, tri)[0]
    cov = rast[0, ..., 3] > 0
    ndc = clip[..., :2] / clip[..., 3:4]
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    assert torch.allclose(ndc[..., 0][cov], ((xs + 0.5) / W * 2 - 1)[cov].float(), atol=1e-5)
    assert torch.allclose(ndc[..., 1][cov], ((ys + 0.5) / H * 2 - 1)[cov].float(), atol=1e-5)


def test_interpolate_batched_attributes_and_background_zero():
    pos, tri = quad_clip()
    pos = pos.repeat(2, 1, 1)
    attr = torch.stack([torch.ones(4, 2), 2 * torch.ones(4, 2)])
    rast = BACKEND.rasterize(pos, tri, (8, 8))
    out = BACKEND.interpolate(attr, rast, tri)
    cov = rast[..., 3] > 0
    assert torch.allclose(out[0][cov[0]], torch.ones(1))
    assert torch.allclose(out[1][cov[1]], torch.full((1,), 2.0))
    assert (out[~cov] == 0).all()


def test_triangles_behind_camera_or_offscreen_are_dropped():
    pos = torch.tensor([[[-1.0, -1, 0, -1], [1, -1, 0, -1], [0, 1, 0, -1], [5, 5, 0, 1], [6, 5, 0, 1], [5, 6, 0, 1]]])
    rast = BACKEND.rasterize(pos, torch.tensor([[0, 1, 2], [3, 4, 5]]), (8, 8))
    assert (rast[..., 3] == 0).all()


def test_antialias_gradients_on_silhouettes_only():
    pos, tri = quad_clip(-0.43, 0.41, -0.37, 0.45)
    H = W = 32
    rast = BACKEND.rasterize(pos, tri, (H, W)).detach()
    color = (rast[..., 3:4] > 0).float()  # a constant white object: no shading gradient anywhere
    jac = torch.autograd.functional.jacobian(lambda p: BACKEND.antialias(color, rast, p, tri)[0, ..., 0], pos)
    sensitive = jac.abs().sum((2, 3, 4)) > 0  # [H, W]: pixels whose value depends on the vertices
    cov = rast[0, ..., 3] > 0
    pad = torch.nn.functional.pad
    dilated = pad(cov[None, None].float(), (1, 1, 1, 1)).squeeze()
    near_edge = torch.zeros_like(cov)
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        near_edge |= cov != torch.roll(cov, (dy, dx), (0, 1))
    assert sensitive.any()
    # Zero inside and far outside: only pixels with a 4-neighbour across the silhouette are sensitive.
    assert not (sensitive & ~near_edge).any()
    interior = cov.clone()
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        interior &= torch.roll(cov, (dy, dx), (0, 1))
    assert not sensitive[interior & ~near_edge].any()
    # Every side of the rectangle carries gradients.
    ys, xs = cov.nonzero().T
    for rows, cols in ((slice(None), int(xs.min())), (slice(None), int(xs.max()) + 1),
                       (int(ys.min()), slice(None)), (int(ys.max()) + 1, slice(None))):
        assert sensitive[rows, cols].any() or sensitive[rows, cols if isinstance(cols, slice) else cols - 1].any()
    # Moving the right edge right brightens the pixels along it (inside or just outside, wherever it lies).
    right_col = int(xs.max())
    g_right = jac[12:20, right_col:right_col + 2].sum((0, 1))
    assert g_right[0, 1, 0] + g_right[0, 2, 0] > 0


def test_antialias_matches_partial_coverage():
    # A vertical edge at x = 10.3 pixel-centre units: pixel 10 is covered for 0.8 of its width.
    H = W = 16
    xe = (10.3 + 0.5) / W * 2 - 1
    pos, tri = quad_clip(-1.5, xe, -1.5, 1.5)
    rast = BACKEND.rasterize(pos, tri, (H, W))
    color = (rast[..., 3:4] > 0).float()
    out = BACKEND.antialias(color, rast, pos, tri)
    assert torch.allclose(out[0, 8, 10, 0], torch.tensor(0.8), atol=1e-4)
    assert torch.allclose(out[0, 8, 9, 0], torch.tensor(1.0))
    assert torch.allclose(out[0, 8, 11, 0], torch.tensor(0.0))


def test_texture_bilinear_wrap_and_clamp():
    tex = torch.arange(12, dtype=torch.float32).view(3, 4, 1)
    # Texel centres return texel values exactly.
    uv = torch.tensor([[(1 + 0.5) / 4, (2 + 0.5) / 3]])
    assert BACKEND.texture(tex, uv).item() == pytest.approx(9.0)
    # Halfway between texels (1, 0) and (2, 0).
    uv = torch.tensor([[2.0 / 4, 0.5 / 3]])
    assert BACKEND.texture(tex, uv).item() == pytest.approx(1.5)
    # Past the right border: wrap mixes with column 0, clamp does not.
    uv = torch.tensor([[1.0, 0.5 / 3]])
    assert BACKEND.texture(tex, uv, "wrap").item() == pytest.approx(1.5)
    assert BACKEND.texture(tex, uv, "clamp").item() == pytest.approx(3.0)


def test_cube_map_face_selection():
    cube = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 4, 4, 1).contiguous()
    dirs = torch.tensor([[1.0, 0.1, 0.2], [-1, 0.2, 0], [0.1, 1, 0], [0, -1, 0.3], [0.2, 0, 1], [0, 0.1, -1]])
    assert BACKEND.texture(cube, dirs, "cube")[:, 0].tolist() == [0, 1, 2, 3, 4, 5]


def test_texture_gradients_flow_to_texels_and_uv():
    tex = torch.rand(8, 8, 3, requires_grad=True)
    uv = torch.tensor([[0.3, 0.6]], requires_grad=True)
    BACKEND.texture(tex, uv).sum().backward()
    assert tex.grad.abs().sum() > 0 and uv.grad.abs().sum() > 0


def test_backend_registry_probes_and_errors():
    assert get_backend("torch").name == "torch"
    assert get_backend("auto", "cpu").name == "torch"
    assert any(s.name == "torch" and s.available for s in backend_status("cpu"))
    with pytest.raises(ValueError, match="unknown rendering backend"):
        get_backend("no-such-backend")


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"\[B, V, 4\]"):
        BACKEND.rasterize(torch.zeros(4, 4), torch.zeros(1, 3, dtype=torch.long), (4, 4))
    with pytest.raises(ValueError, match="integer"):
        BACKEND.rasterize(torch.zeros(1, 4, 4), torch.zeros(1, 3), (4, 4))
    with pytest.raises(ValueError, match="boundary_mode"):
        BACKEND.texture(torch.zeros(2, 2, 3), torch.zeros(1, 2), "mirror")


# ------------------------------------------------------------- shading covered pixels only
def _render_shading_every_pixel(state, views, resolution, backend, starts):
    """The renderer before it shaded covered pixels only: every pixel shaded, the background multiplied by 0."""
    from drot.render.renderer import finish_frame, shade_attributes, surface_attributes

    views = torch.as_tensor(views)
    starts = torch.as_tensor(starts)
    clip = state.clip_positions(views, starts)
    rast = backend.rasterize(clip, state.faces, resolution)
    attrs = surface_attributes(state)
    attrs = backend.interpolate(attrs[0] if state.starts == 1 else attrs[starts], rast, state.faces)
    eye, light = state.eyes[starts, views][:, None, None, :], state.lights[starts, views][:, None, None, :]
    color = shade_attributes(state, backend, attrs, eye, light, starts)
    background = state.background
    if background is not None and background.ndim == 4:
        background = background[starts]
    return finish_frame(color, rast, clip, state.faces, background, backend, True).image


@pytest.mark.parametrize("name", ["kitty", "teapot", "outdoor", "paper/joint"])
def test_shading_covered_pixels_only_gives_the_images_and_gradients_of_shading_every_pixel(name):
    import drot
    from drot.render.renderer import render

    scene = drot.load_scene(name, resolution=32)
    g = torch.Generator().manual_seed(0)
    values = {k: (v + 0.05 * torch.randn(2, *v.shape, generator=g)).requires_grad_()
              for k, v in scene.target_values().items()}
    views = list(range(scene.num_views)) * 2
    starts = [0] * scene.num_views + [1] * scene.num_views
    backend = TorchBackend()
    dense = _render_shading_every_pixel(scene.evaluate(values), views, scene.resolution, backend, starts)
    sparse = render(scene.evaluate(values), views, scene.resolution, backend, starts=starts).image
    assert torch.equal(dense, sparse)
    weights = torch.randn_like(dense)
    dense_grads = torch.autograd.grad((dense * weights).sum(), list(values.values()))
    sparse_grads = torch.autograd.grad((sparse * weights).sum(), list(values.values()))
    for a, b in zip(dense_grads, sparse_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
