"""Every example: ``--help`` only prints (fast, writes nothing), and ``--quick`` runs in seconds
without drot warning about drot's own settings."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NEEDS = {"smpl_pose.py": "smplx"}  # an optional extra


def _run(example: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "error::UserWarning"}
    return subprocess.run([sys.executable, str(example), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_help_only_prints(example, tmp_path):
    done = _run(example, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and "--quick" in done.stdout and "--threads" in done.stdout
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_quick_runs(example, tmp_path):
    if example.name in NEEDS:
        pytest.importorskip(NEEDS[example.name])
    writes = "--out" in _run(example, "--help", cwd=tmp_path).stdout
    out = ["--out", str(tmp_path / "out")] if writes else []
    done = _run(example, "--quick", *out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "is ignored" not in done.stderr, done.stderr
