"""Checks of an ASCII PLY file's body against its header, before trimesh parses it: trimesh reads a
file whose header promises more vertices than it holds as a shifted, misparsed mesh, and vertex rows
that lack some properties (colours missing on a few rows) lose those properties silently. Either is
a :class:`~drot.scene.mesh.MeshError` naming the file, the element and the line."""
from __future__ import annotations

from pathlib import Path

from .mesh import MeshError

__all__ = ["check_ply_body"]

#: PLY's list property counts its values first: ``list <count type> <value type> name``.
_LIST = "list"


def _header(lines: list[str]) -> tuple[list[tuple[str, int, list[list[str]]]], int, str] | None:
    """``(elements [(name, count, properties)], body start line index, format)`` or None if not PLY."""
    if not lines or lines[0].strip() != "ply":
        return None
    elements: list[tuple[str, int, list[list[str]]]] = []
    fmt = ""
    for i, line in enumerate(lines[1:], 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "format" and len(parts) > 1:
            fmt = parts[1]
        elif parts[0] == "element" and len(parts) == 3 and parts[2].isdigit():
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property" and elements:
            elements[-1][2].append(parts[1:])
        elif parts[0] == "end_header":
            return elements, i + 1, fmt
    return None


def check_ply_body(path: Path) -> None:
    """MeshError when an ASCII PLY's body holds fewer rows than its header declares, or a vertex row
    holds fewer or more values than the vertex properties (binary PLY: left to the reader)."""
    with open(path, "rb") as fh:
        if fh.read(3) != b"ply":
            return
    text = path.read_text(encoding="latin-1")
    lines = text.splitlines()
    header = _header(lines)
    if header is None or header[2] != "ascii":
        return
    elements, start, _ = header
    rows = [(number, line.split()) for number, line in enumerate(lines[start:], start + 1) if line.strip()]
    declared = sum(count for _, count, _ in elements)
    if len(rows) < declared:
        counts = " and ".join(f"{count} {name}" for name, count, _ in elements)
        raise MeshError(f"mesh file {path}: the header declares {counts} rows ({declared} lines) but the body holds "
                        f"{len(rows)}: the file is truncated or an 'element' count is wrong")
    at = 0
    for name, count, props in elements:
        block = rows[at:at + count]
        if len(block) < count:
            have = len(block)
            raise MeshError(f"mesh file {path}: the header declares {count} {name} rows but the file holds {have} "
                            f"after the previous elements (truncated, or a wrong 'element {name} {count}' line)")
        fixed = all(p and p[0] != _LIST for p in props)
        if fixed:
            bad = [(number, len(values)) for number, values in block if len(values) != len(props)]
            if bad:
                names = " ".join(p[-1] for p in props)
                lines_text = ", ".join(f"line {n} ({k} values)" for n, k in bad[:5])
                more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
                raise MeshError(f"mesh file {path}: {len(bad)} {name} row(s) do not hold the {len(props)} values "
                                f"the header declares ({names}): {lines_text}{more}")
        at += count
