"""Sweeps that lose nothing: many runs, each kept on disk as soon as it finishes.

A sweep is a list of :class:`RunSpec` (scene, method variant, seed and a JSON-able ``config``)
and a run function. :func:`run_sweep` appends one JSON line per finished run to
``<folder>/runs.jsonl`` (written, flushed and fsync'd before the next run starts), so:

* stopped by Ctrl-C or killed, and started again on the same folder, it skips every run already
  recorded and runs the rest (a line torn by a kill mid-write is ignored, and that run redone);
* a run that raises is recorded with ``status = "error"``, its message and a traceback summary,
  and the sweep goes on; a later sweep leaves it alone unless ``retry_failed=True``;
* ``redo(record)`` may ask for a recorded run to be done again (``drot-bench`` redoes a run whose
  strip or GIF is no longer on disk).

A run is identified by its key, ``scene|variant|seed=N|<settings hash>``, where the hash covers the
whole ``config``: change a setting and the run is new, keep it and the recorded result is reused.

Example::

    specs = [RunSpec("kitty", "hybrid", s, {"iterations": 300}) for s in range(10)]
    records = run_sweep(specs, my_run, "results/")   # my_run(spec) -> dict of figures
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..report import to_jsonable as _jsonable
from .executors import Outcome, SequentialExecutor, error_summary

__all__ = ["RunSpec", "RunStore", "run_sweep", "failed", "settings_hash", "RUNS_FILE"]

#: File name of the run log inside a sweep folder.
RUNS_FILE = "runs.jsonl"


def settings_hash(config: Any) -> str:
    """A short, stable hash (12 hex digits) of a JSON-able configuration (key order ignored)."""
    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a sweep.

    Attributes:
        scene: scene name.
        variant: method variant label (e.g. ``"λ=0.1"``).
        seed: random start.
        config: everything else the run function needs (JSON-able: numbers, strings, lists, dicts);
            hashed into the key.
    """

    scene: str
    variant: str
    seed: int
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def settings_hash(self) -> str:
        return settings_hash(self.config)

    @property
    def key(self) -> str:
        """``scene|variant|seed=N|hash``: what identifies a finished run in the run log."""
        return f"{self.scene}|{self.variant}|seed={self.seed}|{self.settings_hash}"


class RunStore:
    """The run log of a sweep: an append-only JSON-lines file, one record per finished run.

    Records are dicts with at least ``key`` and ``status`` (``"ok"`` or ``"error"``). When a key
    appears several times (a retried run) the last record wins.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        path = Path(path)
        self.path = path / RUNS_FILE if path.is_dir() or path.suffix != ".jsonl" else path

    def check_writable(self, flag: str = "the sweep folder") -> None:
        """Refuse, before any run, a store that could not keep its first result: the folder is an
        existing file, sits under a file, or is not writable; ``runs.jsonl`` is not a writable file.
        ``flag`` names the folder in the message (e.g. ``"--out"``). Creates nothing."""
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{flag} {folder}: is an existing file, not a folder; give a folder (new or a "
                             f"sweep's) — the file is left as it is")
        existing = folder
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"{flag} {folder}: cannot be created, {existing} is a file")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"{flag} {folder}: cannot write there ({existing} is not writable)")
        if self.path.exists() and (not self.path.is_file() or not os.access(self.path, os.W_OK)):
            raise ValueError(f"{flag} {folder}: its run log {self.path.name} is not a writable file")

    def records(self) -> dict[str, dict[str, Any]]:
        """Every recorded run, by key (last record wins). Unreadable lines — a line torn by a
        kill mid-write, a line that is not a run record (no string ``key``, ``status`` neither
        ``"ok"`` nor ``"error"``, an ``"ok"`` one without its ``result``) — are skipped with a
        warning naming the file and line; those runs are redone."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return out
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}:{number}: unreadable run record skipped (not JSON: an interrupted "
                                  f"write?); that run will be redone", stacklevel=2)
                    continue
                problem = _record_problem(rec)
                if problem:
                    warnings.warn(f"{self.path}:{number}: run record skipped ({problem}); that run will be redone",
                                  stacklevel=2)
                    continue
                out[rec["key"]] = rec
        return out

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record and make it durable (flush + fsync) before returning."""
        if "key" not in record or "status" not in record:
            raise ValueError("a run record needs 'key' and 'status'")
        line = json.dumps(_jsonable(record), allow_nan=False, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            # A kill in the middle of a write leaves a torn last line: start a fresh line after it.
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.encode("utf-8") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())


def _record_problem(rec: Any) -> str | None:
    """What makes a parsed line not a run record, or None."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    if not isinstance(rec.get("key"), str):
        return "no string 'key'"
    if rec.get("status") not in ("ok", "error"):
        return f"'status' is {rec.get('status')!r}, not 'ok' or 'error'"
    if rec["status"] == "ok" and not isinstance(rec.get("result"), dict):
        return "an 'ok' record without a 'result' object"
    return None


#: Kept for callers of the old private name.
_error_summary = error_summary


def run_sweep(specs: Sequence[RunSpec], run: Callable[[RunSpec], Mapping[str, Any]],
              folder: str | os.PathLike, retry_failed: bool = False, progress: bool = True,
              on_record: Callable[[dict[str, Any]], None] | None = None,
              redo: Callable[[dict[str, Any]], bool] | None = None,
              executor: Any = None) -> dict[str, dict[str, Any]]:
    """Run every spec not yet recorded in ``folder``, recording each as soon as it finishes.

    Args:
        specs: the runs (duplicate keys are run once).
        run: ``run(spec) -> dict`` of results (JSON-able); stored under ``"result"``.
        folder: the sweep folder (created); its ``runs.jsonl`` is the run log.
        retry_failed: also rerun the specs whose recorded status is ``"error"``.
        progress: a tqdm bar over the whole sweep (runs already recorded count as done).
        on_record: called with each new record after it is stored.
        redo: also rerun the recorded specs whose record it returns true for.
        executor: where the runs execute (see :mod:`drot.eval.executors`): a ``SequentialExecutor``
            (in this process, one after another: the default when not given), or e.g. a
            :class:`drot.eval.ray_executor.RayExecutor`. Results
            are stored here, by this process, in the order they finish.

    Returns:
        key -> record for every spec that has one (including runs from earlier sweeps).

    ``KeyboardInterrupt`` (and ``SystemExit``) stop the sweep at once: the run in progress is
    lost (with an executor running several, every pending one is cancelled), every finished one is
    already on disk. Any other exception of a run is recorded as a failed run, and so is a run whose
    worker died (after the executor's retry).
    """
    store = RunStore(Path(folder))
    store.check_writable()  # before any run: a result that cannot be stored would be lost
    done = store.records()
    unique: dict[str, RunSpec] = {}
    for spec in specs:
        unique.setdefault(spec.key, spec)
    todo = [s for k, s in unique.items()
            if k not in done or (retry_failed and done[k].get("status") != "ok")
            or (redo is not None and redo(done[k]))]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(unique), initial=len(unique) - len(todo), desc="sweep", unit="run",
                   dynamic_ncols=True, disable=None)

    def on_start(spec: RunSpec) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{spec.scene} {spec.variant} seed {spec.seed}")

    executor = SequentialExecutor() if executor is None else executor
    try:
        with executor:
            for outcome in executor.outcomes(run, todo, on_start=on_start):
                record = _record(outcome)
                store.append(record)  # durable before the next outcome is looked at
                done[record["key"]] = record
                if on_record is not None:
                    on_record(record)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return {k: done[k] for k in unique if k in done}


def _record(outcome: Outcome) -> dict[str, Any]:
    """The run log's record of one outcome."""
    spec = outcome.spec
    record: dict[str, Any] = {"key": spec.key, "scene": spec.scene, "variant": spec.variant, "seed": spec.seed,
                              "settings_hash": spec.settings_hash, "config": dict(spec.config)}
    if outcome.ok:
        record.update(status="ok", result=dict(outcome.result or {}))
    else:
        record.update(status="error", error=outcome.error, traceback=outcome.traceback)
    record.update(seconds=outcome.seconds, finished=datetime.datetime.now().isoformat(timespec="seconds"))
    return record


def failed(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records of runs that raised."""
    return [r for r in records if r.get("status") != "ok"]
