"""Fit a scene to target *image files* — the path a user with their own pictures takes.

    python examples/fit_to_image_files.py        # ~5 s on a 2-core CPU

1. Renders KITTY with the cat moved to a hidden position and saves the six views as RGBA PNGs
   (alpha = the cat's silhouette, which drot uses as foreground mask) in examples/output/targets/.
2. Forgets that position, loads the PNGs as the target and recovers the translation with DROT.
"""
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

import drot

out = Path(__file__).parent / "output" / "targets"
out.mkdir(parents=True, exist_ok=True)
scene = drot.load_scene("kitty", resolution=96)

hidden = torch.tensor([0.3, -0.25, 0.2])
frame = drot.render_views(scene.evaluate({"translation": hidden}), list(range(scene.num_views)), scene.resolution,
                    drot.get_backend())
paths = []
for view in range(scene.num_views):
    rgba = torch.cat([frame.image[view].clamp(0, 1), frame.mask[view, ..., None].float()], -1)
    paths.append(out / f"view{view}.png")
    iio.imwrite(paths[-1], (rgba.numpy() * 255).round().astype(np.uint8))
print(f"wrote {len(paths)} target images to {out}")

result = drot.optimize(scene, paths, iterations=300, seed=0, progress=True)
found = result.parameters["translation"]
print(f"start     {[round(x, 3) for x in result.initial_parameters['translation'].tolist()]}")
print(f"recovered {[round(x, 3) for x in found.tolist()]}  (hidden {[round(x, 3) for x in hidden.tolist()]}, "
      f"error {float((found - hidden).abs().max()):.4f}), PSNR {result.psnr:.1f} dB")
