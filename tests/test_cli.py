"""drot-bench end to end on a tiny budget: the table, the summary and the results folder."""
import json

import imageio.v3 as iio

from drot.eval.cli import main


def test_drot_bench_writes_a_results_folder(tmp_path, capsys):
    out = tmp_path / "res"
    code = main(["--scene", "kitty", "--resolution", "32", "--iterations", "12", "--seeds", "2",
                 "--frames", "3", "--out", str(out), "--no-progress", "--no-one-start"])
    assert code == 0
    printed = capsys.readouterr().out
    for column in ("method", "seed", "vertex_mae", "psnr", "ssim", "it_per_s", "wall_s"):
        assert column in printed
    assert "DROT-hybrid" in printed and "L2 (standard)" in printed
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "results.csv", "history.csv", "error_vs_iteration.png"} <= names
    assert {f"strip_{m}_seed{s}.png" for m in ("hybrid", "standard") for s in (0, 1)} <= names
    assert {f"animation_{m}_seed{s}.gif" for m in ("hybrid", "standard") for s in (0, 1)} <= names
    results = json.loads((out / "results.json").read_text())
    assert len(results["runs"]) == 4 and len(results["runs"][0]["history"]) == 12
    # Both methods start from the same seeded start.
    starts = {(r["method"], r["seed"]): r["initial_parameters"]["translation"] for r in results["runs"]}
    assert starts[("hybrid", 0)] == starts[("standard", 0)] != starts[("hybrid", 1)]
    strip = iio.imread(out / "strip_hybrid_seed0.png")
    assert strip.shape[0] > 6 * 32 and strip.shape[1] > 3 * 32  # six views, three columns, enlarged
    assert (out / "results.csv").read_text().count("\n") == 5  # header + 4 runs


def test_drot_bench_rejects_bad_flags(capsys):
    assert main(["--methods", "hybrid,magic", "--no-progress"]) == 2
    assert "unknown method(s) ['magic']" in capsys.readouterr().err
    assert main(["--lam", "2", "--no-progress"]) == 2
    assert "λ (lam) must be a number in [0, 1]" in capsys.readouterr().err
    assert main(["--K", "-1", "--no-progress"]) == 2
    assert main(["--iterations", "0", "--no-progress"]) == 2


def test_cuda_defaults_are_the_papers_full_protocol():
    from drot.eval.cli import FULL, QUICK, apply_protocol_defaults, build_parser
    on_gpu = apply_protocol_defaults(build_parser().parse_args(["--device", "cuda"]))
    assert (on_gpu.iterations, on_gpu.seeds, on_gpu.resolution) == (1000, 10, 128) == tuple(FULL.values())
    on_cpu = apply_protocol_defaults(build_parser().parse_args(["--seeds", "2"]))
    assert (on_cpu.iterations, on_cpu.seeds, on_cpu.resolution) == (QUICK["iterations"], 2, QUICK["resolution"])


def test_psnr_scenes_count_successes_on_psnr(tmp_path, capsys):
    from drot.eval.cli import main
    code = main(["--scene", "teapot", "--seeds", "1", "--iterations", "4", "--resolution", "16", "--methods", "standard",
                 "--frames", "0", "--no-progress", "--threshold", "1000", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "success = PSNR >= 1000" in out and "0/1" in out  # no image reaches 1000 dB


def test_method_at_starts_runs_that_many_starts_and_has_its_own_files(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["--scene", "kitty", "--resolution", "16", "--iterations", "4", "--seeds", "1", "--starts", "3",
                 "--methods", "standard,standard@2", "--frames", "0", "--out", str(out), "--no-progress"]) == 0
    runs = {r["method"]: r for r in json.loads((out / "results.json").read_text())["runs"]}
    # standard@2 is given: --one-start adds standard@1 only.
    assert set(runs) == {"standard", "standard@2", "standard@1"}
    assert runs["standard"]["starts"] == 3 and runs["standard@2"]["starts"] == 2 and "starts" not in runs["standard@1"]
    assert {"strip_standard-2start_seed0.png", "strip_standard-1start_seed0.png"} <= {p.name for p in out.iterdir()}
    assert "L2 (standard) ×2" in capsys.readouterr().out
    assert main(["--methods", "standard@0", "--no-progress"]) == 2
    assert "after '@' comes a number of starts >= 1" in capsys.readouterr().err


def test_the_levers_and_reach_are_flags_that_reach_the_runs_settings(tmp_path):
    out = tmp_path / "res"
    assert main(["--scene", "kitty", "--resolution", "16", "--iterations", "3", "--seeds", "1", "--methods", "hybrid",
                 "--starts", "2", "--sinkhorn-reach", "0.1", "--jump-interval", "0.5", "--optimizer", "vector_adam",
                 "--appearance-gradients", "standard", "--translation-frame", "view", "--offset-smoothness", "5",
                 "--l2-supersample", "2", "--frames", "0", "--out", str(out),
                 "--no-progress"]) == 0
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert settings["sinkhorn_reach"] == 0.1 and settings["jump_interval"] == 0.5 and settings["offset_smoothness"] == 5.0
    assert settings["l2_supersample"] == 2
    assert (settings["optimizer"], settings["appearance_gradients"], settings["translation_frame"]) == (
        "vector_adam", "standard", "view")
    # At their defaults they are not named: older results folders keep their run keys.
    assert main(["--scene", "kitty", "--resolution", "16", "--iterations", "3", "--seeds", "1", "--methods", "hybrid",
                 "--frames", "0", "--out", str(tmp_path / "plain"), "--no-progress", "--no-one-start"]) == 0
    plain = json.loads((tmp_path / "plain" / "results.json").read_text())["settings"]
    assert not {"sinkhorn_reach", "jump_interval", "optimizer", "translation_frame", "offset_smoothness",
                "l2_supersample"} & set(plain)
