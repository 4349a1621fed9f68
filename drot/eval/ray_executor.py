"""Sweeps on Ray: each run a Ray task, on a local Ray instance or an existing cluster.

``pip install "drot[distributed]"`` installs Ray. The command lines take ``--workers N`` (a local Ray
instance with N CPUs; 1 or absent: in this process, one run after another, as without Ray) and
``--ray-address ADDRESS`` (an existing cluster; ``auto`` finds the one this node belongs to)::

    OMP_NUM_THREADS=1 python benchmarks/table1.py --quick --workers 2
    drot-bench --scene kitty --seeds 10 --workers 4

How it runs:

* every run is a task with ``num_cpus=1`` and ``torch.set_num_threads(1)`` on CPU (``--device cpu``),
  ``num_gpus=1`` with ``--device cuda``; at most ``2 × workers`` tasks are submitted at a time
  (every run at once on a cluster without ``--workers``);
* the run function (Table 1's :class:`~drot.eval.table1.runner.Table1Runner`, drot-bench's
  :class:`~drot.eval.bench.BenchRunner`) is shipped to the workers once (``ray.put``); each result
  comes back to the driver, which appends it to ``runs.jsonl`` (and fsyncs) as it arrives
  (``ray.wait``, completion order). Workers never write the run store, so resuming,
  ``--retry-failed`` and the failed-run records are exactly those of a sequential sweep;
* a run that raises is recorded as failed (its error and traceback), as in this process;
* a worker that dies mid-run (killed, out of memory, its node lost) loses that run only: Ray
  runs it again once (``max_retries=1``), and if it dies again it is recorded as failed
  (``WorkerCrashedError: ...``) and the sweep goes on (``--retry-failed`` reruns it later);
* Ctrl-C on the driver: the finished runs are already stored, the pending tasks are cancelled
  (the running ones killed), and the command exits as without Ray (code 130).

On a cluster (drot, the same version, and its scene files installed on every node: each worker
loads the scenes and imports drot itself):

.. code-block:: console

    head$   ray start --head --port=6379                  # prints the address to give the others
    other$  ray start --address=HEAD_IP:6379              # each other node (GPU nodes report their GPUs)
    head$   OMP_NUM_THREADS=1 python benchmarks/table1.py --quick --ray-address auto --out results/
    head$   python benchmarks/table1.py --device cuda --ray-address auto   # one GPU per run

The driver (the command) is the only writer of ``--out``: run it on a node whose disk keeps that
folder; the same command again resumes. ``--workers N`` with ``--ray-address`` caps the runs in
flight at 2N. The command prints where the workers import drot from; check it is the version you mean.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from .executors import Outcome, run_one
from .ray_address import check_ray_address

__all__ = ["RayExecutor", "RayUnavailable", "require_ray", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "drot[distributed]"'


class RayUnavailable(ImportError):
    """Ray was asked for (``--workers N`` > 1 or ``--ray-address``) but is not installed."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"running runs on Ray (--workers > 1 or --ray-address) needs the 'ray' package, "
                             f"which is not installed ({exc}); install it with: {INSTALL_HINT}") from None
    return ray


def _task(run: Callable[[Any], Mapping[str, Any]], spec: Any, cpu: bool) -> Outcome:
    """Body of a run's Ray task: one thread for torch on CPU, then the run as in the driver."""
    if cpu:
        import torch

        torch.set_num_threads(1)
    return run_one(run, spec)


def _drot_location() -> str:
    import drot

    return str(Path(drot.__file__).resolve().parent)


def _crash_outcome(spec: Any, exc: BaseException) -> Outcome:
    """A failed outcome for a task Ray could not finish (its worker died twice, its node was lost...)."""
    import ray.exceptions as rex

    died = (rex.WorkerCrashedError, rex.NodeDiedError, rex.OutOfMemoryError, rex.RayActorError)
    why = "the run's worker died, and again when retried" if isinstance(exc, died) else "Ray could not run it"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return Outcome(spec, error=f"{type(exc).__name__}: {first} ({why})", traceback=text[-2000:])


class RayExecutor:
    """Runs a sweep's runs as Ray tasks (see the module docstring).

    Args:
        workers: CPUs of the local Ray instance started when Ray is not running yet and no ``address``
            is given (default: every CPU); runs in flight are capped at ``2 × workers``.
        address: an existing Ray cluster (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:10001"``).
        device: the runs' device: ``cuda...`` gives each task ``num_gpus=1``, else ``num_cpus=1`` and
            single-threaded torch.
        max_retries: how many times Ray reruns a task whose worker died.

    If Ray is already initialised in this process (``ray.init`` called before), that instance is
    used as it is and left running; otherwise the executor starts (or connects to) one on first use
    and shuts it down (disconnects) when the sweep ends. A local instance listens on loopback only.
    """

    def __init__(self, workers: int | None = None, address: str | None = None, device: str = "cpu",
                 max_retries: int = 1) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers {workers}: must be an integer >= 1")
        self.ray = require_ray()
        if address is not None:
            check_ray_address(address)  # now, not after Ray's minutes of retries
        self.workers, self.address, self.device, self.max_retries = workers, address, device, max_retries
        self.cpu = not str(device).startswith("cuda")
        self.worker_drot: str | None = None  # where the workers import drot from (after the first sweep)
        self._owned = False
        self._pending: dict[Any, Any] = {}

    in_process = False

    def describe(self) -> str:
        """One line on where the runs ran, for the command's output."""
        where = f"Ray cluster {self.address}" if self.address else f"local Ray instance, {self.workers} workers"
        if self.worker_drot is None:
            return f"{where} (not started: nothing to run)"
        return f"{where}; workers imported drot from {self.worker_drot}"

    # ---------------------------------------------------------------------------------------- Ray
    def _start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING"}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                # A private instance on loopback; its workers import the driver's drot (source checkouts too).
                path = os.pathsep.join(p for p in (str(Path(_drot_location()).parent), os.environ.get("PYTHONPATH"))
                                       if p)
                env = {"PYTHONPATH": path, **({"OMP_NUM_THREADS": "1"} if self.cpu else {})}
                ray.init(num_cpus=self.workers or os.cpu_count(), _node_ip_address="127.0.0.1",
                         runtime_env={"env_vars": env}, **kwargs)
            self._owned = True
        if self.worker_drot is None:
            where = ray.remote(num_cpus=0)(_drot_location)
            self.worker_drot = ray.get(where.remote())

    def _cancel_pending(self) -> None:
        for ref in list(self._pending):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished, or its worker is gone: nothing to cancel
                pass
        self._pending.clear()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cancel_pending()
        if self._owned:
            self.ray.shutdown()
            self._owned = False

    # ---------------------------------------------------------------------------------------- runs
    def outcomes(self, run: Callable[[Any], Mapping[str, Any]], specs: Sequence[Any],
                 on_start: Callable[[Any], None] | None = None) -> Iterator[Outcome]:
        """Each spec's outcome, in the order they finish (``on_start`` is not called: runs start on
        the workers, in parallel)."""
        if not specs:
            return
        self._start()
        ray = self.ray
        resources = {"num_cpus": 1} if self.cpu else {"num_cpus": 1, "num_gpus": 1}
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False, **resources)(_task)
        run_ref = ray.put(run)
        window = len(specs) if self.workers is None and self.address else 2 * (self.workers or os.cpu_count() or 1)
        queue = list(reversed(specs))
        try:
            while queue or self._pending:
                while queue and len(self._pending) < window:
                    spec = queue.pop()
                    self._pending[task.remote(run_ref, spec, self.cpu)] = spec
                ready, _ = ray.wait(list(self._pending), num_returns=1)
                for ref in ready:
                    spec = self._pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # worker died twice, node lost, task error...
                        outcome = _crash_outcome(spec, exc)
                    yield outcome
        finally:
            self._cancel_pending()
