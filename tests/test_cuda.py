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
