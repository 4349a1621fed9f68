"""The command-line flags that choose where a sweep's runs execute: ``--workers`` and ``--ray-address``.

``drot-bench`` and ``benchmarks/table1.py`` take both; :func:`executor_from_args` turns them into a
:class:`~drot.eval.executors.SequentialExecutor` (the default) or a
:class:`~drot.eval.ray_executor.RayExecutor`. Kept apart from both so that neither executor module
needs the other's.
"""
from __future__ import annotations

from typing import Any

from .executors import SequentialExecutor
from .ray_executor import RayExecutor

__all__ = ["add_executor_arguments", "executor_from_args"]


def add_executor_arguments(parser: Any) -> None:
    """``--workers`` and ``--ray-address``, as ``drot-bench`` and ``benchmarks/table1.py`` take them."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run N runs at a time as tasks of a local Ray instance (pip install \"drot[distributed]\"); "
                             "1 or absent: in this process, one after another")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="run the runs on an existing Ray cluster ('auto', HOST:PORT or ray://HOST:10001); "
                             "this command stays the only writer of the results folder")


def executor_from_args(workers: int | None, address: str | None,
                       device: str = "cpu") -> SequentialExecutor | RayExecutor:
    """The executor the flags ask for: sequential (in this process) or a Ray executor.

    ValueError for ``--workers`` < 1; :class:`~drot.eval.ray_executor.RayUnavailable` (an ImportError
    with the install command) when Ray is asked for but not installed."""
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be an integer >= 1 (1: in this process, one run after another)")
    if address is not None and not address.strip():
        raise ValueError("--ray-address '': give 'auto', HOST:PORT or ray://HOST:10001")
    if address is None and (workers is None or workers == 1):
        return SequentialExecutor()
    return RayExecutor(workers=workers, address=address, device=device)
