"""The same code on CUDA tensors (skipped cleanly where CUDA is absent)."""
import pytest
import torch

import drot
from drot.render.renderer import render
from drot.render.torch_backend import TorchBackend

pytestmark = pytest.mark.cuda


def test_torch_backend_renders_the_same_on_cuda():
    scene = drot.load_scene("kitty", resolution=64)
    values = {"translation": torch.tensor([0.1, -0.2, 0.05])}
    cpu = render(scene.evaluate(values), list(range(6)), scene.resolution, TorchBackend("cpu"))
    gpu = render(scene.evaluate({k: v.cuda() for k, v in values.items()}, "cuda"), list(range(6)),
                 scene.resolution, TorchBackend("cuda"))
    same_ids = (cpu.rast[..., 3] == gpu.rast[..., 3].cpu()).float().mean()
    assert same_ids > 0.999
    assert torch.allclose(cpu.image, gpu.image.cpu(), atol=1e-3)


def test_optimize_on_cuda_converges():
    scene = drot.load_scene("kitty", resolution=64)
    result = drot.optimize(scene, iterations=200, device="cuda", backend="torch",
                           initial={"translation": torch.tensor([0.5, -0.4, 0.3])})
    assert result.vertex_mae < 0.02


# ------------------------------------------------------------------ drot._C's CUDA kernels vs reference
from drot.render import extension  # noqa: E402
from drot.render.proxies import freeze_surface_points  # noqa: E402
from drot.render.renderer import surface_attributes  # noqa: E402


def kitty_on_cuda(resolution=128, views=(0, 1, 2, 3, 4, 5)):
    scene = drot.load_scene("kitty", resolution=resolution)
    state = scene.evaluate({"translation": torch.tensor([0.15, -0.1, 0.2], device="cuda")}, "cuda")
    clip = state.clip_positions(torch.tensor(views, device="cuda"))
    return scene, state, clip


def op_run(implementation, rast, tri, clip, attrs, deterministic=None):
    clip = clip.detach().requires_grad_()
    attrs = attrs.detach().requires_grad_()
    pixel_index, xy, values = freeze_surface_points(rast, tri, clip, attrs, implementation=implementation,
                                                    deterministic=deterministic)
    gen = torch.Generator(device="cuda").manual_seed(0)
    loss = (xy * torch.randn(xy.shape, generator=gen, device="cuda", dtype=xy.dtype)).sum() \
        + (values * torch.randn(values.shape, generator=gen, device="cuda", dtype=values.dtype)).sum()
    return (pixel_index, xy, values, *torch.autograd.grad(loss, [clip, attrs]))


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12)) if b.numel() else 0.0


@pytest.fixture
def cuda_op():
    if not extension.op_supports(torch.device("cuda")):
        pytest.skip("drot._C has no CUDA kernels here: " + extension.extension_status().reason)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_op_matches_reference(cuda_op, dtype):
    scene, state, clip = kitty_on_cuda()
    rast = TorchBackend("cuda").rasterize(clip, state.faces, scene.resolution).to(dtype)
    attrs = surface_attributes(state).to(dtype)
    ref = op_run("reference", rast, state.faces, clip.to(dtype), attrs)
    op = op_run("op", rast, state.faces, clip.to(dtype), attrs)
    assert torch.equal(ref[0], op[0])
    for a, b in zip(op[1:], ref[1:]):
        assert rel_err(a, b) <= (1e-4 if dtype == torch.float32 else 1e-10)


def test_cuda_op_deterministic_backward_is_bitwise_reproducible(cuda_op):
    scene, state, clip = kitty_on_cuda(resolution=256)
    rast = TorchBackend("cuda").rasterize(clip, state.faces, scene.resolution)
    attrs = surface_attributes(state)
    first = op_run("op", rast, state.faces, clip, attrs, deterministic=True)
    for _ in range(3):
        again = op_run("op", rast, state.faces, clip, attrs, deterministic=True)
        assert all(torch.equal(a, b) for a, b in zip(first, again))
    atomic = op_run("op", rast, state.faces, clip, attrs, deterministic=False)
    for a, b in zip(atomic[3:], first[3:]):
        assert rel_err(a, b) <= 1e-5


# ----------------------------------------------------------------- the torch backend vs nvdiffrast
@pytest.fixture
def nvdiffrast():
    status = {s.name: s for s in drot.backend_status("cuda")}["nvdiffrast"]
    if not status.available:
        pytest.skip(f"nvdiffrast unusable: {status.reason}")
    return drot.get_backend("nvdiffrast", "cuda")


@pytest.mark.parametrize("resolution", [128, 512])
def test_torch_backend_matches_nvdiffrast(nvdiffrast, resolution):
    scene, state, clip = kitty_on_cuda(resolution)
    ours = TorchBackend("cuda")
    rast_nv = nvdiffrast.rasterize(clip, state.faces, scene.resolution)
    rast_us = ours.rasterize(clip, state.faces, scene.resolution)
    covered = (rast_nv[..., 3] > 0) | (rast_us[..., 3] > 0)
    same = (rast_nv[..., 3] == rast_us[..., 3]) & covered
    assert same.sum() >= 0.999 * covered.sum(), f"triangle ids agree on {float(same.sum() / covered.sum()):.5f}"
    assert (rast_nv[..., :2] - rast_us[..., :2])[same].abs().max() <= 1e-4  # barycentrics
    # Interpolated attributes and their gradients (to positions through u, v, and to attributes),
    # on the pixels where both see the same triangle.
    weight = torch.randn(rast_nv.shape[:3] + (9,), generator=torch.Generator(device="cuda").manual_seed(1),
                         device="cuda") * same[..., None]
    results = []
    for backend in (nvdiffrast, ours):
        pos = clip.detach().requires_grad_()
        attr = surface_attributes(state).detach().requires_grad_()
        image = backend.interpolate(attr, backend.rasterize(pos, state.faces, scene.resolution), state.faces)
        grads = torch.autograd.grad((image * weight).sum(), [pos, attr])
        results.append((image * same[..., None], *grads))
    for a, b in zip(*results):
        assert rel_err(b, a) <= 1e-4


def test_optimize_with_nvdiffrast_converges(nvdiffrast):
    scene = drot.load_scene("kitty", resolution=64)
    result = drot.optimize(scene, iterations=200, device="cuda", backend="nvdiffrast",
                           initial={"translation": torch.tensor([0.5, -0.4, 0.3])})
    assert result.vertex_mae < 0.02
