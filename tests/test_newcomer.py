"""What a new user meets first: drot-bench's help and flags, short reprs, errors that point the way,
the thread default."""
import re
import warnings

import pytest
import torch

import drot
from drot import threads
from drot.eval.cli import build_parser, main


def test_help_states_each_default_once(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    for flag_help in re.split(r" --(?=[a-z])", text):
        assert flag_help.count("default") <= 1, flag_help
    assert "--background {auto,exclude,include} pixels matched" in text


@pytest.mark.parametrize("old, new, dest, value", [
    ("--K", "--match-interval", "match_interval", 3),
    ("--hybrid-fraction", "--rgbxy-fraction", "rgbxy_fraction", 0.5),
    ("--solver", "--sinkhorn-solver", "sinkhorn_solver", "geomloss"),
    ("--frames", "--record-frames", "record_frames", 7),
])
def test_flags_carry_the_settings_names_and_keep_the_old_ones(old, new, dest, value):
    parser = build_parser()
    assert getattr(parser.parse_args([new, str(value)]), dest) == value
    assert getattr(parser.parse_args([old, str(value)]), dest) == value


def test_an_error_names_the_flag_as_typed(capsys):
    assert main(["--K", "-1", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("drot-bench: error: --K -1")
    assert main(["--match-interval", "-1", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("drot-bench: error: --match-interval -1")


def test_list_scenes_describes_each_protocol(capsys):
    assert main(["--list-scenes"]) == 0
    own = capsys.readouterr().out
    assert main(["--list-scenes", "--protocol", "paper"]) == 0
    paper = capsys.readouterr().out
    assert own != paper
    kitty = [line for line in paper.splitlines() if line.split()[:1] == ["kitty"]]
    assert kitty and "Paper protocol" in kitty[0]


def test_reprs_are_short():
    scene = drot.load_scene("kitty", resolution=16)
    assert len(repr(scene)) < 300 and "translation" in repr(scene)
    loss = drot.RgbxyLoss(torch.rand(2, 16, 16, 4))
    assert repr(loss).startswith("RgbxyLoss(2 views of 16x16") and " at 0x" not in repr(loss)
    result = drot.optimize(scene, iterations=2, progress=False)
    assert len(repr(result)) < 300 and "PSNR" in repr(result)


def test_misspelt_strategy_and_mesh_given_as_scene():
    with pytest.raises(ValueError, match="did you mean 'hybrid'"):
        drot.OptimizeSettings(strategy="hybird")
    with pytest.raises(ValueError, match=r"mesh file; load_scene expects a scene name .*drot.load_mesh"):
        drot.load_scene("my_object.obj")


def test_threads_warn_when_more_than_the_free_cores(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (float(threads.cpu_count()), 0.0, 0.0))
    try:
        assert threads.free_cores() == 1
        with pytest.warns(RuntimeWarning, match="CPU threads but only 1"):
            threads.choose_threads(2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert threads.choose_threads(1) == 1 and threads.choose_threads("auto") == 1
    finally:
        torch.set_num_threads(before)


def test_bench_reports_the_seeded_and_the_winning_start(tmp_path, capsys):
    import json
    out = tmp_path / "res"
    assert main(["--scene", "kitty", "--resolution", "16", "--iterations", "4", "--seeds", "1", "--starts", "2",
                 "--record-frames", "0", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # Two methods at 2 starts, and the same two from the seeded start alone (--one-start, the default).
    assert printed.count("seeded start: translation [") == 4 and printed.count("won: start ") == 2
    assert "DROT-hybrid vs L2 (standard) at 2 starts per run, from the same seeded starts: converged " in printed
    assert "DROT-hybrid ×1 vs L2 (standard) ×1 at one start per run, from the same seeded starts: converged " in printed
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["method"] for r in runs] == ["hybrid", "standard", "hybrid@1", "standard@1"]
    assert all(r["initial_parameters"] == runs[0]["initial_parameters"] for r in runs)  # the same declared start
    assert all(r["winning_start"]["index"] == r["best_start"] for r in runs[:2])
    assert "winning_start" not in runs[2] and "starts" not in runs[2]  # one start: nothing to win


def test_table1_exits_nonzero_when_runs_fail_for_a_missing_extra(tmp_path, monkeypatch, capsys):
    import sys

    from drot.eval import table1
    monkeypatch.setitem(sys.modules, "cv2", None)  # as without OpenCV: importing it raises ImportError
    argv = ["--quick", "--scenes", "kitty", "--variants", "flow", "--seeds", "1", "--iterations", "2",
            "--resolution", "16", "--high-resolution", "16", "--out", str(tmp_path / "t1"), "--no-progress",
            "--no-curves"]
    assert table1.main(argv) == 1
    assert 'pip install "drot[flow]"' in capsys.readouterr().err


def _readme_block(language: str) -> str:
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return text.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_readme_scene_file_and_python_example_build_the_same_scene(tmp_path):
    import math

    import trimesh
    trimesh.creation.box((1.0, 0.6, 0.3)).export(tmp_path / "my_object.obj")
    (tmp_path / "my_object.toml").write_text(_readme_block("toml"))
    from_file = drot.load_scene(str(tmp_path / "my_object.toml"))
    code = _readme_block("python")
    assert len(code.strip().splitlines()) <= 20
    code = code.replace('"my_object.obj"', repr(str(tmp_path / "my_object.obj")))
    code = code.split("images = ")[0]  # up to the scene: the optimisation needs photos
    namespace = {}
    exec(code, namespace)
    scene = namespace["scene"]
    assert [(p.name, p.kind) for p in scene.parameters] == [(p.name, p.kind) for p in from_file.parameters]
    assert torch.allclose(scene.mesh.vertices, from_file.mesh.vertices)  # normalized() = the file's default
    assert scene.resolution == from_file.resolution and scene.num_views == from_file.num_views == 6
    assert math.isclose(from_file.parameters[0].init_range[1], math.pi, rel_tol=1e-4)


def test_mesh_with_texture_from_python():
    mesh = drot.load_scene("kitty", resolution=16).mesh
    textured = mesh.with_texture(torch.rand(8, 8, 3), projection="planar")
    assert textured.uvs.shape == (mesh.num_vertices, 2) and textured.texture.shape == (8, 8, 3)
    with pytest.raises(drot.MeshError, match="no UVs"):
        drot.mesh_from_arrays(mesh.vertices, mesh.faces).with_texture(torch.rand(8, 8, 3))


def test_camera_from_opencv_projects_like_opencv():
    h, w = 48, 64
    K = torch.tensor([[70.0, 0, (w - 1) / 2], [0, 70.0, (h - 1) / 2], [0, 0, 1]])
    angle = torch.tensor([0.2, -0.5, 0.1])
    R = drot.scene.kinds.axis_angle_matrix(angle).double()
    t = torch.tensor([0.1, -0.2, 3.0], dtype=torch.float64)
    cam = drot.Camera.from_opencv(K, R, t, (h, w))
    points = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.4], [-0.5, 0.4, -0.1]], dtype=torch.float64)
    cam_xyz = points @ R.T + t
    expected = (cam_xyz @ K.double().T)[:, :2] / cam_xyz[:, 2:]              # OpenCV pixels (u right, v down)
    clip = torch.cat([points.float(), torch.ones(3, 1)], 1) @ cam.clip_matrix(w / h).T
    ndc = clip[:, :2] / clip[:, 3:]
    u = (ndc[:, 0] + 1) / 2 * w - 0.5                                         # drot's rows: top first
    v = (1 - ndc[:, 1]) / 2 * h - 0.5
    assert torch.allclose(torch.stack([u, v], 1).double(), expected, atol=1e-3)
    with pytest.raises(ValueError, match="principal point"):
        drot.Camera.from_opencv(torch.tensor([[70.0, 0, 10], [0, 70.0, 23.5], [0, 0, 1]]), R, t, (h, w))


def test_apps_pass_shared_settings_only_to_the_methods_that_read_them():
    from drot.apps.problem import shared_settings
    assert shared_settings({"max_points": 2048, "lr": 0.01}, "standard") == {"lr": 0.01}
    assert shared_settings({"max_points": 2048, "lr": 0.01}, "hybrid") == {"max_points": 2048, "lr": 0.01}
