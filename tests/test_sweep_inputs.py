"""Sweeps and the run store under hostile input: a line torn by SIGKILL mid-append, malformed lines
(named by line number, skipped, redone), table1.py's --out checked before the first run (an existing
file, a folder that cannot be created), and a --ray-address where nothing listens refused in seconds."""
import re
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from drot.eval import table1
from drot.eval.cli import main as bench_main
from drot.eval.sweep import RUNS_FILE, RunSpec, RunStore, run_sweep

SPECS = [RunSpec("s", "v", seed, {}) for seed in range(3)]

# The third append writes half its line, then the process SIGKILLs itself: a kill mid-append.
_KILLED_MID_APPEND = textwrap.dedent("""
    import os, signal, sys
    import drot.eval.sweep as sweep
    from drot.eval.sweep import RunSpec, run_sweep
    appends = []
    class _Torn:
        def __init__(self, fh): self.fh = fh
        def __enter__(self): self.fh.__enter__(); return self
        def __exit__(self, *a): return self.fh.__exit__(*a)
        def __getattr__(self, name): return getattr(self.fh, name)
        def write(self, data):
            if len(appends) == 3 and data != b"\\n":
                self.fh.write(data[: len(data) // 2]); self.fh.flush(); os.fsync(self.fh.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            return self.fh.write(data)
    def _open(path, mode="r", *a, **k):
        if "b" in mode:
            appends.append(path)
            return _Torn(open(path, mode, *a, **k))
        return open(path, mode, *a, **k)
    sweep.open = _open
    run_sweep([RunSpec("s", "v", seed, {}) for seed in range(3)], lambda spec: {"seed": spec.seed},
              sys.argv[1], progress=False)
""")


def test_a_line_torn_by_sigkill_mid_append_is_named_skipped_and_redone(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_MID_APPEND)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == -signal.SIGKILL
    log = tmp_path / "out" / RUNS_FILE
    lines = log.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[2] and not lines[2].endswith(b"}")  # two whole records, one torn
    ran = []
    with pytest.warns(UserWarning, match=rf"{RUNS_FILE}:3: unreadable run record skipped"):
        records = run_sweep(SPECS, lambda spec: ran.append(spec.seed) or {"seed": spec.seed}, tmp_path / "out",
                            progress=False)
    assert ran == [2] and sorted(r["seed"] for r in records.values()) == [0, 1, 2]
    with pytest.warns(UserWarning, match=":3:"):  # the torn line stays (nothing deleted); the redo follows it
        assert set(RunStore(tmp_path / "out").records()) == {s.key for s in SPECS}


@pytest.mark.parametrize("line, why", [('{"status": "ok", "result": {}}', "no string 'key'"),
                                       ('["a", "list"]', "a JSON list, not an object"),
                                       (f'{{"key": "{SPECS[1].key}", "status": "done"}}', "'status' is 'done'"),
                                       (f'{{"key": "{SPECS[1].key}", "status": "ok"}}', "an 'ok' record without a 'result' object")])
def test_a_malformed_run_record_is_named_by_line_and_redone(tmp_path, line, why):
    run_sweep(SPECS[:1], lambda spec: {"seed": spec.seed}, tmp_path, progress=False)
    with open(tmp_path / RUNS_FILE, "a") as fh:
        fh.write(line + "\n")
    ran = []
    with pytest.warns(UserWarning, match=re.escape(f"{RUNS_FILE}:2: run record skipped ({why}")):
        run_sweep(SPECS[:2], lambda spec: ran.append(spec.seed) or {"seed": spec.seed}, tmp_path, progress=False)
    assert ran == [1]


def test_table1_out_on_an_existing_file_is_refused_before_any_run(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    t0 = time.perf_counter()
    assert table1.main(["--quick", "--scenes", "kitty", "--variants", "l2", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"table1: error: --out {target}: is an existing file, not a folder" in err
    assert time.perf_counter() - t0 < 10 and target.read_text() == "my notes"


def test_table1_out_that_cannot_be_created_is_refused_before_any_run(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "sub"
    assert table1.main(["--quick", "--scenes", "kitty", "--variants", "l2", "--out", str(out)]) == 2
    assert f"--out {out}: cannot be created, {tmp_path / 'file'} is a file" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"


def test_run_sweep_refuses_an_unusable_folder_before_running(tmp_path):
    (tmp_path / "f").write_text("x")
    ran = []
    with pytest.raises(ValueError, match="is an existing file, not a folder"):
        run_sweep(SPECS, lambda spec: ran.append(spec) or {}, tmp_path / "f", progress=False)
    assert ran == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_address_where_nothing_listens_is_refused_in_seconds(tmp_path, capsys):
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    assert table1.main(["--quick", "--scenes", "kitty", "--ray-address", address, "--out", str(tmp_path / "t")]) == 2
    assert bench_main(["--scene", "kitty", "--ray-address", f"ray://{address}", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count(f"no Ray cluster answers at {address}") == 2, err
    assert time.perf_counter() - t0 < 15 and not (tmp_path / "t").exists()


def test_a_malformed_ray_address_is_named(tmp_path, capsys):
    pytest.importorskip("ray")
    assert table1.main(["--quick", "--scenes", "kitty", "--ray-address", "head-node", "--out", str(tmp_path)]) == 2
    assert "--ray-address 'head-node': give 'auto', HOST:PORT" in capsys.readouterr().err
