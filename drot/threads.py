"""How many CPU threads torch uses, chosen so that a shared machine does not collapse.

PyTorch's default is one intra-op thread per core. When other jobs already keep those cores busy,
its OpenMP threads wait on each other and a run can take several times longer than with one
thread (measured on a loaded 2-core machine: ``examples/own_loop.py`` 197 s with the default,
25 s with one thread). :func:`free_cores` estimates the cores nobody else uses from the load
average; :func:`choose_threads` applies a ``--threads`` value and warns when the threads torch
would use exceed the free cores. Results depend on the thread count (float reductions change
order), never on the load: the same command with the same ``--threads`` gives the same result.
"""
from __future__ import annotations

import argparse
import os
import warnings

import torch

#: ``--threads auto``: as many threads as cores are free (at least one).
AUTO = "auto"


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def free_cores(cores: int | None = None) -> int:
    """Cores not busy with other work: the core count minus the 1-minute load average (at least 1).

    Where the load average is unknown (Windows) every core counts as free."""
    cores = cpu_count() if cores is None else cores
    load = load_average()
    return cores if load is None else max(1, min(cores, int(cores - load + 0.5)))


def load_average() -> float | None:
    """The 1-minute load average: runnable processes, ours included (None where unknown)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def parse_threads(text: str) -> int | str:
    """argparse type of ``--threads``: a positive integer or ``auto``."""
    if text == AUTO:
        return AUTO
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}")
    return value


def add_threads_argument(parser: argparse.ArgumentParser, default: int | str = 1) -> None:
    """Add ``--threads N|auto`` (torch's CPU threads) to a command line."""
    parser.add_argument("--threads", type=parse_threads, default=default, metavar="N|auto",
                        help="torch's CPU threads; results depend on it, not on the machine's load "
                             "('auto': the cores that are free now, so results may differ between runs)")


def choose_threads(threads: int | str | None = None, *, warn: bool = True) -> int:
    """Set torch's intra-op threads to ``threads`` (``"auto"``: the free cores; None: leave torch's
    setting; a string as on a command line) and return the count used; warn when it exceeds the cores free now."""
    if isinstance(threads, str):
        threads = parse_threads(threads)
    if threads == AUTO:
        threads = free_cores()
    if threads is not None:
        torch.set_num_threads(int(threads))
    used = torch.get_num_threads()
    free = free_cores()
    if warn and used > free:
        warnings.warn(f"torch uses {used} CPU threads but only {free} of {cpu_count()} cores are free "
                      f"(load average {load_average():.1f}): competing threads can make the run several "
                      "times slower; use --threads 1 (or OMP_NUM_THREADS=1) while the machine is shared",
                      RuntimeWarning, stacklevel=2)
    return used
