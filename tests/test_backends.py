"""Backend registry and the nvdiffrast adapter (on CPU: probing, reasons, and the adapter's plumbing
through a stand-in for nvdiffrast.torch; the real nvdiffrast parity tests are in test_cuda.py)."""
import sys
import types

import pytest
import torch

import drot
from drot.render import backend as registry
from drot.render.nvdiffrast_backend import NvdiffrastBackend
from drot.render.renderer import render
from drot.render.torch_backend import TorchBackend


def test_nvdiffrast_is_probed_for_real_and_says_why_not():
    status = {s.name: s for s in drot.backend_status("cpu")}
    assert status["torch"].available
    assert not status["nvdiffrast"].available and "CUDA" in status["nvdiffrast"].reason
    assert "\n" not in status["nvdiffrast"].reason
    with pytest.raises(RuntimeError, match="nvdiffrast backend does not work on cpu"):
        drot.get_backend("nvdiffrast", "cpu")
    assert drot.get_backend("auto", "cpu").name == "torch"


def test_auto_says_once_in_one_line_why_a_preferred_backend_is_skipped(capsys):
    registry._say_skipped.cache_clear()
    # "meta" stands for an accelerator here: the torch backend constructs on it, nvdiffrast does not.
    assert drot.get_backend("auto", "meta").name == "torch"
    assert drot.get_backend("auto", "meta").name == "torch"
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("drot: nvdiffrast backend not used on meta:")
    drot.get_backend("auto", "cpu")
    assert capsys.readouterr().err == ""  # nothing to say on the CPU


def test_backends_are_constructed_once_per_device():
    assert drot.get_backend("torch", "cpu") is drot.get_backend("torch", "cpu")


class FakeNvdiffrast(types.ModuleType):
    """Stand-in for ``nvdiffrast.torch`` on the CPU: nvdiffrast's signatures, drot's torch backend inside;
    records what the adapter passes so that its layout conversions can be checked."""

    def __init__(self):
        super().__init__("nvdiffrast.torch")
        self.calls = []
        self.torch = TorchBackend("cpu")

    def RasterizeCudaContext(self, device=None):
        return object()

    def rasterize(self, ctx, pos, tri, resolution, ranges=None, grad_db=True):
        self.calls.append(("rasterize", pos.dtype, tri.dtype, pos.is_contiguous(), tuple(resolution)))
        return self.torch.rasterize(pos, tri, tuple(resolution)), None

    def interpolate(self, attr, rast, tri, rast_db=None, diff_attrs=None):
        self.calls.append(("interpolate", attr.ndim, tri.dtype))
        return self.torch.interpolate(attr, rast, tri), None

    def antialias_construct_topology_hash(self, tri):
        self.calls.append(("hash", tri.dtype))
        return object()

    def antialias(self, color, rast, pos, tri, topology_hash=None, pos_gradient_boost=1.0):
        self.calls.append(("antialias", topology_hash is not None))
        return self.torch.antialias(color, rast, pos, tri)

    def texture(self, tex, uv, uv_da=None, mip_level_bias=None, mip=None, filter_mode="auto",
                boundary_mode="wrap", max_mip_level=None):
        self.calls.append(("texture", tex.ndim, uv.ndim, filter_mode, boundary_mode))
        assert uv.ndim == 4 and tex.shape[0] == 1 and filter_mode == "linear"
        out = self.torch.texture(tex[0], uv, boundary_mode)
        return out


@pytest.fixture
def fake_backend(monkeypatch):
    fake = FakeNvdiffrast()
    package = types.ModuleType("nvdiffrast")
    package.torch = fake
    monkeypatch.setitem(sys.modules, "nvdiffrast", package)
    monkeypatch.setitem(sys.modules, "nvdiffrast.torch", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    backend = NvdiffrastBackend.__new__(NvdiffrastBackend)  # the constructor insists on a CUDA device
    backend.device = torch.device("cpu")
    backend._dr = fake
    backend._context = fake.RasterizeCudaContext()
    backend._triangles = __import__("collections").OrderedDict()
    return backend, fake


def test_adapter_renders_like_the_backend_it_wraps(fake_backend):
    backend, fake = fake_backend
    scene = drot.load_scene("kitty", resolution=32)
    state = scene.evaluate({"translation": torch.tensor([0.1, -0.1, 0.0])})
    a = render(state, [0, 3], scene.resolution, backend)
    b = render(state, [0, 3], scene.resolution, fake.torch)
    assert torch.equal(a.rast, b.rast) and torch.allclose(a.image, b.image)
    kinds = [c[0] for c in fake.calls]
    assert {"rasterize", "interpolate", "antialias"} <= set(kinds)
    assert all(c[2] == torch.int32 for c in fake.calls if c[0] == "rasterize")  # nvdiffrast wants int32
    # Cached per triangle tensor: the int32 copy and the topology hash are built once for many renders.
    render(state, [1], scene.resolution, backend)
    assert [c[0] for c in fake.calls].count("hash") == 1


def test_adapter_texture_layouts(fake_backend):
    backend, fake = fake_backend
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(8, 16, 3, generator=gen)
    uv = torch.rand(5, 7, 2, generator=gen)
    out = backend.texture(tex, uv)
    assert out.shape == (5, 7, 3)
    assert torch.allclose(out, fake.torch.texture(tex, uv))
    cube = torch.rand(6, 4, 4, 2, generator=gen)
    dirs = torch.randn(11, 3, generator=gen)
    assert torch.allclose(backend.texture(cube, dirs, "cube"), fake.torch.texture(cube, dirs, "cube"))
    with pytest.raises(ValueError, match="cube map must be"):
        backend.texture(tex, dirs, "cube")
    with pytest.raises(ValueError, match="boundary_mode"):
        backend.texture(tex, uv, "mirror")


def test_topology_cache_follows_in_place_edits(fake_backend):
    backend, fake = fake_backend
    tri = torch.tensor([[0, 1, 2]])
    first, _ = backend._topology(tri)
    assert backend._topology(tri)[0] is first
    tri[0, 0] = 2  # an in-place edit bumps the version: the cached copy must not be reused
    assert torch.equal(backend._topology(tri)[0], tri.int())
