"""Point proxies: the paper's triangle example (§4.2.2) and finite-difference checks of Eq. 8 and Eq. 10."""
import torch

from drot.render.proxies import freeze_surface_points, point_proxies
from drot.render.renderer import render
from drot.render.torch_backend import TorchBackend
from drot.scene.parameters import Parameter
from drot.scene.kit import uv_sphere
from drot.render.camera import square_views
from drot.scene.scene import Scene

BACKEND = TorchBackend()
RED, BLUE, GREEN = torch.eye(3)[0], torch.eye(3)[2], torch.eye(3)[1]
S, OX, OY = 0.3, 0.2, 0.8  # triangle units → normalised screen: X = OX + S*tx, Y(down) = OY - S*ty


def paper_triangle(theta: torch.Tensor) -> torch.Tensor:
    """The §4.2.2 triangle (0,0), (2,0), (1,2) translated by θ along x, as clip positions [1, 3, 4]."""
    tri_units = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 2.0]], dtype=theta.dtype)
    x = OX + S * (tri_units[:, 0] + theta)
    y = OY - S * tri_units[:, 1]
    ndc_x, ndc_y = 2 * x - 1, 1 - 2 * y
    return torch.stack([ndc_x, ndc_y, torch.zeros_like(ndc_x), torch.ones_like(ndc_x)], 1)[None]


def test_paper_triangle_example_standard_material_positional_derivatives():
    colors = torch.stack([RED, BLUE, GREEN]).double()
    tri = torch.tensor([[0, 1, 2]])
    H = W = 64
    theta = torch.zeros((), dtype=torch.float64, requires_grad=True)
    pos = paper_triangle(theta)
    rast = BACKEND.rasterize(pos, tri, (H, W))
    # The centre point q = (1, 2/3) in triangle units → its pixel (image rows top-first, rast rows bottom-first).
    cx, cy = OX + S * 1.0, OY - S * 2.0 / 3.0
    col, row_img = int(cx * W), int(cy * H)
    row_rast = H - 1 - row_img
    # Standard derivative ∂c/∂θ at the fixed pixel: through the (live) barycentrics.
    color = BACKEND.interpolate(colors, rast, tri)[0, row_rast, col]
    standard = torch.stack([torch.autograd.grad(color[k], theta, retain_graph=True)[0] for k in range(3)])
    assert torch.allclose(standard, torch.tensor([0.5, 0.0, -0.5], dtype=torch.float64), atol=1e-6)
    # RGBXY derivatives of that pixel's point proxy: barycentrics frozen.
    pixel_index, xy, values = freeze_surface_points(rast, tri, pos, colors)
    k = int((pixel_index == row_img * W + col).nonzero())
    # Material derivative Dc/Dθ = 0: the vertex colours do not depend on θ and the barycentrics are frozen,
    # so the proxy's colour is not even connected to θ in the autograd graph.
    assert not values.requires_grad
    material = torch.zeros(3, dtype=torch.float64)
    positional = torch.stack([torch.autograd.grad(xy[k, c], theta, retain_graph=True)[0] for c in range(2)]) / S
    assert torch.allclose(positional, torch.tensor([1.0, 0.0], dtype=torch.float64), atol=1e-9)
    # Eq. 11: ∂c/∂θ = Dc/Dθ − ∇c · ∂p/∂θ, with ∇c the colour gradient in triangle units.
    grad_c_x = (colors[1] - colors[0]) / 2  # ∂c/∂x inside the triangle
    assert torch.allclose(standard, material - grad_c_x * positional[0], atol=1e-6)


def test_proxies_sit_on_their_pixels_and_carry_the_rendered_colour():
    scene = small_scene()
    state = scene.evaluate({"t": torch.tensor([0.1, -0.05, 0.2]), "r": torch.tensor([0.3])})
    frame = render(state, [0, 2], scene.resolution, BACKEND, antialias=False)
    proxies = point_proxies(state, [0, 2], frame.rast, BACKEND)
    H, W = scene.resolution
    pix = proxies.pixel_index % (H * W)
    centres = torch.stack([((pix % W) + 0.5) / W, ((pix // W) + 0.5) / H], 1)
    assert torch.allclose(proxies.xy, centres, atol=1e-5)
    assert torch.allclose(proxies.rgb, frame.image.reshape(-1, 3)[proxies.pixel_index], atol=1e-4)
    assert proxies.pixel_index.numel() == int(frame.mask.sum())


def small_scene() -> Scene:
    mesh = uv_sphere(0.4, rings=8, segments=12, color=lambda p: 0.5 + 0.5 * torch.as_tensor(p).numpy())
    return Scene("small", mesh, square_views(), 32, [
        Parameter("t", "translation", [0.0, 0.0, 0.0], init_range=(-0.5, 0.5)),
        Parameter("r", "rotation", [0.0], initial=[0.0], axis=[0.0, 1.0, 0.0]),
    ])


def test_rgbxy_derivatives_match_finite_differences():
    """∂p/∂θ and Dc/Dθ of frozen surface points vs central differences (rasterization held fixed)."""
    scene = small_scene()
    t0 = torch.tensor([0.05, 0.1, -0.1], dtype=torch.float64)
    r0 = torch.tensor([0.4], dtype=torch.float64)
    with torch.no_grad():
        rast = render(scene.evaluate({"t": t0, "r": r0}), [4], scene.resolution, BACKEND, antialias=False).rast

    def rgbxy(theta: torch.Tensor) -> torch.Tensor:
        state = scene.evaluate({"t": theta[:3], "r": theta[3:]})
        return point_proxies(state, [4], rast, BACKEND).rgbxy

    theta = torch.cat([t0, r0])
    jac = torch.autograd.functional.jacobian(rgbxy, theta)  # [N, 5, 4]
    h = 1e-6
    for j in range(4):
        e = torch.zeros(4, dtype=torch.float64)
        e[j] = h
        fd = (rgbxy(theta + e) - rgbxy(theta - e)) / (2 * h)
        assert torch.allclose(jac[..., j], fd, atol=1e-5, rtol=1e-4), f"parameter {j}"
    # Translation moves points on screen (dense positional derivatives) ...
    assert (jac[:, 3:, :3].abs().sum((1, 2)) > 1e-3).all()
    # ... and no gradient reaches the barycentrics: the rast stays a constant.
    assert not rast.requires_grad
