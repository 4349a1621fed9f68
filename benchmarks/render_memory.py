"""Peak memory of drot's renders per pixel and per triangle: the figures of drot/optim/resources.py.

Each case runs in its own process and reports the growth of the peak resident set size
(``ru_maxrss``) over a warm-up render (at 8², or for a mesh case at the same resolution with a
small mesh): a render of every view at the target values without
gradients (``--mode views``), or one view rendered with gradients plus ``backward()`` (``--mode step``).

    python benchmarks/render_memory.py                      # the table of resources.py's docstring
    python benchmarks/render_memory.py --case kitty 512 step
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
import subprocess
import sys

CASES = [(s, r, m) for s in ("kitty", "box", "outdoor", "teapot", "joint") for r in (256, 512)
         for m in ("views", "step")]
MESHES = [(rings, m) for rings in (200, 400, 800) for m in ("views", "step")]


def measure(scene_name: str, resolution: int, mode: str, rings: int = 0) -> str:
    import torch

    import drot
    from drot.render.backend import get_backend
    from drot.render.renderer import render
    from drot.scene.kit import uv_sphere

    backend = get_backend("auto", torch.device("cpu"))

    def scene_at(res: int, sphere_rings: int):
        scene = drot.load_scene(scene_name, resolution=res)
        if sphere_rings:
            sphere = uv_sphere(0.5, sphere_rings, 2 * sphere_rings, color=(0.8, 0.5, 0.3))
            scene = dataclasses.replace(scene, mesh=sphere)
        return scene

    def run(scene) -> int:
        values = scene.target_values()
        if mode == "step":
            values = {k: v.clone().requires_grad_(True) for k, v in values.items()}
            render(scene.evaluate(values), [0], scene.resolution, backend).image.square().mean().backward()
            return 1
        with torch.no_grad():
            render(scene.evaluate(values), list(range(scene.num_views)), scene.resolution, backend)
        return scene.num_views

    run(scene_at(resolution, 8) if rings else scene_at(8, 0))  # warm-up: a mesh case keeps the resolution
    scene = scene_at(resolution, rings)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    views = run(scene)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    if rings:
        faces = int(scene.mesh.faces.shape[0])
        return f"{scene_name} {resolution}² {mode}: {faces} faces, {grown / faces:.0f} B per face"
    return f"{scene_name} {resolution}² {mode}: {grown / (resolution * resolution * views):.0f} B per pixel per view"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", nargs=3, metavar=("SCENE", "RESOLUTION", "MODE"), help="one case, in this process")
    p.add_argument("--rings", type=int, default=0, help="replace the mesh by a uv-sphere of that many rings")
    args = p.parse_args()
    if args.case:
        print(measure(args.case[0], int(args.case[1]), args.case[2], args.rings), flush=True)
        return
    cases = [[*map(str, c)] for c in CASES] + [["kitty", "32", m, "--rings", str(r)] for r, m in MESHES]
    for case in cases:
        subprocess.run([sys.executable, __file__, "--case", *case[:3], *case[3:]], check=True)


if __name__ == "__main__":
    main()
