"""Sweeps on Ray (drot.eval.ray_executor): same results as in-process, workers killed mid-sweep lose
nothing, the driver stays the only writer of the run store. One local Ray instance (loopback only,
2 CPUs) for the module, shut down at the end; skipped when ray is not installed."""
import dataclasses
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from drot.eval import table1
from drot.eval.cli import main as bench_main
from drot.eval.sweep import RUNS_FILE, RunSpec, RunStore, run_sweep

ROOT = Path(__file__).resolve().parents[1]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
SPECS = [RunSpec("scene", "v", seed, {"x": 1}) for seed in range(6)]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    # The test's run functions travel by value (the workers cannot import this test module).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    try:
        yield ray
    finally:
        ray.shutdown()


def _executor(**kw):
    from drot.eval.ray_executor import RayExecutor

    return RayExecutor(workers=2, **kw)


class Logged:
    """A cheap run function that leaves a file per call (calls happen in worker processes), and kills
    its own worker on the ``victim`` run: the first time only (``always=False``), or every time."""

    def __init__(self, folder: Path, victim: str | None = None, always: bool = False, sleep: float = 0.2) -> None:
        self.folder, self.victim, self.always, self.sleep = str(folder), victim, always, sleep

    def __call__(self, spec: RunSpec) -> dict:
        folder = Path(self.folder)
        folder.mkdir(exist_ok=True)
        (folder / f"call-{spec.seed}-{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(self.sleep)
        if spec.key == self.victim:
            marker = folder / f"killed-{spec.seed}-{os.getpid()}"
            if self.always or not any(folder.glob(f"killed-{spec.seed}-*")):
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-run
        return {"value": spec.seed * 10, "pid": os.getpid()}

    def calls(self) -> list[str]:
        return sorted(p.name for p in Path(self.folder).glob("call-*"))


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / RUNS_FILE).read_text().splitlines()]


@needs_ray
def test_workers_import_this_drot_and_results_come_back_in_the_store(tmp_path, local_ray):
    executor = _executor()
    records = run_sweep(SPECS, Logged(tmp_path / "calls"), tmp_path / "sweep", progress=False, executor=executor)
    assert Path(executor.worker_drot) == ROOT / "drot"  # the worktree's drot, not another checkout
    assert [records[s.key]["result"]["value"] for s in SPECS] == [s.seed * 10 for s in SPECS]
    assert sorted(r["key"] for r in _lines(tmp_path / "sweep")) == sorted(s.key for s in SPECS)
    assert all(r["result"]["pid"] != os.getpid() for r in records.values())  # ran on the workers
    assert local_ray.is_initialized()  # an instance started by the caller is left running


@needs_ray
def test_table1_runs_on_ray_equal_the_sequential_ones(tmp_path, local_ray, one_thread):
    protocol = dataclasses.replace(table1.QUICK, seeds=2, iterations=8, resolution=16, high_resolution=32,
                                   variants=("lam0.5", "l2"))
    specs, _ = table1.build_specs(protocol, [table1.scene_entry("kitty")])
    runner = table1.Table1Runner(curve_points=protocol.curve_points)
    seq = run_sweep(specs, runner, tmp_path / "seq", progress=False)
    par = run_sweep(specs, runner, tmp_path / "ray", progress=False, executor=_executor())
    assert set(seq) == set(par) and len(seq) == 4
    for key in seq:
        a, b = seq[key]["result"], par[key]["result"]
        assert seq[key]["status"] == par[key]["status"] == "ok"
        for field in ("vertex_mae", "psnr", "ssim", "rmse", "parameters", "initial_parameters"):
            assert a[field] == b[field], (key, field)


@needs_ray
def test_drot_bench_on_ray_equals_sequential_and_resumes(tmp_path, local_ray, one_thread, capsys):
    argv = ["--scene", "kitty", "--resolution", "16", "--iterations", "6", "--seeds", "2", "--frames", "0",
            "--no-progress", "--no-one-start"]
    assert bench_main([*argv, "--out", str(tmp_path / "seq")]) == 0
    assert bench_main([*argv, "--out", str(tmp_path / "ray"), "--workers", "2"]) == 0
    assert "local Ray instance, 2 workers" in capsys.readouterr().out
    seq, par = (json.loads((tmp_path / d / "results.json").read_text())["runs"] for d in ("seq", "ray"))
    by_key = {r["key"]: r for r in seq}
    assert len(par) == 4 and {r["key"] for r in par} == set(by_key)
    for row in par:
        for field in ("vertex_mae", "psnr", "ssim", "initial_parameters"):
            assert row[field] == by_key[row["key"]][field], (row["key"], field)
        assert all((tmp_path / "ray" / name).is_file() for name in row["files"].values() if name)
    assert bench_main([*argv, "--out", str(tmp_path / "ray"), "--workers", "2"]) == 0
    assert "4 of 4 runs already done (skipped), 0 to run" in capsys.readouterr().out


@needs_ray
def test_a_worker_killed_mid_run_loses_only_that_run_and_rerunning_redoes_nothing(tmp_path, local_ray):
    victim = SPECS[2].key
    run = Logged(tmp_path / "calls", victim=victim)
    records = run_sweep(SPECS, run, tmp_path / "sweep", progress=False, executor=_executor())
    assert any((tmp_path / "calls").glob("killed-2-*"))  # its worker did die
    assert all(records[s.key]["status"] == "ok" for s in SPECS)  # ... and Ray ran it again
    assert len(run.calls()) == len(SPECS) + 1
    stored = _lines(tmp_path / "sweep")
    assert sorted(r["key"] for r in stored) == sorted(s.key for s in SPECS)  # once each
    again = Logged(tmp_path / "calls-again")
    assert run_sweep(SPECS, again, tmp_path / "sweep", progress=False, executor=_executor()) == records
    assert again.calls() == [] and _lines(tmp_path / "sweep") == stored  # nothing redone, nothing lost


@needs_ray
def test_a_run_whose_worker_always_dies_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path, local_ray):
    victim = SPECS[1].key
    records = run_sweep(SPECS, Logged(tmp_path / "calls", victim=victim, always=True), tmp_path / "sweep",
                        progress=False, executor=_executor())
    assert len(list((tmp_path / "calls").glob("killed-1-*"))) == 2  # tried, retried once
    assert records[victim]["status"] == "error" and "WorkerCrashedError" in records[victim]["error"]
    assert all(records[s.key]["status"] == "ok" for s in SPECS if s.key != victim)
    again = Logged(tmp_path / "calls-again")
    run_sweep(SPECS, again, tmp_path / "sweep", progress=False, executor=_executor())
    assert again.calls() == []  # failed runs are left alone ...
    fixed = run_sweep(SPECS, again, tmp_path / "sweep", retry_failed=True, progress=False, executor=_executor())
    assert [p.split("-")[1] for p in again.calls()] == ["1"]  # ... until --retry-failed, which reruns only it
    assert all(r["status"] == "ok" for r in fixed.values()) and len(fixed) == len(SPECS)


@needs_ray
def test_ctrl_c_on_the_driver_keeps_finished_runs_and_cancels_the_rest(tmp_path, local_ray):
    def interrupt(record):
        raise KeyboardInterrupt

    run = Logged(tmp_path / "calls", sleep=0.5)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SPECS, run, tmp_path / "sweep", progress=False, on_record=interrupt, executor=_executor())
    kept = RunStore(tmp_path / "sweep").records()
    assert len(kept) == 1 and len(run.calls()) <= 4  # 4 in flight at most (2 × workers); the rest never started
    rest = Logged(tmp_path / "calls-rest")
    records = run_sweep(SPECS, rest, tmp_path / "sweep", progress=False, executor=_executor())
    assert len(rest.calls()) == len(SPECS) - 1 and all(r["status"] == "ok" for r in records.values())


@needs_ray
def test_killing_a_worker_of_the_table1_command_then_rerunning_it_redoes_nothing(tmp_path, local_ray, capsys):
    out = tmp_path / "t1"
    argv = ["--quick", "--scenes", "kitty", "--variants", "lam0.5,l2", "--seeds", "2", "--iterations", "30",
            "--resolution", "16", "--high-resolution", "32", "--no-curves", "--no-progress", "--out", str(out),
            "--workers", "2"]
    killed: list[int] = []
    stop = threading.Event()

    def kill_one_worker() -> None:  # a busy worker of this test's own Ray instance (raylet's child, ours)
        while not stop.is_set() and not killed:
            for pid in _busy_workers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.01)

    thread = threading.Thread(target=kill_one_worker, daemon=True)
    thread.start()
    try:
        assert table1.main(argv) == 0
    finally:
        stop.set()
        thread.join()
    assert killed, "no worker was caught mid-run"
    stored = _lines(out)
    assert len(stored) == 4 and all(r["status"] == "ok" for r in stored)  # the killed run was run again
    assert table1.main(argv) == 0
    assert _lines(out) == stored  # nothing redone, nothing lost
    assert "| KITTY" in capsys.readouterr().out or (out / "table1.md").is_file()


def _busy_workers() -> list[int]:
    """Ray workers running a task (process title ``ray::_task``) whose grandparent is this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            if not title.startswith(b"ray::_task"):
                continue
            parent = _ppid(int(entry.name))
            if parent and _ppid(parent) == os.getpid():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_asking_for_ray_without_it_names_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert table1.main(["--quick", "--scenes", "kitty", "--workers", "2", "--out", str(tmp_path / "t")]) == 2
    assert 'pip install "drot[distributed]"' in capsys.readouterr().err
    assert bench_main(["--scene", "kitty", "--ray-address", "auto", "--out", str(tmp_path / "b")]) == 2
    assert 'pip install "drot[distributed]"' in capsys.readouterr().err
    assert not (tmp_path / "t").exists() and not (tmp_path / "b" / RUNS_FILE).exists()


@pytest.mark.parametrize("flags", [["--workers", "0"], ["--workers", "-3"], ["--ray-address", " "]])
def test_bad_executor_flags_are_refused(tmp_path, capsys, flags):
    assert table1.main(["--quick", "--scenes", "kitty", *flags, "--out", str(tmp_path / "t")]) == 2
    assert bench_main(["--scene", "kitty", *flags, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count(flags[0]) == 2, err


def test_one_worker_is_the_sequential_path(tmp_path, monkeypatch):
    from drot.eval.executor_flags import executor_from_args
    from drot.eval.executors import SequentialExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # no Ray needed for it
    for executor in (executor_from_args(None, None), executor_from_args(1, None)):
        assert isinstance(executor, SequentialExecutor) and executor.in_process
        assert executor.describe() == "in this process"
