"""Fitting an accessory's placement: :func:`fit_accessory`, two ``drot.optimize`` stages (the pose by the
method, then the full perspective warp by per-pixel L2) set by :class:`FitSettings`, giving an :class:`AccessoryFit`.
"""
from __future__ import annotations

import dataclasses

import torch

from ...optim import OptimizationResult, OptimizeSettings, optimize
from ...scene.scene import Scene
from .metrics import DISP_THRESHOLD, IOU_THRESHOLD, accessory_mask, corner_displacement, mask_iou
from .placement import pixels_to_canvas, placement_corners
from .scene import scene_corners
from .warp import AccessoryWarp


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """The two stages of :func:`fit_accessory` (coarse to fine in the warp model).

    Attributes:
        pose: stage 1, the similarity (pose: position, scale, rotation; shape held at the start's):
            its ``strategy`` is replaced by the method of the run (``"hybrid"``: DROT, ``"standard"``:
            the L2 baseline).
        warp: stage 2, the full perspective warp (pose and shape, and the TPS offsets when the
            scene has them), from stage 1's result: per-pixel L2 (standard derivatives), the
            fine-alignment step of the hybrid schedule, for every method.
        bending_weight: weight of the TPS bending energy added to the warp stage's loss (scenes
            with a TPS grid only).
    """

    bending_weight: float = 1e-3
    pose: OptimizeSettings = OptimizeSettings(iterations=200, lr=0.02, lr_decay=0.995)
    warp: OptimizeSettings = OptimizeSettings(iterations=200, lr=0.02, lr_decay=0.995, strategy="standard")


@dataclasses.dataclass(frozen=True)
class AccessoryFit:
    """One recovered placement.

    Attributes:
        method: the stage-1 strategy (``"hybrid"``, ``"standard"``, ...).
        pose_result, warp_result: the :class:`~drot.optim.OptimizationResult` of each stage.
        start_corners, pose_corners, corners, target_corners: pixel corners ``[4, 2]`` (float32) at
            the start, after stage 1, at the end, and of the target.
        disp, iou: final Disp and mask IoU; ``start_disp``, ``start_iou``: the same at the start
            (``start_iou`` 0: the start does not overlap the target at all).
        wall_seconds: both stages' optimisation time.
    """

    method: str
    pose_result: OptimizationResult
    warp_result: OptimizationResult
    start_corners: torch.Tensor
    pose_corners: torch.Tensor
    corners: torch.Tensor
    target_corners: torch.Tensor
    disp: float
    iou: float
    start_disp: float
    start_iou: float

    @property
    def success(self) -> bool:
        """``disp <= DISP_THRESHOLD and iou >= IOU_THRESHOLD``."""
        return self.disp <= DISP_THRESHOLD and self.iou >= IOU_THRESHOLD

    @property
    def wall_seconds(self) -> float:
        return self.pose_result.wall_seconds + self.warp_result.wall_seconds

    @property
    def frames(self) -> list[torch.Tensor]:
        """Animation frames of both stages (when ``record_frames`` was asked for)."""
        return list(self.pose_result.frames) + list(self.warp_result.frames)

    def summary(self) -> dict:
        """Scalar figures (for tables, JSON, CSV)."""
        return {"method": self.method, "seed": self.pose_result.settings.seed, "start_disp": self.start_disp,
                "start_iou": self.start_iou, "disp": self.disp, "iou": self.iou, "success": self.success,
                "wall_s": self.wall_seconds, "corners": self.corners.tolist(),
                "target_corners": self.target_corners.tolist()}


def fit_accessory(scene: Scene, start=None, method: str = "hybrid", settings: FitSettings | None = None, *,
                  seed: int = 0, record_frames: int = 0) -> AccessoryFit:
    """Recover the accessory's target placement in ``scene`` from ``start``: two ``drot.optimize`` runs.

    1. *Pose* (global): the similarity — position, scale, rotation — with the start's shape held
       fixed, by ``method`` (``"hybrid"``: DROT, RGBXY derivatives and optimal transport then
       per-pixel L2; ``"standard"``: the L2 baseline).
    2. *Warp* (local): all eight modes of the perspective warp from stage 1's result, by
       per-pixel L2 (``settings.warp``).

    Why two stages: with all eight modes free from the start, the optimal-transport pull on a
    far-away accessory (or on a tiny one: 8-pixel-tall glasses) is rarely a pure similarity, and
    its small non-similar part, which Adam turns into full-size steps of the shape modes, tilts,
    shears and flattens the accessory on its way (see ``benchmarks/accessory_warps.py``, ablation);
    the pose alone is recovered reliably and lands within a pixel or two, where per-pixel
    derivatives finish the perspective warp (12 instances of the benchmark: one stage 8/12, all
    four glasses starts failing; two stages 12/12).

    Args:
        scene: from :func:`accessory_scene` (its target placement is the goal).
        start: start placement (pixel corners ``[4, 2]`` or :class:`Placement`); default: the scene's.
        method: the stage-1 strategy (see :class:`drot.OptimizeSettings`).
        settings: :class:`FitSettings` (default: 200 + 200 iterations).
        seed: seeds both stages.
        record_frames: animation frames to keep per stage.
    """
    warp = scene.geometry
    if not isinstance(warp, AccessoryWarp):
        raise ValueError(f"scene {scene.name!r} is not an accessory scene (build it with accessory_scene)")
    settings = settings or FitSettings()
    res = scene.resolution
    params = {p.name: p for p in scene.parameters}
    if start is None:
        initial = scene.initial_values(seed)
    else:
        initial = warp.parameters(pixels_to_canvas(placement_corners(start, warp.size_hw, "start (accessory corners)"), res))
        initial.update({k: v.initial.clone() for k, v in params.items() if k not in initial})
    target = scene.target_values()

    # Stage 1: the pose alone (the shape frozen at the start's, no TPS), toward the true target composite.
    pose_only = lambda values: {"pose": values["pose"], "shape": values["shape"]}  # noqa: E731
    pose_scene = dataclasses.replace(scene, parameters=(params["pose"], params["shape"]))
    pose_result = optimize(pose_scene, pose_only(target),
                           settings.pose.replace(strategy=method, seed=seed, fixed=("shape",),
                                                 record_frames=record_frames),
                           initial=pose_only(initial))
    # Stage 2: every parameter, from stage 1's pose.
    stage2_start = dict(initial, pose=pose_result.parameters["pose"].cpu())
    regularizer = None
    if warp.tps_grid:
        regularizer = lambda values: settings.bending_weight * warp.bending_energy(values)  # noqa: E731
    warp_result = optimize(scene, None, settings.warp.replace(seed=seed, record_frames=record_frames,
                                                              regularizer=regularizer),
                           initial=stage2_start)

    target_mask = accessory_mask(scene, target)
    final = warp_result.parameters
    return AccessoryFit(
        method=method, pose_result=pose_result, warp_result=warp_result,
        start_corners=scene_corners(scene, initial), pose_corners=scene_corners(scene, stage2_start),
        corners=scene_corners(scene, final), target_corners=scene_corners(scene, target),
        disp=corner_displacement(scene_corners(scene, final), scene_corners(scene, target), res),
        iou=mask_iou(accessory_mask(scene, final), target_mask),
        start_disp=corner_displacement(scene_corners(scene, initial), scene_corners(scene, target), res),
        start_iou=mask_iou(accessory_mask(scene, initial), target_mask))
