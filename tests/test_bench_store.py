"""drot-bench keeps every finished run: the run store, resume and --fresh, the checks of --out and
of every flag before any work, and the modes of the files it writes."""
import os
import stat

import pytest

from drot import report


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_atomic_writes_get_the_mode_open_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        written = [report.write_json(tmp_path / "a.json", {"x": 1}), report.write_csv(tmp_path / "a.csv", [{"x": 1}]),
                   report.write_text(tmp_path / "a.md", "| x |\n")]
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode) == expected
    for path in written:
        assert stat.S_IMODE(os.stat(path).st_mode) == expected, path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json", "a.md", "plain.txt"]  # no temp left


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = report.write_json(tmp_path / "r.json", [1])
    os.chmod(path, 0o600)
    report.write_json(path, [2])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_text() == "[\n  2\n]\n"


# ----------------------------------------------------------------------------- drot-bench

import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from drot.eval import bench as bench_module  # noqa: E402
from drot.eval.cli import main  # noqa: E402
from drot.eval.sweep import RUNS_FILE, RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--scene", "kitty", "--resolution", "16", "--iterations", "3", "--frames", "0", "--no-progress", "--no-one-start"]


def _bench(tmp_path, *extra, out="res"):
    return main([*TINY, "--out", str(tmp_path / out), *extra])


def _store_lines(folder):
    path = Path(folder) / RUNS_FILE
    return path.read_text().splitlines() if path.is_file() else []


def _ran(printed):
    """Runs the command did (its per-run lines), and runs it skipped."""
    lines = [line for line in printed.splitlines() if re.search(r"seed \d+: vertex MAE", line)]
    return sum("(skipped)" not in line for line in lines), sum("(skipped)" in line for line in lines)


def test_ctrl_c_keeps_the_finished_runs_and_the_same_command_resumes(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["--scene", "kitty", "--resolution", "24", "--iterations", "40", "--seeds", "3",
            "--methods", "hybrid,standard", "--frames", "0", "--no-progress", "--no-one-start", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    # SIGINT raises KeyboardInterrupt only where it is not ignored (a background job of a shell ignores it).
    proc = subprocess.Popen([sys.executable, "-m", "drot.eval.cli", *argv], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(_store_lines(out)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "drot-bench ended before it could be interrupted"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    kept = len(_store_lines(out))
    assert 2 <= kept < 6
    assert f"interrupted: {kept} of 6 runs finished and kept in {out}/" in stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    results = json.loads((out / "results.json").read_text())
    assert results["finished"] == len(results["runs"]) == kept and not results["complete"]
    assert len(results["pending"]) == 6 - kept
    assert all(len(r["history"]) == 40 for r in results["runs"])
    assert len((out / "results.csv").read_text().splitlines()) == 1 + kept
    assert {f"strip_{r['method']}_seed{r['seed']}.png" for r in results["runs"]} == {p.name for p in out.glob("strip_*")}

    capsys.readouterr()
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"{kept} of 6 runs already done (skipped), {6 - kept} to run" in printed
    assert _ran(printed) == (6 - kept, kept)
    keys = [json.loads(line)["key"] for line in _store_lines(out)]
    assert len(keys) == len(set(keys)) == 6  # no finished run was done twice
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] and len(results["runs"]) == 6 and results["pending"] == []
    assert [(r["method"], r["seed"]) for r in results["runs"]] == [(m, s) for s in range(3)
                                                                    for m in ("hybrid", "standard")]


def test_a_changed_setting_reruns_and_only_current_runs_are_shown(tmp_path, capsys):
    out = tmp_path / "res"
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard") == 0
    assert {p.name for p in out.glob("strip_*")} == {"strip_standard_seed0.png", "strip_standard_seed1.png"}
    capsys.readouterr()
    # Fewer seeds: seed 0 is reused; seed 1's strip belongs to a finished run of the store: kept, and said so.
    assert _bench(tmp_path, "--seeds", "1", "--methods", "standard") == 0
    printed = capsys.readouterr().out
    assert _ran(printed) == (0, 1)
    assert "keeping 1 strip/GIF file(s) of earlier runs not in this command (strip_standard_seed1.png)" in printed
    assert {p.name for p in out.glob("strip_*")} == {"strip_standard_seed0.png", "strip_standard_seed1.png"}
    assert [r["seed"] for r in json.loads((out / "results.json").read_text())["runs"]] == [0]
    # Back to two seeds: both are in the store with their strips, so nothing is done again.
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard") == 0
    assert _ran(capsys.readouterr().out) == (0, 2)
    # A stored run whose strip is gone is done again.
    (out / "strip_standard_seed1.png").unlink()
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard") == 0
    assert _ran(capsys.readouterr().out) == (1, 1)
    assert (out / "strip_standard_seed1.png").is_file()
    # Another iteration count is another run: nothing is skipped.
    assert main([*TINY[:4], "--iterations", "4", *TINY[6:], "--seeds", "2", "--methods", "standard",
                 "--out", str(out)]) == 0
    assert _ran(capsys.readouterr().out) == (2, 0)
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [len(r["history"]) for r in runs] == [4, 4]
    assert len(_store_lines(out)) == 5


def test_fresh_removes_only_what_drot_bench_wrote(tmp_path, capsys):
    out = tmp_path / "res"
    assert _bench(tmp_path, "--seeds", "1", "--methods", "standard", "--frames", "2") == 0
    for name in ("strip_hybrid_seed7.png", "animation_standard_seed9.gif", "notes.txt", "strip_notes.png"):
        (out / name).write_bytes(b"x")
    capsys.readouterr()
    assert _bench(tmp_path, "--seeds", "1", "--methods", "hybrid", "--fresh") == 0
    printed = capsys.readouterr().out
    assert f"--fresh: removed 9 file(s) of earlier results from {out}/" in printed  # 7 of the first run, 2 stale
    assert _ran(printed) == (1, 0)
    assert sorted(p.name for p in out.iterdir()) == [
        "error_vs_iteration.png", "history.csv", "notes.txt", "results.csv", "results.json", RUNS_FILE,
        "strip_hybrid_seed0.png", "strip_notes.png"]
    assert len(_store_lines(out)) == 1


def test_results_are_readable_like_the_images(tmp_path):
    old = os.umask(0o022)
    try:
        assert _bench(tmp_path, "--seeds", "1", "--methods", "standard") == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "res").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_a_failing_run_is_recorded_and_retried(tmp_path, capsys, monkeypatch):
    real = bench_module.optimize

    def flaky(scene, settings):
        if settings.seed == 1:
            raise RuntimeError("boom")
        return real(scene, settings=settings)

    monkeypatch.setattr(bench_module, "optimize", flaky)
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard") == 1
    captured = capsys.readouterr()
    assert "standard seed 1: RuntimeError: boom" in captured.err and "--retry-failed" in captured.err
    results = json.loads((tmp_path / "res" / "results.json").read_text())
    assert results["failed"] == [{"method": "standard", "seed": 1, "error": "RuntimeError: boom"}]
    monkeypatch.setattr(bench_module, "optimize", real)
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard") == 1  # left alone without --retry-failed
    assert _ran(capsys.readouterr().out) == (0, 1)
    assert _bench(tmp_path, "--seeds", "2", "--methods", "standard", "--retry-failed") == 0
    assert _ran(capsys.readouterr().out) == (1, 1)
    assert json.loads((tmp_path / "res" / "results.json").read_text())["complete"]


@pytest.mark.parametrize("make, why", [(lambda d: (d / "f.txt").write_text("x") and d / "f.txt", "exists and is not a folder"),
                                       (lambda d: (d / "f.txt").write_text("x") and d / "f.txt" / "sub",
                                        "cannot create or write to this folder: Not a directory")])
def test_a_bad_out_is_refused_before_any_run(tmp_path, capsys, make, why):
    out = make(tmp_path)
    assert main([*TINY, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"drot-bench: error: --out {out}: {why}" in captured.err
    assert captured.out == ""  # nothing started
    assert (tmp_path / "f.txt").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main([*TINY, "--out", str(ro)]) == 2
    finally:
        ro.chmod(0o755)
    assert f"--out {ro}: cannot create or write to this folder" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, allowed", [
    ("--resolution", "10", "must be an integer >= 11"),
    ("--seeds", "0", "must be an integer >= 1"),
    ("--first-seed", "-1", "must be an integer >= 0"),
    ("--iterations", "0", "iterations must be a positive integer"),
    ("--frames", "-1", "record_frames must be an integer >= 0"),
    ("--lr", "0", "learning rate must be positive and finite"),
    ("--lr", "nan", "must be a finite number"),
    ("--lr-decay", "1.5", "lr_decay must be in (0, 1]"),
    ("--lam", "2", "λ (lam) must be a number in [0, 1]"),
    ("--blur", "0", "blur (ε) must be positive"),
    ("--blur", "inf", "must be a finite number"),
    ("--K", "-1", "match interval K must be an integer >= 0"),
    ("--hybrid-fraction", "1.5", "rgbxy_fraction must be in [0, 1]"),
    ("--max-points", "1", "max_points must be an integer >= 2"),
    ("--threshold", "-0.5", "must be a number >= 0"),
])
def test_each_bad_flag_is_named_before_any_work(tmp_path, capsys, flag, value, allowed):
    out = tmp_path / "never"
    assert main([*TINY, "--out", str(out), flag, value]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert message.startswith(f"drot-bench: error: {flag} ")
    shown = message.removeprefix(f"drot-bench: error: {flag} ").split(":")[0]  # the value, as parsed
    assert shown == value or float(shown) == float(value) or shown == value == "nan"
    assert allowed in message and captured.out == "" and not out.exists()


def test_the_smallest_resolution_runs(tmp_path):
    # 11 is the smallest size SSIM's window fits in; the renderer and every method run there.
    assert main(["--scene", "kitty", "--resolution", "11", "--iterations", "2", "--seeds", "1", "--frames", "0",
                 "--methods", "hybrid,standard,softras", "--l2-schedule", "multires", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["complete"] and all(0 <= r["ssim"] <= 1 for r in results["runs"])
