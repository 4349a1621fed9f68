"""Fit a scene to target *image files* — the path a user with their own pictures takes.

    python examples/fit_to_image_files.py          # 300 iterations at 96²
    python examples/fit_to_image_files.py --quick  # 20 iterations at 32² (what the tests run)

1. Renders KITTY with the cat moved to a hidden position and saves the six views as RGBA PNGs
   (alpha = the cat's silhouette, which drot uses as foreground mask) in examples/output/targets/.
2. Forgets that position, loads the PNGs as the target and recovers the translation with DROT.
"""
import argparse
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="20 iterations at 32² (a smoke test, not a result)")
parser.add_argument("--out", default=str(Path(__file__).parent / "output"), help="the target PNGs go to OUT/targets/")
parser.add_argument("--threads", default="1", metavar="N|auto",
                    help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
args = parser.parse_args()

import imageio.v3 as iio  # noqa: E402  (after argparse: --help only prints)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import drot  # noqa: E402
from drot.threads import choose_threads  # noqa: E402

choose_threads(args.threads)
out = Path(args.out) / "targets"
out.mkdir(parents=True, exist_ok=True)
iterations, resolution = (20, 32) if args.quick else (300, 96)
scene = drot.load_scene("kitty", resolution=resolution)

hidden = torch.tensor([0.3, -0.25, 0.2])
frame = drot.render_views(scene.evaluate({"translation": hidden}), list(range(scene.num_views)), scene.resolution,
                    drot.get_backend())
paths = []
for view in range(scene.num_views):
    rgba = torch.cat([frame.image[view].clamp(0, 1), frame.mask[view, ..., None].float()], -1)
    paths.append(out / f"view{view}.png")
    iio.imwrite(paths[-1], (rgba.numpy() * 255).round().astype(np.uint8))
print(f"wrote {len(paths)} target images to {out}")

result = drot.optimize(scene, paths, iterations=iterations, seed=0, progress=not args.quick)
found = result.parameters["translation"]
print(f"start     {[round(x, 3) for x in result.initial_parameters['translation'].tolist()]}")
print(f"recovered {[round(x, 3) for x in found.tolist()]}  (hidden {[round(x, 3) for x in hidden.tolist()]}, "
      f"error {float((found - hidden).abs().max()):.4f}), PSNR {result.psnr:.1f} dB")
