"""Where a sweep's runs execute: :class:`SequentialExecutor` (in this process, one after another).

:func:`drot.eval.sweep.run_sweep` hands its runs to an executor and stores each :class:`Outcome` as it
comes back; the executor never touches the run store, so the driver process stays its only writer
whatever runs the runs. An executor is a context manager with one method::

    with executor:
        for outcome in executor.outcomes(run, specs, on_start=...):   # in completion order
            ...

* :class:`SequentialExecutor` runs them here, in order (today's behaviour; the default).
* :class:`drot.eval.ray_executor.RayExecutor` runs each as a Ray task, on a local Ray instance or a
  cluster (``pip install "drot[distributed]"``).

A run that raises gives an outcome with ``error`` set (and the sweep goes on); ``KeyboardInterrupt``
and ``SystemExit`` propagate (the executor cancels what is still pending on its way out).
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

__all__ = ["Outcome", "SequentialExecutor", "run_one", "error_summary", "add_executor_arguments", "executor_from_args",
           "describe_executor"]


@dataclasses.dataclass
class Outcome:
    """What came back from one run: its result, or the error it ended with.

    Attributes:
        spec: the run (a :class:`~drot.eval.sweep.RunSpec`).
        result: ``run(spec)`` as a dict, or None when the run failed.
        error: ``"ExceptionType: message"`` when the run failed.
        traceback: a short traceback summary of the failure.
        seconds: how long the run took (where it ran).
    """

    spec: Any
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def error_summary(exc: BaseException, frames: int = 6) -> str:
    """The last ``frames`` stack frames and the exception line, as text."""
    tb = traceback.extract_tb(exc.__traceback__)[-frames:]
    lines = [f"{Path(f.filename).name}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in tb]
    return "\n".join(lines + [f"{type(exc).__name__}: {exc}"])


def run_one(run: Callable[[Any], Mapping[str, Any]], spec: Any) -> Outcome:
    """Run ``run(spec)``, timed; an exception (not KeyboardInterrupt / SystemExit) becomes a failed outcome."""
    t0 = time.perf_counter()
    try:
        result = dict(run(spec))
    except Exception as exc:  # a crashed run is recorded; the sweep goes on
        return Outcome(spec, error=f"{type(exc).__name__}: {exc}", traceback=error_summary(exc),
                       seconds=time.perf_counter() - t0)
    return Outcome(spec, result=result, seconds=time.perf_counter() - t0)


class SequentialExecutor:
    """Every run in this process, one after another, in the order given (what ``run_sweep`` always did)."""

    def __enter__(self) -> "SequentialExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def outcomes(self, run: Callable[[Any], Mapping[str, Any]], specs: Sequence[Any],
                 on_start: Callable[[Any], None] | None = None) -> Iterator[Outcome]:
        for spec in specs:
            if on_start is not None:
                on_start(spec)
            yield run_one(run, spec)


def add_executor_arguments(parser: Any) -> None:
    """``--workers`` and ``--ray-address``, as ``drot-bench`` and ``benchmarks/table1.py`` take them."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run N runs at a time as tasks of a local Ray instance (pip install \"drot[distributed]\"); "
                             "1 or absent: in this process, one after another")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="run the runs on an existing Ray cluster ('auto', HOST:PORT or ray://HOST:10001); "
                             "this command stays the only writer of the results folder")


def executor_from_args(workers: int | None, address: str | None, device: str = "cpu") -> Any:
    """The executor the flags ask for: None (sequential, in this process) or a Ray executor.

    ValueError for ``--workers`` < 1; :class:`~drot.eval.ray_executor.RayUnavailable` (an ImportError
    with the install command) when Ray is asked for but not installed."""
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be an integer >= 1 (1: in this process, one run after another)")
    if address is not None and not address.strip():
        raise ValueError("--ray-address '': give 'auto', HOST:PORT or ray://HOST:10001")
    if address is None and (workers is None or workers == 1):
        return None
    from .ray_executor import RayExecutor

    return RayExecutor(workers=workers, address=address, device=device)


def describe_executor(executor: Any) -> str:
    """One line on where the runs ran, for the command's output."""
    if executor is None or not hasattr(executor, "worker_drot"):
        return "in this process"
    where = f"Ray cluster {executor.address}" if executor.address else f"local Ray instance, {executor.workers} workers"
    if executor.worker_drot is None:
        return f"{where} (not started: nothing to run)"
    return f"{where}; workers imported drot from {executor.worker_drot}"
