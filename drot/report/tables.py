"""Aligned plain-text / GitHub Markdown tables: ``format_table``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .files import _cell_value


def _format_cell(v: Any, spec: str | None) -> str:
    v = _cell_value(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)  # inf / -inf / nan
        spec = spec or ".4g"
    if spec is not None and isinstance(v, (int, float)):
        # Accept both "{:.3f}" and ".3f".
        return spec.format(v) if "{" in spec else format(v, spec)
    return str(v)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    floatfmt: Mapping[str, str] | None = None,
    markdown: bool = False,
) -> str:
    """Format dict rows as an aligned plain-text (or GitHub Markdown) table.

    Args:
        rows: one dict per table row; missing keys / ``None`` give empty cells.
        columns: the keys to show, in order (also the header).
        floatfmt: per-column format spec for numbers, e.g. ``{"mae": ".2e"}`` or
            ``{"mae": "{:.2e}"}``; other floats use ``".4g"``.
        markdown: emit a GitHub Markdown table (``| a | b |`` with an alignment row);
            it is padded too, so it also reads well as plain text.

    Numeric columns are right-aligned, others left-aligned.

    Returns the table as a string without a trailing newline.
    """
    if not columns:
        raise ValueError("format_table: no columns given")
    floatfmt = dict(floatfmt or {})
    header = [str(c) for c in columns]
    body = [[_format_cell(row.get(c), floatfmt.get(c)) for c in columns] for row in rows]

    numeric = []
    for c in columns:
        vals = [_cell_value(row.get(c)) for row in rows]
        vals = [v for v in vals if v is not None]
        numeric.append(bool(vals) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals))

    if markdown:
        # A literal '|' would split the cell.
        header = [h.replace("|", "\\|") for h in header]
        body = [[cell.replace("|", "\\|") for cell in r] for r in body]
    widths = [max(len(header[i]), *(len(r[i]) for r in body)) if body else len(header[i])
              for i in range(len(columns))]
    if markdown:
        widths = [max(w, 3) for w in widths]  # room for the '--:' alignment marker

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(w) if num else cell.ljust(w)
                 for cell, w, num in zip(cells, widths, numeric)]
        return "| " + " | ".join(parts) + " |" if markdown else "  ".join(parts)

    if markdown:
        sep = "| " + " | ".join(("-" * (w - 1) + ":") if num else "-" * w
                                for w, num in zip(widths, numeric)) + " |"
    else:
        sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in body])
