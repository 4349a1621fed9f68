"""Where a sweep's runs execute: :class:`SequentialExecutor` (in this process, one after another).

:func:`drot.eval.sweep.run_sweep` hands its runs to an executor and stores each :class:`Outcome` as it
comes back; the executor never touches the run store, so the driver process stays its only writer
whatever runs the runs. An executor is a context manager with one method::

    with executor:
        for outcome in executor.outcomes(run, specs, on_start=...):   # in completion order
            ...

and two attributes for the command's output: ``in_process`` (runs here, one after another) and
``describe()`` (one line on where the runs ran).

* :class:`SequentialExecutor` runs them here, in order (today's behaviour; the default).
* :class:`drot.eval.ray_executor.RayExecutor` runs each as a Ray task, on a local Ray instance or a
  cluster (``pip install "drot[distributed]"``).

:mod:`drot.eval.executor_flags` turns ``--workers`` / ``--ray-address`` into one of them.

A run that raises gives an outcome with ``error`` set (and the sweep goes on); ``KeyboardInterrupt``
and ``SystemExit`` propagate (the executor cancels what is still pending on its way out).
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

__all__ = ["Outcome", "SequentialExecutor", "run_one", "error_summary"]


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

    in_process = True

    def describe(self) -> str:
        return "in this process"

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
