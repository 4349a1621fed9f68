"""benchmarks/gpu_check.sh --dry-run: every step of the GPU check that a CPU can run, at tiny sizes."""
import os
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
STEPS = ["env", "install", "build", "backends", "pytest", "device_speed", "bench", "multistart", "targets"]


def run_check(*args, timeout=330):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHON": sys.executable})


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")
def test_dry_run_runs_every_step_and_writes_the_summary(tmp_path):
    out = tmp_path / "gpu-check"
    bundle = tmp_path / "bundle"
    run = run_check("--dry-run", "--out", str(out), "--budget", "270", "--bundle", str(bundle))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    rows = dict(re.findall(r"^\| (\w+) \| ([^|]+?) \| [\d.]+ \|", summary, flags=re.M))
    assert list(rows) == STEPS, summary
    assert all(status in ("ok", "skipped") for status in rows.values()), summary
    assert rows["multistart"] == "ok", summary  # benchmarks/multistart_speed.py, tiny sizes in a dry run
    multistart = json.loads((out / "multistart.json").read_text())
    assert [r["starts"] for r in multistart["rows"]] == [1, 2] and multistart["rows"][1]["batched_s"] > 0
    assert "## Targets" in summary and "CUDA op parity" in summary
    for step in STEPS:
        assert (out / f"{step}.log").is_file(), step
    assert (out / "device_speed.json").is_file() and (out / "pytest.xml").is_file()
    assert (out / "kitty" / "results.json").is_file()
    assert "## Targets" in run.stdout  # the summary is printed at the end
    assert sorted(p.name for p in bundle.iterdir()) == ["gpu-check.tar.gz", "summary.md"]


def test_bad_arguments_and_a_used_folder_are_refused_before_any_work(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    assert run_check("--budget", "soon", timeout=30).returncode == 2
    assert run_check("--frobnicate", timeout=30).returncode == 2
    (tmp_path / "old.log").write_text("earlier run")
    run = run_check("--dry-run", "--out", str(tmp_path), timeout=30)
    assert run.returncode == 2 and "not empty" in run.stderr
