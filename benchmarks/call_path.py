"""The path a scene takes through ``drot.optimize``: which of drot's files the scene object is handed
to, how often it moves from file to file, and how often it climbs back up the call stack.

    PYTHONPATH=. python benchmarks/call_path.py                       # this checkout
    python benchmarks/call_path.py --root /tmp/base                   # another source checkout

It traces (``sys.setprofile``) every call of a Python function defined in a drot file during
``drot.optimize(scene, iterations=N)`` (default: the paper's BUDDHA at 32², 4 iterations, one start,
and again with 8 starts). The scene's path is the sequence of calls that receive the scene object as
an argument (``self`` included); it reports

* ``files``: distinct drot files on the scene's path;
* ``steps``: calls on the path (``steps between files``: those whose file differs from the previous
  step's);
* ``climbs``: steps made higher up the call stack than the previous one (control went back up and
  down again: set-up repeated, or the loop re-entering the same chain);
* ``calls``: every call of a drot function (all objects), and the files entered most often.

Counts depend on the iterations traced; compare checkouts at the same settings.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

def trace(root: Path, scene_name: str, resolution: int, iterations: int, starts: int) -> dict:
    import drot

    package = str(Path(drot.__file__).resolve().parent)
    scene = drot.load_scene(scene_name, resolution=resolution)
    files: collections.Counter = collections.Counter()
    path: list[tuple[str, int]] = []  # (file, stack depth) of each call handed the scene

    def relative(filename: str) -> str | None:
        filename = str(Path(filename).resolve()) if not filename.startswith("<") else filename
        return "drot/" + filename[len(package) + 1:] if filename.startswith(package) else None

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = relative(frame.f_code.co_filename)
        if callee is None:
            return
        files[callee] += 1
        code = frame.f_code
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        if any(frame.f_locals.get(n) is scene for n in names):
            depth, f = 0, frame
            while f is not None:
                depth, f = depth + 1, f.f_back
            path.append((callee, depth))

    sys.setprofile(profile)
    try:
        drot.optimize(scene, iterations=iterations, starts=starts, progress=False)
    finally:
        sys.setprofile(None)
    moves = sum(a[0] != b[0] for a, b in zip(path, path[1:]))
    climbs = sum(b[1] < a[1] for a, b in zip(path, path[1:]))
    return {"files": len({f for f, _ in path}), "steps": len(path), "moves": moves, "climbs": climbs,
            "calls": sum(files.values()), "most_entered": files.most_common(4),
            "path_files": sorted({f for f, _ in path})}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=None, help="source checkout to trace (default: the drot on the path)")
    ap.add_argument("--scene", default="paper/buddha")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--starts", default="1,8", help="comma-separated numbers of starts")
    args = ap.parse_args(argv)
    if args.root:
        sys.path.insert(0, str(Path(args.root).resolve()))
    import torch

    torch.set_num_threads(1)
    for s in (int(x) for x in args.starts.split(",")):
        row = trace(Path(args.root or "."), args.scene, args.resolution, args.iterations, s)
        top = ", ".join(f"{f} {n}" for f, n in row["most_entered"])
        print(f"starts={s}: the scene's path: {row['steps']} steps ({row['moves']} between files) through "
              f"{row['files']} files, {row['climbs']} climbs; {row['calls']} drot calls in all, most entered: {top}")
        print("  files: " + ", ".join(row["path_files"]))


if __name__ == "__main__":
    main()
