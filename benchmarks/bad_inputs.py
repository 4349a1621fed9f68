"""A catalogue of bad inputs and what drot says about each: is the error clear?

    PYTHONPATH=. python benchmarks/bad_inputs.py                 # every case (~10 s)
    PYTHONPATH=. python benchmarks/bad_inputs.py --area mesh     # one area (several: --area smpl mesh)
    PYTHONPATH=. python benchmarks/bad_inputs.py --list          # the areas and their case counts

Every case is a :class:`Case`: a label, an area, a small callable ``fn(tmp)`` that feeds one bad input
to drot's public API (``tmp``: a fresh empty folder for the files it writes), and ``expect``: the
fragment(s) of the error message that name the culprit — the file, key or argument. The outcome:

* ``good``: a ValueError / FileNotFoundError / TypeError / MemoryError (and their subclasses, e.g.
  drot.MeshError) whose message contains every expected fragment;
* ``poor message``: an error of those types without the fragment (the user cannot tell what to fix);
* ``crash``: any other exception type (IndexError, RuntimeError, KeyError... from deep inside);
* ``wrong``: no error where one was due;
* ``skipped``: the case needs an optional package that is not installed (e.g. smplx).

Adding cases: write a module ``benchmarks/bad_inputs_<area>.py`` that defines ``CASES``, a list of
``Case(label, area, fn, expect)`` (``from bad_inputs import Case``); it is found automatically. The
cases of the applications are in ``bad_inputs_apps.py``, those of mesh files in ``bad_inputs_meshes.py``,
those of objects, texture files, multi-start, the own-loop API, sweeps and the imitator in
``bad_inputs_surfaces.py``.
Warnings raised by a case are silenced (the catalogue is about errors). Exit status: 1 when any case is
``crash`` or ``wrong``.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

#: The error types a clear message may come with.
CLEAR_TYPES = (ValueError, FileNotFoundError, TypeError, MemoryError)
OUTCOMES = ("good", "poor message", "crash", "wrong", "skipped")


class Skip(Exception):
    """Raised by a case whose optional dependency is missing."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        label: what is bad, in a few words (unique within the catalogue).
        area: where it enters drot (``"smpl"``, ``"mesh"``, ``"scene file"``...): ``--area`` selects by it.
        fn: ``fn(tmp: Path)`` feeds the bad input to drot; ``tmp`` is a fresh empty folder.
        expect: fragment, or tuple of fragments, that a good message contains (case-sensitive): the
            name of the file, key or argument at fault, and what about it.
    """

    label: str
    area: str
    fn: Callable[[Path], object]
    expect: str | tuple[str, ...]

    @property
    def fragments(self) -> tuple[str, ...]:
        return (self.expect,) if isinstance(self.expect, str) else tuple(self.expect)


@dataclasses.dataclass(frozen=True)
class Outcome:
    case: Case
    outcome: str
    error: str          # exception type name ("" when none)
    message: str        # the full message ("" when none)
    seconds: float

    @property
    def first_line(self) -> str:
        line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.error}: {line}" if self.error else "(no error)"


def classify(case: Case, tmp: Path) -> Outcome:
    """Run one case in ``tmp`` and classify what it raised (see the module docstring)."""
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case.fn(tmp)
    except Skip as exc:
        return Outcome(case, "skipped", "", str(exc), time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001  (classifying every exception is the point)
        message = str(exc)
        if isinstance(exc, CLEAR_TYPES):
            kind = "good" if all(f in message for f in case.fragments) else "poor message"
        else:
            kind = "crash"
        return Outcome(case, kind, type(exc).__name__, message, time.perf_counter() - t0)
    return Outcome(case, "wrong", "", "", time.perf_counter() - t0)


def discover(folder: Path | None = None) -> list[Case]:
    """Every ``CASES`` of the ``bad_inputs_*.py`` modules next to this script, in file-name order."""
    folder = Path(__file__).resolve().parent if folder is None else folder
    sys.modules.setdefault("bad_inputs", sys.modules[__name__])   # `from bad_inputs import Case` in the modules
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    cases: list[Case] = []
    for path in sorted(folder.glob("bad_inputs_*.py")):
        cases.extend(importlib.import_module(path.stem).CASES)
    labels = [c.label for c in cases]
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        raise ValueError(f"bad-input case labels must be unique, repeated: {duplicates}")
    return cases


def run(cases: Sequence[Case]) -> list[Outcome]:
    """Classify every case, each in its own temporary folder."""
    outcomes = []
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="drot-bad-") as tmp:
            outcomes.append(classify(case, Path(tmp)))
    return outcomes


def table(outcomes: Sequence[Outcome], width: int = 150) -> str:
    """A plain-text table (area | label | outcome | first line of the message) and the counts."""
    rows = [("area", "label", "outcome", "first line of the message")]
    for o in outcomes:
        line = o.first_line.replace(str(Path(tempfile.gettempdir())), "$TMP")
        rows.append((o.case.area, o.case.label, o.outcome, line))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for k, r in enumerate(rows):
        text = f"{r[0]:<{w[0]}} | {r[1]:<{w[1]}} | {r[2]:<{w[2]}} | {r[3]}"
        lines.append(text if len(text) <= width else text[: width - 3] + "...")
        if k == 0:
            lines.append("-" * min(width, len(lines[0]) + 20))
    counts = {k: sum(o.outcome == k for o in outcomes) for k in OUTCOMES}
    lines.append("")
    lines.append(f"{len(outcomes)} cases: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n or k == "good"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--area", nargs="+", help="only these areas (see --list)")
    parser.add_argument("--list", action="store_true", help="list the areas and their case counts")
    parser.add_argument("--width", type=int, default=150, help="cut table lines at this many characters")
    parser.add_argument("--verbose", action="store_true", help="print every full message after the table")
    args = parser.parse_args(argv)
    cases = discover()
    areas = sorted({c.area for c in cases})
    if args.list:
        for a in areas:
            print(f"{a}: {sum(c.area == a for c in cases)} cases")
        return 0
    if args.area:
        unknown = sorted(set(args.area) - set(areas))
        if unknown:
            parser.error(f"unknown area(s) {unknown}; areas: {', '.join(areas)}")
        cases = [c for c in cases if c.area in args.area]
    outcomes = run(cases)
    print(table(outcomes, args.width))
    if args.verbose:
        for o in outcomes:
            print(f"\n[{o.outcome}] {o.case.label}\n  {o.error}: {o.message}")
    return 1 if any(o.outcome in ("crash", "wrong") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
