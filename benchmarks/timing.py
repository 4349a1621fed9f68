"""Wall-clock timing shared by the benchmark scripts (synchronising CUDA so that kernels are counted)."""
from __future__ import annotations

import statistics
import time

import torch


def timed(fn, repeats: int, device: str) -> float:
    """Median milliseconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    out = []
    for _ in range(repeats):
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return 1000 * statistics.median(out)
