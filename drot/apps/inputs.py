"""Checks of the applications' public arguments, where they enter (one place for the wording).

Every check raises with a message that names the argument, the value (or shape) found and what is
allowed: ``TypeError`` for a value of the wrong kind (a string where a list is due, a non-numeric
array), ``ValueError`` for a wrong shape, a non-finite value or one out of range.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np
import torch


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def as_tensor(value, name: str, shape: Sequence[int] | None = None, dtype=torch.float32) -> torch.Tensor:
    """``value`` (tensor, array or nested list of numbers) as a finite ``dtype`` tensor of ``shape``.

    A tensor that already has ``dtype`` is returned as it is (no copy: results stay bit-identical).

    Raises:
        TypeError: not numeric (a string, None, a ragged list...).
        ValueError: a shape other than ``shape``, or NaN / inf entries (the message counts them).
    """
    if isinstance(value, (str, bytes, os.PathLike)) or value is None:
        raise TypeError(f"{name} must be numbers (a tensor, array or list), got {type(value).__name__} {value!r}")
    if isinstance(value, torch.Tensor):
        t = value if value.dtype == dtype else value.to(dtype)
    else:
        try:
            arr = np.asarray(value)
            if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
                raise TypeError(f"dtype {arr.dtype}")
            t = torch.as_tensor(arr, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numbers (a tensor, array or list), got {type(value).__name__} "
                            f"that is not a numeric array ({exc})") from None
    if shape is not None and tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got {_shape_text(t.shape)}")
    check_finite(t, name)
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise ValueError naming ``name``, the count and the first index of NaN / inf entries of ``t``."""
    if t.is_floating_point() and t.numel():
        bad = ~torch.isfinite(t.detach())
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0].tolist())
            where = f"index {first[0] if len(first) == 1 else first}"
            raise ValueError(f"{name} contains NaN or inf ({int(bad.sum())} of {t.numel()} entries, first at "
                             f"{where}: {float(t.detach()[first])}); expected finite numbers")


def check_range(t: torch.Tensor, name: str, lo: float, hi: float) -> None:
    """Raise ValueError when an entry of ``t`` lies outside ``[lo, hi]`` (naming the first one)."""
    out = (t.detach() < lo) | (t.detach() > hi)
    if bool(out.any()):
        i = int(out.reshape(-1).nonzero()[0])
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}], got {float(t.detach().reshape(-1)[i]):g} at index {i} "
                         f"({int(out.sum())} of {t.numel()} entries outside)")


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    """``value`` as a float that is finite and > 0 (>= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return v


def check_color(color, name: str = "color") -> np.ndarray:
    """An RGB colour: three finite numbers in [0, 1] → float64 ``[3]``."""
    c = as_tensor(color, name, dtype=torch.float64)
    if c.shape != (3,):
        raise ValueError(f"{name} must be three numbers (r, g, b) in [0, 1], got shape {_shape_text(c.shape)}")
    check_range(c, name, 0.0, 1.0)
    return c.numpy()


def check_path_list(paths, name: str, what: str = "file paths") -> list:
    """A list (of file paths, or ``what``): a single string or path is a TypeError, not a list of characters."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a list of {what}, got a single {type(paths).__name__} {str(paths)!r}: "
                        f"wrap it in a list ([{str(paths)!r}])")
    try:
        return list(paths)
    except TypeError:
        raise TypeError(f"{name} must be a list of {what}, got {type(paths).__name__} {paths!r}") from None
