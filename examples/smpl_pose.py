"""SMPL pose fitting (paper §6.2.2): DROT vs per-pixel L2, six views, from the rest pose.

    python examples/smpl_pose.py                       # 500 iterations at 128²
    python examples/smpl_pose.py --quick               # seconds (what the tests run)
    python examples/smpl_pose.py --model ~/models/smpl/SMPL_NEUTRAL.pkl

Needs the smplx package (pip install "drot[apps]"). Without --model it uses a body model in SMPL's
file format that drot generates (drot/apps/smpl_model.py), loaded through smplx; with --model, the
real SMPL model (licensed, download it from https://smpl.is.tue.mpg.de). The target pose has every
joint-rotation component uniform in [-0.4, 0.4] rad (the seed draws it); both methods start at
zero and run the shared optimizer with the same settings. Writes examples/output/smpl_strip.png
(start / target / DROT-hybrid / L2, three of the six views) and examples/output/smpl_hybrid.gif.
"""
import argparse
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--model", default=None, help="an SMPL model file (SMPL_NEUTRAL.pkl); default: drot's generated one")
parser.add_argument("--seed", type=int, default=0, help="seeds the target pose")
parser.add_argument("--iterations", type=int, default=500, help="(the paper: 1000)")
parser.add_argument("--resolution", type=int, default=128, help="(the paper: 128)")
parser.add_argument("--quick", action="store_true", help="10 iterations at 32² (a smoke test, not a result)")
parser.add_argument("--out", default=str(Path(__file__).parent / "output"), help="folder for the strip and GIF")
parser.add_argument("--threads", default="1", metavar="N|auto",
                    help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
args = parser.parse_args()
if args.quick:
    args.iterations, args.resolution = 10, 32

from drot import report  # noqa: E402  (after argparse: --help only prints)
from drot.apps import METHODS, SmplProblem, compare  # noqa: E402
from drot.threads import choose_threads  # noqa: E402

choose_threads(args.threads)

out = Path(args.out)
problem = SmplProblem(body=args.model)  # None: drot's generated body
body = problem.loaded_body()
print(f"SMPL model {body.path if args.model else '(drot-generated, SMPL format)'} ({body.mesh.num_vertices} vertices, "
      f"{body.num_joints} joints), 6 views, "
      f"{args.resolution}^2, {args.iterations} iterations; success: {problem.rule}")


def show_start(seed, instance):
    e0 = instance.errors({p.name: p.initial for p in instance.scene.parameters})
    print(f"{'start':>26}: joint-angle MAE {e0.joint_angle_mae:.3f} rad, vertex MAE {e0.vertex_mae:.4f} m")


def show(run):
    e = run.final.details
    print(f"{METHODS[run.method]:>26}: joint-angle MAE {e.joint_angle_mae:.3f} rad (geodesic {e.rotation_error:.3f}), "
          f"vertex MAE {e.vertex_mae:.4f} m, success {e.success}, {run.result.wall_seconds:.1f} s")


runs = compare(problem, ("hybrid", "standard"), [args.seed], args.iterations, args.resolution,
               settings={"progress": not args.quick},
               method_settings={"hybrid": {"record_frames": 60, "frame_view": 4}},
               on_instance=show_start, on_run=show)
h, s = (r.result for r in runs)
rows = [[h.initial_images[v], h.target_images[v], h.final_images[v], s.final_images[v]] for v in (0, 2, 4)]
report.save_strip(out / "smpl_strip.png", rows, ["start", "target", "DROT-hybrid", "L2 (standard)"])
report.save_animation(out / "smpl_hybrid.gif", h.frames, fps=12)
print(f"wrote {out / 'smpl_strip.png'} and {out / 'smpl_hybrid.gif'}")
