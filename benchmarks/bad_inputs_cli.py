"""Bad command lines for ``benchmarks/bad_inputs.py`` (area ``cli``): ``drot-bench`` and
``benchmarks/table1.py``. A command that exits 2 with a message counts as that message raised as a
ValueError; one that runs (exit 0) where it should refuse is ``wrong``; anything else is a crash."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from bad_inputs import Case

from drot.eval.cli import main as bench_main
from drot.eval.table1 import main as table1_main

TINY = ["--scene", "kitty", "--iterations", "2", "--seeds", "1", "--resolution", "16", "--frames", "0",
        "--no-progress", "--methods", "standard"]


def command(main, *args, out: bool = True):
    def fn(tmp: Path):
        argv = [a.replace("$TMP", str(tmp)) for a in args]
        if out and "--out" not in argv:
            argv += ["--out", str(tmp / "out")]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own refusals
                code = exc.code
        if code == 2:
            raise ValueError(err.getvalue().strip() or "(exit 2 without a message)")
        if code not in (0, None):
            raise RuntimeError(f"exit {code}: {err.getvalue().strip()}")
        return code
    return fn


def existing_file(tmp: Path) -> str:
    (tmp / "f.txt").write_text("x")
    return str(tmp / "f.txt")


def bench(*args):
    return command(bench_main, *TINY, *args)


def out_is_file(tmp: Path):
    return command(bench_main, *TINY, "--out", existing_file(tmp))(tmp)


def out_under_file(tmp: Path):
    return command(bench_main, *TINY, "--out", existing_file(tmp) + "/sub")(tmp)


C = "cli"
CASES = [
    Case("drot-bench resolution 8", C, bench("--resolution", "8"), ("--resolution", "8")),
    Case("drot-bench zero seeds", C, bench("--seeds", "0"), ("--seeds", "0")),
    Case("drot-bench negative first seed", C, bench("--first-seed", "-1"), ("--first-seed", "-1")),
    Case("drot-bench zero iterations", C, bench("--iterations", "0"), ("--iterations", "0")),
    Case("drot-bench lam 2", C, bench("--lam", "2"), ("--lam", "2")),
    Case("drot-bench infinite blur", C, bench("--blur", "inf"), ("--blur", "inf")),
    Case("drot-bench negative K", C, bench("--K", "-1"), ("--K", "-1")),
    Case("drot-bench hybrid fraction 1.5", C, bench("--hybrid-fraction", "1.5"), ("--hybrid-fraction", "1.5")),
    Case("drot-bench negative lr", C, bench("--lr", "-0.1"), ("--lr", "-0.1")),
    Case("drot-bench lr decay 0", C, bench("--lr-decay", "0"), ("--lr-decay", "0")),
    Case("drot-bench negative frames", C, bench("--frames", "-3"), ("--frames", "-3")),
    Case("drot-bench max points 1", C, bench("--max-points", "1"), ("--max-points", "1")),
    Case("drot-bench unknown method", C, bench("--methods", "hybrid,fancy"), ("fancy", "hybrid")),
    Case("drot-bench unknown matcher", C, bench("--matcher", "raft"), ("--matcher", "raft")),
    Case("drot-bench unknown scene", C, command(bench_main, "--scene", "dragon"), "dragon"),
    Case("drot-bench scene file with a typo", C, lambda tmp: command(bench_main, "--scene", _typo(tmp))(tmp),
         ("resolutoin", "did you mean 'resolution'")),
    Case("drot-bench --out is a file", C, out_is_file, ("--out", "f.txt", "not a folder")),
    Case("drot-bench --out under a file", C, out_under_file, ("--out", "f.txt/sub")),
    Case("drot-bench cuda without CUDA", C, bench("--device", "cuda"), ("cuda", "CUDA")),
    Case("drot-bench unknown protocol", C, bench("--protocol", "siggraph"), ("--protocol", "siggraph")),
    Case("table1 unknown variant", C, command(table1_main, "--quick", "--variants", "hybrid,nope", "--list",
                                              out=False), "nope"),
    Case("table1 resolution 4", C, command(table1_main, "--quick", "--resolution", "4", "--list", out=False),
         ("resolution", "4")),
]


def _typo(tmp: Path) -> str:
    root = Path(__file__).resolve().parents[1]
    path = tmp / "typo.toml"
    path.write_text((root / "scenes" / "kitty.toml").read_text().replace("resolution = 128", "resolutoin = 128"))
    return str(path)
