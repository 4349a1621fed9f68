"""Text, JSON and CSV files, written atomically: ``write_text``, ``write_json``, ``write_csv``,
``to_jsonable``.

Each file is written to a temporary file beside it and renamed over it, so readers never see it
half written. The file gets the mode ``open()`` would give it: a new file ``0o666 & ~umask``
(``0o644`` under the usual umask 022, readable like the images written beside it), a file that
is replaced keeps its mode.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import math
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._paths import PathLike, _prepare_path


def _float_json(x: float) -> float | str:
    # JSON has no inf/nan: write them as strings that float() parses back.
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` to plain JSON types (see :func:`write_json`)."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return _float_json(obj)
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):  # numpy scalars: np.float32, np.int64, np.bool_, ...
        return _jsonable(obj.item())
    if isinstance(obj, enum.Enum):
        return _jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # Field by field rather than dataclasses.asdict, which deep-copies (tensors too).
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, Mapping):
        return {_json_key(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (torch.dtype, torch.device)):
        return str(obj)
    # Anything else (a function, a custom object): its repr, rather than losing a long run's
    # results to a TypeError at the very end.
    return repr(obj)


def to_jsonable(obj: Any) -> Any:
    """``obj`` converted to plain JSON types, as :func:`write_json` writes it."""
    return _jsonable(obj)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    value = _jsonable(key)
    return value if isinstance(value, str) else json.dumps(value)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, created with mode 0o666 so that the kernel applies the
    umask as for ``open()`` (``tempfile.mkstemp`` would make it 0o600)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        return fd, str(tmp)


def _atomic_write_text(path: PathLike, text: str) -> Path:
    """Write via a temporary file + rename so readers never see a half-written file."""
    path = _prepare_path(path)
    try:  # a file that is replaced keeps its mode, as with open(path, "w")
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.is_file() else None
    except OSError:
        mode = None
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: PathLike, text: str) -> Path:
    """Write a text file atomically (readers never see it half written); creates parent dirs."""
    return _atomic_write_text(path, text)


def write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as pretty-printed (indent 2), strictly valid JSON.

    Converted on the way: tensors and numpy arrays -> nested lists; numpy scalars and 0-d
    tensors -> numbers; dataclass instances -> dicts of their fields; paths -> strings;
    enums -> their value; tuples/sets -> lists; non-string dict keys -> strings;
    ``inf``/``-inf``/``nan`` -> the strings ``"inf"``/``"-inf"``/``"nan"`` (``float()``
    reads them back); anything else -> its ``repr``.

    Returns the path written.
    """
    text = json.dumps(_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
    return _atomic_write_text(path, text + "\n")


def _cell_value(v: Any) -> Any:
    """A scalar for CSV/table cells: unwrap 0-d tensors/arrays and numpy scalars."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.detach().cpu().item()
    if isinstance(v, np.ndarray) and v.size == 1:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (torch.Tensor, np.ndarray, list, tuple, dict)) or dataclasses.is_dataclass(v):
        return json.dumps(_jsonable(v))
    return v


def write_csv(path: PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write dict rows as CSV.

    The columns are the union of the rows' keys in first-seen order; a key missing from a
    row gives an empty cell, ``None`` too. Tensors/numpy scalars are written as numbers,
    non-scalar values as JSON. No rows -> an empty file.

    Returns the path written.
    """
    columns: dict[str, None] = {}  # ordered set
    for row in rows:
        for k in row:
            columns.setdefault(str(k), None)
    lines: list[list[str]] = []
    if columns:
        lines.append(list(columns))
    for row in rows:
        cells = {str(k): _cell_value(v) for k, v in row.items()}
        lines.append(["" if cells.get(c) is None else str(cells[c]) for c in columns])

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    return _atomic_write_text(path, buf.getvalue())
