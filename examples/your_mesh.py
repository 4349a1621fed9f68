"""Your mesh, your images: recover an object's pose from photographs-like RGBA target images.

    python examples/your_mesh.py --mesh my_object.obj --images view0.png view1.png ... view5.png
    python examples/your_mesh.py              # a demo: writes a mesh and six target PNGs, then fits them
    python examples/your_mesh.py --quick      # the demo at 32², 20 iterations (what the tests run)

The images are one per camera of drot.square_views (cameras on +x, -x, +y, -y, +z, -z), RGBA with
alpha = the object's mask, top row first. See docs/python-scenes.md and docs/photographs.md for
cameras of your own.
"""
import argparse
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--mesh", help="an OBJ / PLY / GLB / STL file (default: a demo mesh is written)")
parser.add_argument("--images", nargs="+", help="one RGBA PNG per view (default: the demo's renders)")
parser.add_argument("--quick", action="store_true", help="32², 20 iterations, 2 starts (a smoke test, not a result)")
parser.add_argument("--out", default=str(Path(__file__).parent / "output" / "your_mesh"), help="demo files")
parser.add_argument("--threads", default="1", metavar="N|auto",
                    help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
args = parser.parse_args()
if (args.mesh is None) != (args.images is None):
    parser.error("give --mesh and --images together (or neither, for the demo)")

import math  # noqa: E402  (after argparse: --help only prints)

import torch  # noqa: E402

import drot  # noqa: E402
from drot.threads import choose_threads  # noqa: E402

choose_threads(args.threads)
resolution, iterations, starts = (32, 20, 2) if args.quick else (96, 300, 8)


def write_demo(folder: Path, resolution: int) -> tuple[str, list[str]]:
    """A coloured box as a PLY file, and its six RGBA renders turned and moved to a hidden pose."""
    import imageio.v3 as iio
    import numpy as np
    import trimesh

    folder.mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box((1.0, 0.6, 0.35))
    v = box.vertices
    box.visual.vertex_colors = (255 * (0.15 + 0.7 * (v - v.min(0)) / np.ptp(v, 0))).astype(np.uint8)
    box.export(folder / "box.ply")
    mesh = drot.load_mesh(folder / "box.ply").normalized()
    hidden = drot.Scene("hidden", mesh, drot.square_views(distance=2.0), (resolution, resolution), [
        drot.Parameter("rotation", "rotation", target=torch.tensor([0.4, 1.9, -0.3]), initial=torch.zeros(3)),
        drot.Parameter("translation", "translation", target=torch.tensor([0.1, -0.1, 0.05]), initial=torch.zeros(3))])
    frame = drot.render_views(hidden.evaluate(hidden.target_values()), list(range(hidden.num_views)), hidden.resolution,
                        drot.get_backend())  # drot.render_views once that name lands
    paths = []
    for view in range(hidden.num_views):
        rgba = torch.cat([frame.image[view].clamp(0, 1), frame.mask[view, ..., None].float()], -1)
        paths.append(str(folder / f"view{view}.png"))
        iio.imwrite(paths[-1], (rgba.numpy() * 255).round().astype(np.uint8))
    print(f"demo: wrote {folder / 'box.ply'} and {len(paths)} target images; hidden rotation [0.4, 1.9, -0.3], "
          "translation [0.1, -0.1, 0.05]")
    return str(folder / "box.ply"), paths


if args.mesh is None:
    args.mesh, args.images = write_demo(Path(args.out), resolution)

# ---- the part for your own mesh and images (README: "Your mesh, your images") ----
mesh = drot.load_mesh(args.mesh).normalized()            # centred, longest side 1 (a scene file's default)
scene = drot.Scene(
    name="my_object", mesh=mesh, cameras=drot.square_views(distance=2.0), resolution=(resolution, resolution),
    parameters=[
        drot.Parameter("rotation", "rotation", target=torch.zeros(3), init_range=(-math.pi, math.pi)),  # axis-angle [3]
        drot.Parameter("translation", "translation", target=torch.zeros(3), init_range=(-0.3, 0.3)),
    ])
result = drot.optimize(scene, args.images, iterations=iterations, starts=starts, seed=0)  # RGBA: alpha = mask
print(result)
print({name: [round(x, 3) for x in value.tolist()] for name, value in result.parameters.items()})
