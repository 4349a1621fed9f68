"""drot._C, the compiled frozen-barycentrics op, against its PyTorch reference (CPU; CUDA in test_cuda.py).

CI builds the extension (`python3 -m drot.build_extension` in the README's test command), so these
parity tests run there; on a checkout without the build they skip, except the fallback tests.
"""
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st

import drot
from drot.render import extension
from drot.render.proxies import freeze_surface_points, freeze_surface_points_reference, point_proxies
from drot.render.renderer import render, surface_attributes
from drot.render.torch_backend import TorchBackend

BACKEND = TorchBackend()
ROOT = Path(__file__).resolve().parents[1]
built = pytest.mark.skipif(not extension.extension_status().available,
                           reason=f"drot._C not built: {extension.extension_status().reason}")


def kitty_inputs(dtype=torch.float64, resolution=48, views=(0, 2, 5)):
    scene = drot.load_scene("kitty", resolution=resolution)
    state = scene.evaluate({"translation": torch.tensor([0.15, -0.1, 0.2])})
    frame = render(state, list(views), scene.resolution, BACKEND, antialias=False)
    clip = state.clip_positions(torch.tensor(views)).detach().to(dtype).requires_grad_()
    attrs = surface_attributes(state).detach().to(dtype).requires_grad_()
    return frame.rast, state.faces, clip, attrs


def run(implementation, rast, tri, clip, attrs, weights=None, deterministic=None):
    """Forward, then gradients of a fixed random linear function of (xy, values)."""
    pixel_index, xy, values = freeze_surface_points(rast, tri, clip, attrs, implementation=implementation,
                                                    deterministic=deterministic)
    gen = torch.Generator().manual_seed(0)
    wxy = torch.randn(xy.shape, generator=gen, dtype=xy.dtype)
    wval = torch.randn(values.shape, generator=gen, dtype=values.dtype)
    loss = (xy * wxy).sum() + (values * wval).sum() + (values ** 2).sum()
    grad_clip, grad_attrs = torch.autograd.grad(loss, [clip, attrs])
    return pixel_index, xy, values, grad_clip, grad_attrs


def assert_close(a, b, rtol):
    if b.numel() == 0:
        assert a.numel() == 0
        return
    scale = b.abs().max().clamp_min(1e-12)
    assert (a - b).abs().max() <= rtol * scale, f"max |diff| {(a - b).abs().max():.3g} vs scale {scale:.3g}"


@built
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_op_matches_reference_on_kitty(dtype):
    rast, tri, clip, attrs = kitty_inputs(dtype)
    ref = run("reference", rast.to(dtype), tri, clip, attrs)
    op = run("op", rast.to(dtype), tri, clip, attrs)
    assert torch.equal(ref[0], op[0])
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    for a, b in zip(op[1:], ref[1:]):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert_close(a, b, rtol)


@built
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), faces=st.integers(1, 40), channels=st.integers(1, 6),
       batch=st.integers(1, 3), height=st.integers(1, 24), width=st.integers(1, 24))
def test_op_matches_reference_on_random_triangles(seed, faces, channels, batch, height, width):
    gen = torch.Generator().manual_seed(seed)
    vertices = faces * 3
    clip = torch.cat([torch.rand(batch, vertices, 2, generator=gen, dtype=torch.float64) * 2 - 1,
                      torch.rand(batch, vertices, 1, generator=gen, dtype=torch.float64) * 0.5,
                      1 + torch.rand(batch, vertices, 1, generator=gen, dtype=torch.float64)], 2)
    clip[..., :3] *= clip[..., 3:]  # homogeneous: some perspective division to undo
    tri = torch.arange(vertices).view(faces, 3)
    rast = BACKEND.rasterize(clip.float(), tri, (height, width)).double()
    clip.requires_grad_()
    attrs = torch.randn(vertices, channels, generator=gen, dtype=torch.float64, requires_grad=True)
    ref = run("reference", rast, tri, clip, attrs)
    op = run("op", rast, tri, clip, attrs)
    assert torch.equal(ref[0], op[0])
    for a, b in zip(op[1:], ref[1:]):
        assert_close(a, b, 1e-12)


@built
def test_op_gradcheck_and_frozen_barycentrics():
    gen = torch.Generator().manual_seed(3)
    clip = torch.cat([torch.rand(2, 12, 2, generator=gen, dtype=torch.float64) * 2 - 1,
                      torch.rand(2, 12, 1, generator=gen, dtype=torch.float64) * 0.5,
                      1 + torch.rand(2, 12, 1, generator=gen, dtype=torch.float64)], 2)
    clip[..., :3] *= clip[..., 3:]
    tri = torch.arange(12).view(4, 3)
    rast = BACKEND.rasterize(clip.float(), tri, (10, 10)).double().requires_grad_()
    clip.requires_grad_()
    attrs = torch.randn(12, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert (rast[..., 3] > 0).sum() > 20

    def fn(c, a):
        _, xy, values = freeze_surface_points(rast, tri, c, a, implementation="op")
        return xy, values

    assert torch.autograd.gradcheck(fn, (clip, attrs), eps=1e-6, atol=1e-7)
    _, xy, values = freeze_surface_points(rast, tri, clip, attrs, implementation="op")
    (xy.sum() + values.sum()).backward()
    assert rast.grad is None  # never a gradient to the barycentrics
    assert clip.grad.abs().sum() > 0 and attrs.grad.abs().sum() > 0


@built
def test_op_outputs_outside_the_graph_when_no_input_needs_it():
    rast, tri, clip, attrs = kitty_inputs(torch.float64)
    _, xy, values = freeze_surface_points(rast, tri, clip, attrs.detach(), implementation="op")
    assert xy.requires_grad and not values.requires_grad
    _, xy, values = freeze_surface_points(rast, tri, clip.detach(), attrs, implementation="op")
    assert values.requires_grad and not xy.requires_grad


@built
def test_op_backward_is_deterministic():
    rast, tri, clip, attrs = kitty_inputs(torch.float32)
    first = run("op", rast, tri, clip, attrs, deterministic=True)
    for _ in range(3):
        again = run("op", rast, tri, clip, attrs, deterministic=True)
        assert all(torch.equal(a, b) for a, b in zip(first, again))
    atomic = run("op", rast, tri, clip, attrs, deterministic=False)  # CPU: the same sequential scatter
    assert all(torch.equal(a, b) for a, b in zip(first, atomic))


@built
def test_op_handles_an_empty_rasterization():
    rast = torch.zeros(2, 8, 8, 4)
    clip = torch.rand(2, 5, 4, requires_grad=True)
    attrs = torch.rand(5, 3, requires_grad=True)
    pixel_index, xy, values = freeze_surface_points(rast, torch.tensor([[0, 1, 2]]), clip, attrs, implementation="op")
    assert pixel_index.shape == (0,) and xy.shape == (0, 2) and values.shape == (0, 3)
    (xy.sum() + values.sum()).backward()
    assert torch.equal(clip.grad, torch.zeros_like(clip)) and torch.equal(attrs.grad, torch.zeros_like(attrs))


@built
@pytest.mark.parametrize("case, message", [
    ("rast_shape", "rast must be"),
    ("tri_float", "tri must be an integer"),
    ("clip_batch", "clip must be"),
    ("attrs_rows", "attrs must be"),
    ("dtype_mismatch", "same dtype"),
    ("vertex_range", "vertex ids outside"),
    ("face_range", "refers to triangle"),
])
def test_op_rejects_bad_inputs_clearly(case, message):
    rast, tri, clip, attrs = kitty_inputs(torch.float32, resolution=16, views=(0,))
    if case == "rast_shape":
        rast = rast[..., :3]
    elif case == "tri_float":
        tri = tri.float()
    elif case == "clip_batch":
        clip = torch.cat([clip, clip])
    elif case == "attrs_rows":
        attrs = attrs[:-1]
    elif case == "dtype_mismatch":
        attrs = attrs.double()
    elif case == "vertex_range":
        tri = tri.clone()
        tri[0, 0] = clip.shape[1]
    elif case == "face_range":
        tri = tri[:10]
    with pytest.raises(RuntimeError, match=message):
        freeze_surface_points(rast, tri, clip, attrs, implementation="op")


@built
def test_optimization_is_the_same_with_the_op_and_the_reference(monkeypatch):
    scene = drot.load_scene("kitty", resolution=32)
    start = {"translation": torch.tensor([0.5, -0.4, 0.3])}
    with_op = drot.optimize(scene, iterations=40, initial=start, strategy="basic")
    monkeypatch.setattr(extension, "op_supports", lambda device: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = drot.optimize(scene, iterations=40, initial=start, strategy="basic")
    assert torch.allclose(with_op.parameters["translation"], reference.parameters["translation"], atol=1e-4)


def test_reference_fallback_is_used_and_announced_once(monkeypatch, capsys):
    monkeypatch.setattr(extension, "op_supports", lambda device: False)
    extension.announce_fallback.cache_clear()
    rast, tri, clip, attrs = kitty_inputs(torch.float32, resolution=16, views=(0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plain line, not a warning
        auto = freeze_surface_points(rast, tri, clip, attrs)
        freeze_surface_points(rast, tri, clip, attrs)
    err = capsys.readouterr().err
    assert err.count("using the PyTorch reference on cpu") == 1 and len(err.splitlines()) == 1, err
    ref = freeze_surface_points_reference(rast, tri, clip, attrs)
    assert all(torch.equal(a, b) for a, b in zip(auto, ref))
    extension.announce_fallback.cache_clear()


def test_a_run_without_the_compiled_op_says_so_in_one_plain_line(tmp_path):
    # A fresh process in which drot._C cannot be imported, as on a checkout that never built it.
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import sys, warnings
        sys.modules["drot._C"] = None  # "import drot._C" now fails as for a missing module
        warnings.simplefilter("error")
        import drot
        scene = drot.load_scene("kitty", resolution=16)
        drot.optimize(scene, iterations=4, strategy="basic", match_interval=0)
        drot.optimize(scene, iterations=2, strategy="basic")
    """))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "drot: the compiled op drot._C is not built (python3 -m drot.build_extension builds it); "
        "using the PyTorch reference on cpu"], done.stderr


def test_explicit_op_request_without_the_op_fails_with_the_build_command(monkeypatch):
    monkeypatch.setattr(extension, "op_supports", lambda device: False)
    monkeypatch.setattr(extension, "extension_status",
                        lambda: extension.ExtensionStatus(False, False, "drot._C is not built (build it with "
                                                          f"`{extension.BUILD_COMMAND}`)"))
    rast, tri, clip, attrs = kitty_inputs(torch.float32, resolution=16, views=(0,))
    with pytest.raises(RuntimeError, match="drot.build_extension"):
        freeze_surface_points(rast, tri, clip, attrs, implementation="op")
    with pytest.raises(ValueError, match="implementation must be"):
        freeze_surface_points(rast, tri, clip, attrs, implementation="fast")


def test_point_proxies_are_the_same_through_either_implementation():
    scene = drot.load_scene("kitty", resolution=32)
    state = scene.evaluate({"translation": torch.tensor([0.1, 0.0, -0.1])})
    frame = render(state, [1], scene.resolution, BACKEND, antialias=False)
    a = point_proxies(state, [1], frame.rast, BACKEND, implementation="reference")
    b = point_proxies(state, [1], frame.rast, BACKEND)
    assert torch.equal(a.pixel_index, b.pixel_index)
    assert torch.allclose(a.rgbxy, b.rgbxy, atol=1e-6)
