"""Resumable sweeps (drot.eval.sweep) and the Table 1 harness's writers and command line (drot.eval.table1)."""
import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from drot import metrics
from drot.eval import table1
from drot.eval.sweep import RUNS_FILE, RunSpec, RunStore, run_sweep, settings_hash

SPECS = [RunSpec("scene", f"v{v}", seed, {"lr": 0.1 * (v + 1)}) for v in range(2) for seed in range(3)]


class Counter:
    """A run function that counts its calls, and can interrupt or crash on chosen runs."""

    def __init__(self, interrupt_at: int | None = None, crash_on: set[str] = frozenset()) -> None:
        self.calls: list[str] = []
        self.interrupt_at, self.crash_on = interrupt_at, crash_on

    def __call__(self, spec: RunSpec) -> dict:
        self.calls.append(spec.key)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of a run
        if spec.key in self.crash_on:
            raise RuntimeError(f"boom in {spec.variant}")
        return {"value": spec.seed * 10 + spec.config["lr"]}


def test_keys_hash_the_settings():
    a = RunSpec("kitty", "hybrid", 0, {"x": 1, "y": [1, 2]})
    assert a.key == f"kitty|hybrid|seed=0|{settings_hash({'y': [1, 2], 'x': 1})}"  # key order does not matter
    assert RunSpec("kitty", "hybrid", 0, {"x": 2, "y": [1, 2]}).key != a.key
    assert RunSpec("kitty", "hybrid", 1, {"x": 1, "y": [1, 2]}).key != a.key


def test_interrupted_sweep_resumes_without_redoing_or_losing_runs(tmp_path):
    first = Counter(interrupt_at=4)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SPECS, first, tmp_path, progress=False)
    kept = RunStore(tmp_path).records()
    assert list(kept) == [s.key for s in SPECS[:3]]  # the three finished runs are on disk
    second = Counter()
    records = run_sweep(SPECS, second, tmp_path, progress=False)
    assert second.calls == [s.key for s in SPECS[3:]]  # only the interrupted run and the rest
    assert set(records) == {s.key for s in SPECS} and all(r["status"] == "ok" for r in records.values())
    assert records[SPECS[5].key]["result"] == {"value": 20 + 0.2}
    third = Counter()
    run_sweep(SPECS, third, tmp_path, progress=False)
    assert third.calls == []
    assert len((tmp_path / RUNS_FILE).read_text().splitlines()) == len(SPECS)  # one line per run, none twice


def test_a_crashing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    bad = SPECS[1].key
    run = Counter(crash_on={bad})
    records = run_sweep(SPECS, run, tmp_path, progress=False)
    assert len(run.calls) == len(SPECS)
    assert records[bad]["status"] == "error" and records[bad]["error"] == "RuntimeError: boom in v0"
    assert "in __call__" in records[bad]["traceback"] and "boom" in records[bad]["traceback"]
    assert sum(r["status"] == "ok" for r in records.values()) == len(SPECS) - 1
    again = Counter()
    run_sweep(SPECS, again, tmp_path, progress=False)
    assert again.calls == []  # failed runs are left alone by default
    retry = Counter()
    records = run_sweep(SPECS, retry, tmp_path, retry_failed=True, progress=False)
    assert retry.calls == [bad] and records[bad]["status"] == "ok"  # only the failed run is retried


def test_a_torn_last_line_is_skipped_and_redone(tmp_path):
    run_sweep(SPECS[:2], Counter(), tmp_path, progress=False)
    with open(tmp_path / RUNS_FILE, "a") as fh:
        fh.write('{"key": "scene|v0|seed=2|')  # a kill in the middle of a write
    run = Counter()
    with pytest.warns(UserWarning, match="unreadable run record"):
        records = run_sweep(SPECS[:3], run, tmp_path, progress=False)
    assert run.calls == [SPECS[2].key] and len(records) == 3
    with pytest.warns(UserWarning):
        assert set(RunStore(tmp_path).records()) == {s.key for s in SPECS[:3]}


_KILLED_SWEEP = textwrap.dedent("""
    import sys, time
    from drot.eval.sweep import RunSpec, run_sweep
    specs = [RunSpec("s", "v", seed, {}) for seed in range(6)]
    def run(spec):
        with open(sys.argv[2], "a") as fh:
            fh.write(spec.key + "\\n")
        time.sleep(0.15)
        return {"seed": spec.seed}
    run_sweep(specs, run, sys.argv[1], progress=False)
""")


def test_a_killed_sweep_process_resumes(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(_KILLED_SWEEP)
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "out"), str(calls)], env=env)
    log = tmp_path / "out" / RUNS_FILE
    deadline = time.monotonic() + 60
    while not (log.is_file() and len(log.read_text().splitlines()) >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(log.read_text().splitlines())
    assert 2 <= finished < 6
    subprocess.run([sys.executable, str(script), str(tmp_path / "out"), str(calls)], env=env, check=True)
    records = RunStore(tmp_path / "out").records()
    assert sorted(r["seed"] for r in records.values()) == list(range(6))
    started = calls.read_text().split()
    # Finished runs were not redone: each seed ran once, plus at most the one killed mid-run.
    assert len(started) in (6, 7) and len(set(started)) == 6


# ------------------------------------------------------------------------------------ run keys
# Keys of runs in stores written before the run-key rule moved from OptimizeSettings.keyed() to
# drot.eval.run_keys (computed with that code): resuming those stores must find their runs.
OLD_BENCH_KEYS = {"default": "kitty|hybrid|seed=0|20b98c9d3e8d", "flat": "kitty|hybrid|seed=0|69658a57cad0",
                  "one start, a multi-start setting changed": "kitty|hybrid|seed=0|20b98c9d3e8d"}
OLD_TABLE1_KEYS = {"hybrid": "kitty|hybrid|seed=0|3c7da53ea22d", "l2": "kitty|l2|seed=0|f6399ebf0b9c"}


def test_run_keys_are_those_existing_stores_hold():
    import drot
    from drot.eval.bench import NOT_HASHED, bench_config, bench_specs
    from drot.eval.run_keys import ADDED_LATER, NAMED_WHEN_CHANGED, key_settings

    settings = {"default": drot.OptimizeSettings(),
                "flat": drot.OptimizeSettings(lam=0.1, iterations=30, seed=3, record_frames=2),
                "one start, a multi-start setting changed": drot.OptimizeSettings(halving_interval=0.5)}
    for name, s in settings.items():
        spec = bench_specs("kitty", ["hybrid"], [0], bench_config(s, 64, "0123456789ab"))[0]
        assert spec.key == OLD_BENCH_KEYS[name], name
    protocol = table1.Protocol("test", seeds=1, iterations=5, resolution=32, high_resolution=64,
                               variants=("hybrid", "l2", "drot"))
    specs, _ = table1.build_specs(protocol, [_scene("kitty", "KITTY", "vertex_mae", threshold=0.05)])
    keys = {s.variant: s.key for s in specs}
    assert {v: keys[v] for v in OLD_TABLE1_KEYS} == OLD_TABLE1_KEYS
    # Several starts: every setting is named (the rule keyed() had), the multi-start ones included.
    for s in (drot.OptimizeSettings(starts=8), drot.OptimizeSettings(starts=4, keep_fraction=0.25, start_set="random")):
        named = key_settings(s, NOT_HASHED)
        assert named == {k: v for k, v in s.flat().items() if k not in NOT_HASHED and k not in NAMED_WHEN_CHANGED}
        assert set(ADDED_LATER) <= set(named)
    # Settings added later still are named only when changed, with one start or several.
    for starts in (1, 8):
        named = key_settings(drot.OptimizeSettings(starts=starts, jump_interval=0.25, optimizer="vector_adam"), NOT_HASHED)
        assert named["jump_interval"] == 0.25 and named["optimizer"] == "vector_adam"
        assert "appearance_gradients" not in named
    drot_row = table1.run_settings(protocol, table1.VARIANTS_BY_ID["drot"], _scene("kitty", "KITTY", "vertex_mae"))
    assert drot_row.multistart.starts > 1 and keys["drot"] != keys["hybrid"]


# ----------------------------------------------------------------------------- Table 1 writers

def _scene(name, title, metric, found=True, threshold=None):
    thr = threshold if threshold is not None else table1.DEFAULT_THRESHOLDS[metric]
    return table1.SceneEntry(name, title, metric, thr, "default", False, found,
                             note="" if found else "scene not found, skipped")


def test_markdown_and_csv_writers(tmp_path):
    protocol = table1.Protocol("test", seeds=2, iterations=5, resolution=32, high_resolution=64,
                               variants=("hybrid", "lam0.5", "basic", "l2"))
    scenes = [_scene("kitty", "KITTY", "vertex_mae"), _scene("box", "BOX", "psnr"),
              _scene("buddha", "BUDDHA", "vertex_mae", found=False)]
    specs, cells = table1.build_specs(protocol, scenes)
    assert cells[("kitty", "lam0.5")] == cells[("kitty", "basic")]  # identical rows share their runs
    assert len({s.key for s in specs}) == 2 * 3 * 2  # 2 found scenes x 3 distinct configs x 2 seeds
    assert not any(s.scene == "buddha" for s in specs)
    records = {}
    for s in specs:
        if s.variant == "l2" and s.scene == "box" and s.seed == 1:
            records[s.key] = {"key": s.key, "status": "error", "error": "RuntimeError: boom"}
            continue
        if s.variant == "hybrid" and s.scene == "box":
            continue  # not run yet
        mae = {"hybrid": 0.002, "basic": 0.004, "l2": 0.5}[s.variant] * (1 + s.seed)
        records[s.key] = {"key": s.key, "status": "ok", "seed": s.seed, "result": {
            "vertex_mae": mae, "psnr": 40.0 - s.seed, "ssim": 0.9, "rmse": 0.01, "it_per_s": 100.0,
            "metrics": {"psnr": 40.0 - s.seed, "ssim": 0.9, "rmse": 0.01, "dummy": 1.5},
            "curves": {"vertex_mae": [[0.0, 0.5], [1.0, mae]], "psnr": [[0.0, 20.0], [1.0, 40.0]]}}}
    paths = table1.write_outputs(tmp_path, protocol, scenes, specs, cells, records)
    md = (tmp_path / "table1.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("|  | method"))
    assert header.split(" | ")[2:9] == ["KITTY MAE", "KITTY PSNR", "BOX PSNR", "BOX SSIM", "BUDDHA MAE",
                                        "BUDDHA PSNR", "it/s |"]
    hybrid = next(line for line in md.splitlines() if "| hybrid |" in line)
    # Means over the 2 seeds; BOX not run yet; BUDDHA missing.
    assert "| 0.003 | 39.50 | — | — | — | — | 100.0 |" in hybrid
    l2 = next(line for line in md.splitlines() if "| L2, 32² |" in line)
    assert "39.50 | 0.900" not in l2 and "40.00 (1/2 runs)" in l2  # one of the two box runs failed
    assert "λ = 0.5 (= basic)" in md and "(d) strategy" in md and "(e) L2 baselines" in md
    assert "KITTY MAE ≤ 0.01" in md and "| 2/2 |" in md  # success rate with its threshold
    assert "BUDDHA: scene not found, skipped" in md
    assert "1 run(s) failed" in md and "RuntimeError: boom" in md and "run(s) not done yet" in md
    with open(tmp_path / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(records)  # every finished or failed run once, pending ones left out
    first = rows[0]
    assert {"scene", "variant", "seed", "status", "vertex_mae", "psnr", "ssim", "rmse", "dummy", "success",
            "it_per_s", "error", "key", "settings_hash"} <= set(first)
    assert {r["status"] for r in rows} == {"ok", "error"}
    assert (tmp_path / "curves_kitty.png").is_file() and (tmp_path / "curves_box.png").is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["protocol"]["name"] == "test"
    assert {p.name for p in paths} >= {"table1.md", "runs.csv", "summary.json"}


def test_table1_command_runs_resumes_and_applies_registered_metrics(tmp_path, capsys):
    out = tmp_path / "t1"
    argv = ["--quick", "--scenes", "kitty,no_such_scene", "--variants", "hybrid,l2", "--seeds", "1",
            "--iterations", "4", "--resolution", "16", "--high-resolution", "16", "--out", str(out),
            "--no-progress", "--no-curves"]
    seen = []

    def dummy(image, reference):  # a stand-in for LPIPS: any fn(image, reference) -> float
        seen.append(tuple(image.shape))
        return float((image - reference).abs().mean())

    metrics.register_metric("dummy_l1", dummy)
    try:
        assert table1.main(argv) == 0
    finally:
        metrics.unregister_metric("dummy_l1")
    assert seen == [(6, 16, 16, 3)] * 2  # every view, at the evaluation resolution, once per run
    printed = capsys.readouterr().out
    assert "NO_SUCH_SCENE: scene not found, skipped" in printed and "| hybrid |" in printed
    rows = list(csv.DictReader(open(out / "runs.csv")))
    assert [r["variant"] for r in rows] == ["hybrid", "l2"] and all(r["status"] == "ok" for r in rows)
    assert all(float(r["dummy_l1"]) >= 0 for r in rows)
    lines = (out / RUNS_FILE).read_text().splitlines()
    assert table1.main(argv) == 0  # everything already done: nothing runs again
    assert (out / RUNS_FILE).read_text().splitlines() == lines
    assert table1.main(argv[:-1] + ["--no-curves", "--variants", "hybrid,l2,basic"]) == 0
    assert len((out / RUNS_FILE).read_text().splitlines()) == 3  # only the new row ran


def test_metric_registry_hook():
    img = torch.rand(2, 16, 16, 3)
    metrics.register_metric("dummy", lambda a, b: 0.25)
    try:
        with pytest.raises(ValueError, match="already registered"):
            metrics.register_metric("dummy", lambda a, b: 0.5)
        out = metrics.image_metrics(img, img)
        assert out["dummy"] == 0.25 and out["psnr"] == float("inf") and out["ssim"] == pytest.approx(1.0)
        errors = {}
        out = metrics.image_metrics(img, img, extra={"broken": lambda a, b: 1 / 0}, errors=errors)
        assert out["broken"] is None and errors == {"broken": "ZeroDivisionError: division by zero"}
        with pytest.raises(ZeroDivisionError):
            metrics.image_metrics(img, img, extra={"broken": lambda a, b: 1 / 0})
    finally:
        metrics.unregister_metric("dummy")
    assert "dummy" not in metrics.registered_metrics()
    with pytest.raises(ValueError, match="built in"):
        metrics.register_metric("psnr", lambda a, b: 0.0)
    assert metrics.success_rate([20.0, 35.0, 31.0], 30.0, higher_is_better=True) == pytest.approx(2 / 3)
