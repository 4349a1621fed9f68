"""The results folder of ``drot-bench``: checked before any work, written run by run.

What drot-bench writes there (and all that ``--fresh`` removes)::

    runs.jsonl                      the run store (drot.eval.sweep): one line per finished run,
                                    appended and fsync'd as the run finishes
    strip_<method>_seed<N>.png      start / target / result per view, written as the run finishes
    animation_<method>_seed<N>.gif  the run's animation (with --frames > 0), likewise
    results.json, results.csv,      rewritten from the store after every run and on Ctrl-C:
    history.csv                     only the runs of the current command line are in them
    error_vs_iteration.png          likewise, at the end and on Ctrl-C

Rerunning a command into the same folder resumes it: runs already in the store are skipped (a
changed setting changes a run's key, so that run is done again). Strips and GIFs that belong to no
finished run in the store (a run interrupted while writing them) are removed when the results are
written; those of finished runs of earlier commands (other seeds or methods) are kept and named on
the command's output (``--fresh`` removes them); the results files list the current runs only. A
stored run whose strip or GIF is gone is done again (:func:`missing_files`).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import report
from .sweep import RUNS_FILE

#: Files of the whole benchmark, rewritten from the store.
RESULT_FILES = ("results.json", "results.csv", "history.csv", "error_vs_iteration.png")
#: A run's own files (the method is a strategy name, the seed an integer).
RUN_FILE = re.compile(r"strip_.+_seed\d+\.png|animation_.+_seed\d+\.gif")


def check_out_dir(path: str | os.PathLike) -> Path:
    """The results folder, created and known writable, else ValueError naming it.

    The check is real (a probe file is created and removed), so it also holds for root, which
    permissions do not stop.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path}: exists and is not a folder; give a new folder or one of earlier results")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".drot-bench-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = exc.strerror or str(exc)
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            why += f" ({blocker} is a file)"
        elif exc.filename and os.fspath(exc.filename) != os.fspath(path):
            why += f" ({exc.filename})"
        raise ValueError(f"--out {path}: cannot create or write to this folder: {why}") from exc
    return path


def previous_files(out_dir: Path) -> list[Path]:
    """The files of earlier drot-bench commands in ``out_dir`` (what ``--fresh`` removes)."""
    names = {RUNS_FILE, *RESULT_FILES}
    return sorted(p for p in out_dir.iterdir() if p.is_file() and (p.name in names or RUN_FILE.fullmatch(p.name)))


def remove_files(paths: Iterable[Path]) -> list[Path]:
    """Remove files (those already gone are skipped); returns the ones removed."""
    removed = []
    for p in paths:
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def remove_stale_run_files(out_dir: Path, current: Iterable[str]) -> list[Path]:
    """Remove the strips and GIFs in ``out_dir`` whose names are not in ``current`` (the files of
    every finished run in the store, and of runs in flight)."""
    keep = set(current)
    return remove_files(p for p in out_dir.iterdir() if RUN_FILE.fullmatch(p.name) and p.name not in keep)


def run_file_names(method: str, seed: int) -> tuple[str, str]:
    """The names of a run's strip and GIF (whether or not they exist yet); ``hybrid@1`` is
    ``hybrid-1start`` in them."""
    strategy, sep, starts = method.partition("@")
    method = f"{strategy}-{starts}start" if sep else method
    return f"strip_{method}_seed{seed}.png", f"animation_{method}_seed{seed}.gif"


def run_files(row: Mapping[str, Any]) -> list[str]:
    """The file names a run's row lists (its strip, and its GIF if any)."""
    return [name for name in (row.get("files") or {}).values() if name]


def missing_files(out_dir: Path, record: Mapping[str, Any]) -> bool:
    """Whether a finished run's strip or GIF is no longer in ``out_dir`` (the run is then done again)."""
    return record.get("status") == "ok" and any(not (out_dir / n).is_file() for n in run_files(record.get("result", {})))


def write_run_images(out_dir: Path, method: str, seed: int, res: Any, label: str, animate: bool) -> dict[str, Any]:
    """Write one run's strip (the declared seeded start 0 — the same for every method of a seed —
    / target / result per view) and, when ``animate`` and the run recorded frames, its GIF; returns ``{"strip": name, "animation": name or None}``."""
    # Small renders are enlarged (nearest neighbour) so that strips stay legible.
    zoom = max(1, 128 // res.final_images.shape[2])
    big = lambda img: img.repeat_interleave(zoom, 0).repeat_interleave(zoom, 1)  # noqa: E731
    rows = [[big(res.initial_images[v]), big(res.target_images[v]), big(res.final_images[v])]
            for v in range(res.final_images.shape[0])]
    strip_name, gif_name = run_file_names(method, seed)
    strip = report.save_strip(Path(out_dir) / strip_name, rows, ["seeded start", "target", label])
    gif = None
    if animate and res.frames:
        gif = report.save_animation(Path(out_dir) / gif_name, [big(f) for f in res.frames], fps=12)
    return {"strip": strip.name, "animation": None if gif is None else gif.name}
