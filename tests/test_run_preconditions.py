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
