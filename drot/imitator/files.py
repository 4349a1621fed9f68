"""The imitator's files (checkpoints, sample sets): tensors and plain data only, never code.

A file is written atomically (``path.tmp`` then rename) with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, which refuses anything but tensors, numbers, strings, lists and
dicts — a downloaded checkpoint carrying a pickled callable is refused without running it. Every
file carries ``format`` (:data:`FORMAT`) and ``kind``, so a foreign, truncated, newer or other-kind
file is an error naming the file and what is wrong.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

__all__ = ["FORMAT", "write_plain", "read_plain"]

#: The layout version of the files written here; a file of another one is refused by name.
FORMAT = 1


def write_plain(path: str | Path, kind: str, state: Mapping[str, Any]) -> None:
    """Write ``state`` (tensors and plain data) as a ``kind`` file at ``path``, atomically (``kind`` and
    ``format`` are added)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({**state, "format": FORMAT, "kind": kind}, tmp)
    tmp.replace(path)


def read_plain(path: str | Path, kind: str, required: tuple[str, ...] = (), what: str = "checkpoint") -> dict[str, Any]:
    """The dict stored at ``path`` by :func:`write_plain` with this ``kind`` (``what``: the word for
    the file in messages). A file without ``kind`` or ``format`` but with every ``required`` key
    predates them and has format 1's layout: it is read, not lost.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: naming ``path`` and the reason: empty or truncated, not a torch file, holding
            objects other than plain data (refused unread: loading them could run code), not a drot
            file, another ``kind``, another ``format``, or a ``required`` key missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path}: the {what} is empty (0 bytes)")
    with path.open("rb") as fh:
        is_zip = fh.read(4) == b"PK\x03\x04"
    if not is_zip:
        raise ValueError(f"{path}: not a {what} (not a file written by torch.save)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: the {what} is truncated or damaged ({size} bytes, its index is missing)")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        # torch's message is mostly advice to load unsafely; keep only the line naming the object
        lines = [ln for ln in str(exc).splitlines() if "GLOBAL" in ln or "Unsupported" in ln]
        reason = lines[0].strip() if lines else type(exc).__name__
        raise ValueError(f"{path}: refused: it holds objects other than tensors and plain data, which a "
                         f"drot {what} never does and which could run code when loaded ({reason})") from None
    except (RuntimeError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: the {what} is truncated or damaged ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a drot {what} (holds a {type(state).__name__}, not a dict)")
    legacy = "kind" not in state and required and all(k in state for k in required)
    if legacy:  # written before files carried kind and format: same layout as format 1
        return state
    if "kind" not in state:
        raise ValueError(f"{path}: not a drot.imitator {what} (missing key 'kind')")
    if state["kind"] != kind:
        raise ValueError(f"{path}: a {state['kind']!r} {what}, expected {kind!r}")
    if state.get("format", 1) != FORMAT:
        raise ValueError(f"{path}: written in file format {state['format']!r}, this drot reads format "
                         f"{FORMAT}; rewrite it with this version")
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(f"{path}: not a complete {what} (missing key {missing[0]!r})")
    return state
