"""Bad input gets a clear error that names the problem."""
import math

import numpy as np
import pytest
import torch

import drot
from drot.eval.cli import main as bench_main
from drot.scene.mesh import MeshError, mesh_from_arrays
from drot.scene.mesh_files import load_mesh


@pytest.fixture(scope="module")
def tiny_scene():
    return drot.load_scene("kitty", resolution=16)


def test_missing_mesh_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="mesh file not found: .*nope.obj"):
        load_mesh(tmp_path / "nope.obj")


def test_unreadable_mesh_file(tmp_path):
    bad = tmp_path / "garbage.ply"
    bad.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99999999\n\x00\x01")
    with pytest.raises(MeshError, match="garbage.ply"):
        load_mesh(bad)


def test_mesh_file_without_faces(tmp_path):
    pts = tmp_path / "points.obj"
    pts.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(MeshError, match="no triangles"):
        load_mesh(pts)


def test_mesh_without_faces():
    with pytest.raises(MeshError, match="no faces"):
        mesh_from_arrays(np.zeros((3, 3)), np.zeros((0, 3)))


def test_mesh_with_bad_indices_or_nan():
    with pytest.raises(MeshError, match="outside"):
        mesh_from_arrays(np.zeros((3, 3)), [[0, 1, 3]])
    with pytest.raises(MeshError, match="NaN"):
        mesh_from_arrays([[0, 0, 0], [1, 0, 0], [0, math.nan, 0]], [[0, 1, 2]])


def test_nan_or_inf_in_initial_parameters(tiny_scene):
    with pytest.raises(ValueError, match="initial parameter 'translation' contains NaN or inf"):
        drot.optimize(tiny_scene, iterations=1, initial={"translation": torch.tensor([0.0, math.nan, 0.0])})
    with pytest.raises(ValueError, match="NaN or inf"):
        drot.Parameter("t", "translation", [0.0, math.inf, 0.0], init_range=(-1, 1))


def test_nan_or_inf_in_target(tiny_scene):
    with pytest.raises(ValueError, match="target parameter 'translation' contains NaN or inf"):
        drot.optimize(tiny_scene, {"translation": torch.tensor([math.inf, 0.0, 0.0])}, iterations=1)
    images = torch.zeros(6, 16, 16, 3)
    images[2, 3, 3, 1] = math.nan
    with pytest.raises(ValueError, match="target images contain NaN or inf"):
        drot.optimize(tiny_scene, images, iterations=1)


def test_target_image_size_mismatch(tiny_scene):
    with pytest.raises(ValueError, match=r"target images are \(20, 16\) pixels but the scene renders at \(16, 16\)"):
        drot.optimize(tiny_scene, torch.zeros(6, 20, 16, 3), iterations=1)


def test_target_view_count_mismatch(tiny_scene):
    with pytest.raises(ValueError, match="has 6 views but 4 target images"):
        drot.optimize(tiny_scene, torch.zeros(4, 16, 16, 3), iterations=1)


def test_missing_target_image_file(tiny_scene, tmp_path):
    with pytest.raises(FileNotFoundError, match="target image not found"):
        drot.optimize(tiny_scene, [tmp_path / f"view{i}.png" for i in range(6)], iterations=1)


def test_unknown_scene_name():
    with pytest.raises(ValueError, match="unknown scene 'no-such-scene'; available scenes: .*kitty"):
        drot.load_scene("no-such-scene")


def test_unknown_scene_in_cli(capsys):
    assert bench_main(["--scene", "no-such-scene", "--no-progress"]) == 2
    assert "unknown scene 'no-such-scene'" in capsys.readouterr().err


@pytest.mark.parametrize("lam", [-0.1, 1.5, math.nan])
def test_lambda_outside_unit_interval(lam):
    with pytest.raises(ValueError, match=r"λ \(lam\) must be a number in \[0, 1\]"):
        drot.OptimizeSettings(lam=lam)


def test_negative_match_interval():
    with pytest.raises(ValueError, match="match interval K must be an integer >= 0"):
        drot.OptimizeSettings(match_interval=-1)


@pytest.mark.parametrize("iterations", [0, -5])
def test_non_positive_iterations(iterations, tiny_scene):
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        drot.optimize(tiny_scene, iterations=iterations)


def test_unknown_strategy_and_parameter_kind():
    with pytest.raises(ValueError, match="unknown strategy 'fancy'"):
        drot.OptimizeSettings(strategy="fancy")
    with pytest.raises(ValueError, match="unknown parameter kind 'wobble'"):
        drot.Parameter("w", "wobble", [0.0], initial=[0.0])


def test_cuda_requested_without_cuda(tiny_scene):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        drot.optimize(tiny_scene, iterations=1, device="cuda")
