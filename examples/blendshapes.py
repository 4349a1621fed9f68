"""Blendshape expressions (paper §6.2.3): DROT vs per-pixel L2, one front view, from the neutral face.

    python examples/blendshapes.py                       # 200 iterations at 256²
    python examples/blendshapes.py --quick               # seconds (what the tests run)
    python examples/blendshapes.py --neutral face.obj --shapes smile.obj jaw.obj ...

The face is b = b0 + sum_i w_i (b_i - b0) with 12 expressions (drot's procedural head), or your own
set: a neutral mesh and expression meshes with the same topology. Target weights are uniform in
[0, 0.5] (the seed draws them); both methods start at w = 0 and run the shared optimizer with the
same settings. Writes examples/output/blendshapes_strip.png (start / target / DROT-hybrid / L2) and
examples/output/blendshapes_hybrid.gif.
"""
import argparse
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--neutral", default=None, help="neutral mesh file (with --shapes)")
parser.add_argument("--shapes", nargs="+", default=None, help="expression mesh files, same topology as --neutral")
parser.add_argument("--seed", type=int, default=0, help="seeds the target weights")
parser.add_argument("--iterations", type=int, default=200, help="(the paper: 1000)")
parser.add_argument("--resolution", type=int, default=256, help="(the paper: 256)")
parser.add_argument("--quick", action="store_true", help="10 iterations at 32² (a smoke test, not a result)")
parser.add_argument("--out", default=str(Path(__file__).parent / "output"), help="folder for the strip and GIF")
parser.add_argument("--threads", default="1", metavar="N|auto",
                    help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
args = parser.parse_args()
if args.quick:
    args.iterations, args.resolution = 10, 32

from drot import report  # noqa: E402  (after argparse: --help only prints)
from drot.apps import METHODS, BlendshapeProblem, compare  # noqa: E402
from drot.apps.blendshapes import load_blendshapes  # noqa: E402
from drot.threads import choose_threads  # noqa: E402

choose_threads(args.threads)
if (args.neutral is None) != (args.shapes is None):
    parser.error("give --neutral and --shapes together")

out = Path(args.out)
# settings: max_points=2048 for DROT, which matches pixels (the face fills a third of the view, so DROT matches
# 2048 random pixels per side), see BlendshapeProblem.
problem = BlendshapeProblem(load_blendshapes(args.neutral, args.shapes) if args.neutral else None)


def show_target(seed, instance):
    names = instance.shapes.names
    print(f"{len(names)} expressions, 1 view, {args.resolution}^2, {args.iterations} iterations; "
          f"success: {problem.rule}")
    print(f"{'target':>26}: " + ", ".join(f"{n} {w:.2f}" for n, w in zip(names, instance.target.tolist())))


def show(run):
    e = run.final.details
    print(f"{METHODS[run.method]:>26}: weight MAE {e.weight_mae:.4f}, vertex MAE {e.vertex_mae:.5f}, "
          f"success {e.success}, {run.result.wall_seconds:.1f} s")


runs = compare(problem, ("hybrid", "standard"), [args.seed], args.iterations, args.resolution,
               settings={"progress": not args.quick}, method_settings={"hybrid": {"record_frames": 60}},
               on_instance=show_target, on_run=show)
h, s = (r.result for r in runs)
report.save_strip(out / "blendshapes_strip.png", [[h.initial_images[0], h.target_images[0], h.final_images[0],
                                                   s.final_images[0]]],
                  ["start (neutral)", "target", "DROT-hybrid", "L2 (standard)"])
report.save_animation(out / "blendshapes_hybrid.gif", h.frames, fps=12)
print(f"wrote {out / 'blendshapes_strip.png'} and {out / 'blendshapes_hybrid.gif'}")
