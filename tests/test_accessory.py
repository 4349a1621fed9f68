"""Accessory warps: the four-point homography, the TPS, quad modes, the accessory scene, fitting and
loading images (drot.apps.warps, drot.apps.accessory, drot.apps.accessory_assets)."""
import dataclasses

import numpy as np
import pytest
import torch

import drot
from drot.apps.accessory import (FitSettings, Placement, accessory_mask, accessory_mesh, accessory_scene,
                                 as_accessory, canvas_to_pixels, corner_displacement, fit_accessory, load_accessory,
                                 load_portrait, mask_iou, pixels_to_canvas, scene_corners)
from drot.apps.accessory_assets import ACCESSORY_KINDS, TARGET_PLACEMENTS, accessory_image, portrait
from drot.apps.warps import (UNIT_SQUARE, apply_homography, check_corners, corner_jacobian, grid_points,
                             homography_from_corners, quad_corners, quad_decoupling, quad_modes, tps_bending_energy,
                             tps_warp, warp_by_corners)
from drot.render.renderer import render

BACKEND = drot.get_backend("torch")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py
QUAD = torch.tensor([[0.1, 0.2], [1.3, -0.1], [1.1, 1.4], [-0.2, 0.9]], dtype=torch.float64)


def numpy_dlt(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Reference homography: the classic 9-unknown DLT, null vector by SVD."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    h = np.linalg.svd(np.asarray(rows))[2][-1].reshape(3, 3)
    return h / h[2, 2]


# ------------------------------------------------------------------------------- homography
def test_homography_maps_the_unit_square_corners_exactly_and_matches_numpy_dlt():
    square = torch.tensor(UNIT_SQUARE, dtype=torch.float64)
    h = homography_from_corners(square, QUAD)
    assert torch.allclose(apply_homography(h, square), QUAD, atol=1e-12)
    reference = numpy_dlt(square.numpy(), QUAD.numpy())
    assert np.allclose(h.numpy(), reference, atol=1e-10)
    points = torch.rand(100, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    homo = np.c_[points.numpy(), np.ones(100)] @ reference.T
    assert np.allclose(apply_homography(h, points).numpy(), homo[:, :2] / homo[:, 2:], atol=1e-10)
    # General source quads too, batched, and float32 corners stay accurate (the solve runs in float64).
    src = QUAD.flip(0).float()[None].expand(3, 4, 2)
    dst = (QUAD.float() * 20 + 5)[None].expand(3, 4, 2)
    assert torch.allclose(apply_homography(homography_from_corners(src, dst), src), dst, atol=1e-4)


def test_gradients_flow_to_the_corners():
    points = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    corners = QUAD.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: warp_by_corners(points, c), (corners,))
    warp_by_corners(points, corners).sum().backward()
    assert corners.grad.abs().min() > 0  # every corner coordinate moves the points
    auto = torch.autograd.functional.jacobian(lambda c: warp_by_corners(points, c), QUAD)
    assert torch.allclose(corner_jacobian(QUAD, points), auto, atol=1e-7)


@pytest.mark.parametrize("corners", [
    [[0, 0], [1, 0], [2, 0], [0, 1]],            # three on one line
    [[0, 0], [1, 1], [2, 2], [3, 3]],            # all on one line
    [[0, 0], [0, 0], [1, 1], [0, 1]],            # two coincide
])
def test_degenerate_corners_are_a_clear_error(corners):
    with pytest.raises(ValueError, match="collinear"):
        homography_from_corners(torch.tensor(UNIT_SQUARE), torch.tensor(corners, dtype=torch.float32))
    with pytest.raises(ValueError, match="collinear"):
        check_corners(torch.tensor(corners, dtype=torch.float32))


# -------------------------------------------------------------------------------------- TPS
def test_tps_with_identity_controls_is_the_identity_and_affine_warps_do_not_bend():
    gen = torch.Generator().manual_seed(2)
    control = grid_points(3, torch.float64)
    points = torch.rand(50, 2, dtype=torch.float64, generator=gen)
    assert torch.allclose(tps_warp(points, control, control), points, atol=1e-10)
    assert float(tps_bending_energy(control, control)) == pytest.approx(0.0, abs=1e-10)
    affine = torch.tensor([[1.2, 0.3], [-0.2, 0.9]], dtype=torch.float64)
    moved = control @ affine.T + torch.tensor([0.5, -0.1], dtype=torch.float64)
    assert torch.allclose(tps_warp(points, control, moved), points @ affine.T + torch.tensor([0.5, -0.1]).double(),
                          atol=1e-10)
    assert float(tps_bending_energy(control, moved)) == pytest.approx(0.0, abs=1e-9)
    bent = control.clone()
    bent[4] += torch.tensor([0.1, -0.05], dtype=torch.float64)  # the middle control point only
    energy = tps_bending_energy(control, bent.requires_grad_(True))
    assert energy.item() > 1e-3
    energy.backward()
    assert bent.grad.abs().sum() > 0
    assert torch.allclose(tps_warp(control, control, bent), bent, atol=1e-10)  # interpolates its controls


# ------------------------------------------------------------------------------- quad modes
def test_quad_modes_round_trip_and_decoupling():
    half = (0.375, 0.125)  # 24 x 8 glasses on a 64-pixel canvas, in canvas units
    modes = torch.tensor([0.1, -0.3, 0.2, 0.3, -0.1, 0.15, 0.1, -0.05], dtype=torch.float64)
    assert torch.allclose(quad_modes(quad_corners(modes, half), half), modes, atol=1e-8)
    rest = quad_corners(torch.zeros(8, dtype=torch.float64), half)
    assert torch.allclose(rest, torch.tensor([[-0.375, -0.125], [0.375, -0.125], [0.375, 0.125], [-0.375, 0.125]],
                                             dtype=torch.float64))
    samples = grid_points(5, torch.float64)
    coupling = quad_decoupling(half, samples)
    assert torch.allclose(quad_modes(quad_corners(modes, half, coupling), half, coupling), modes, atol=1e-8)
    # Decoupled: at the rest shape every mode's pixel motion is orthogonal to the translations'.
    jac = corner_jacobian(rest, samples).reshape(-1, 8) @ torch.func.jacfwd(
        lambda m: quad_corners(m, half, coupling).reshape(8))(torch.zeros(8, dtype=torch.float64))
    gram = jac.T @ jac
    assert gram[:2, 2:].abs().max() < 1e-8 * gram.diagonal().max()
    p = Placement(center=(30.0, 20.0), scale=1.2, angle=10.0, tilt=(0.1, -0.05), aspect=1.1, shear=0.05)
    back = Placement.from_corners(p.corners((8, 24)), (8, 24))
    assert back.center == pytest.approx(p.center) and back.angle == pytest.approx(p.angle)
    assert back.tilt == pytest.approx(p.tilt, abs=1e-6) and back.scale == pytest.approx(p.scale)


# -------------------------------------------------------------------------------- the scene
@pytest.mark.parametrize("kind", ACCESSORY_KINDS)
def test_accessory_mesh_covers_exactly_the_opaque_texels_at_identity_placement(kind):
    acc = accessory_image(kind)
    h, w = acc.shape[:2]
    corners = torch.tensor([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    scene = accessory_scene(acc, torch.zeros(h, w, 3), corners)  # rendered at the accessory's own size
    frame = render(scene.evaluate(scene.target_values()), [0], scene.resolution, BACKEND, antialias=False)
    opaque = acc[..., 3] >= 0.5
    assert torch.equal(frame.mask[0], opaque)
    assert torch.allclose(frame.image[0][opaque], acc[..., :3][opaque], atol=1e-5)  # texel colours, unlit
    mesh = accessory_mesh(acc)
    assert mesh.num_faces == 2 * int(opaque.sum())
    assert torch.allclose(scene_corners(scene, scene.target_values()), corners, atol=1e-4)


def test_scene_round_trips_corners_and_the_tps_at_rest_changes_nothing():
    acc, bg = accessory_image("glasses"), portrait()
    target = TARGET_PLACEMENTS["glasses"]
    scene = accessory_scene(acc, bg, target)
    assert torch.allclose(scene_corners(scene, scene.target_values()), target.corners((8, 24)), atol=1e-4)
    px = torch.tensor([[3.0, 5.0], [60.0, 32.0]])
    assert torch.allclose(canvas_to_pixels(pixels_to_canvas(px, (64, 64)), (64, 64)), px)
    with_tps = accessory_scene(acc, bg, target, tps_grid=3)
    assert {p.name for p in with_tps.parameters} == {"pose", "shape", "tps"}
    values = with_tps.target_values()
    assert torch.allclose(with_tps.world_vertices(values), scene.world_vertices(scene.target_values()), atol=1e-5)
    assert float(with_tps.geometry.bending_energy(values)) == pytest.approx(0.0, abs=1e-9)
    values["tps"] = values["tps"] + 0.02 * torch.randn(9, 2, generator=torch.Generator().manual_seed(0))
    assert float(with_tps.geometry.bending_energy(values)) > 0


def test_gradients_reach_the_placement_through_the_renderer():
    scene = accessory_scene(accessory_image("hat"), portrait(), TARGET_PLACEMENTS["hat"])
    values = {k: v.requires_grad_(True) for k, v in scene.target_values().items()}
    image = render(scene.evaluate(values), [0], scene.resolution, BACKEND).image
    (image * torch.linspace(0, 1, 64)[None, None, :, None]).sum().backward()
    assert values["pose"].grad.abs().sum() > 0 and values["shape"].grad.abs().sum() > 0


def test_metrics():
    a = torch.tensor([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    assert corner_displacement(a, a, (64, 64)) == 0.0
    assert corner_displacement(a + torch.tensor([6.4, 0.0]), a, (64, 64)) == pytest.approx(0.1)
    m = torch.zeros(4, 4, dtype=torch.bool)
    m[:2] = True
    assert mask_iou(m, m) == 1.0 and mask_iou(m, ~m) == 0.0 and mask_iou(m, torch.ones(4, 4, dtype=torch.bool)) == 0.5


def test_short_drot_fit_from_a_non_overlapping_start_reduces_disp():
    scene = accessory_scene(accessory_image("glasses"), portrait(), TARGET_PLACEMENTS["glasses"])
    start = Placement(center=(20.0, 52.0))
    quick = FitSettings(pose=dataclasses.replace(FitSettings().pose, iterations=60),
                        warp=dataclasses.replace(FitSettings().warp, iterations=20))
    fit = fit_accessory(scene, start, "hybrid", quick)
    assert fit.start_iou == 0.0  # the start does not overlap the target at all
    assert fit.disp < 0.25 * fit.start_disp
    assert fit.iou > 0.5
    assert torch.allclose(fit.start_corners, start.corners((8, 24)), atol=1e-3)
    # The pose stage leaves the start's shape alone (a plain rectangle here).
    pose_shape = fit.pose_result.parameters["shape"] * 1e-6
    assert pose_shape.abs().max() < 1e-4


# ----------------------------------------------------------------------------- bad inputs
def test_accessory_without_alpha_is_a_clear_error():
    with pytest.raises(ValueError, match="no alpha channel.*expected RGBA"):
        accessory_scene(torch.rand(8, 24, 3), portrait(), TARGET_PLACEMENTS["glasses"])
    with pytest.raises(ValueError, match="fully transparent"):
        as_accessory(torch.zeros(4, 4, 4))


def test_portrait_smaller_than_the_accessory_is_a_clear_error():
    with pytest.raises(ValueError, match="at least as large as the accessory"):
        accessory_scene(accessory_image("hat"), torch.rand(10, 64, 3), [[0, 0], [26, 0], [26, 14], [0, 14]])


def test_degenerate_or_off_canvas_targets_are_clear_errors():
    acc, bg = accessory_image("glasses"), portrait()
    with pytest.raises(ValueError, match="collinear"):
        accessory_scene(acc, bg, [[10, 10], [20, 10], [30, 10], [10, 20]])
    with pytest.raises(ValueError, match="no accessory pixel on the"):
        accessory_scene(acc, bg, Placement(center=(200.0, 200.0)))


# ------------------------------------------------------------------------------ real images
def test_loading_pngs(tmp_path):
    import imageio.v3 as iio

    acc = (accessory_image("tie").numpy() * 255).round().astype(np.uint8)
    padded = np.zeros((30, 20, 4), dtype=np.uint8)
    padded[3:25, 5:15] = acc  # transparent padding around it: cropped away on loading
    iio.imwrite(tmp_path / "tie.png", padded)
    loaded = load_accessory(tmp_path / "tie.png")
    assert loaded.shape == (22, 10, 4) and loaded.dtype == torch.float32
    assert torch.allclose(loaded, torch.from_numpy(acc).float() / 255)
    assert load_accessory(tmp_path / "tie.png", crop=False).shape == (30, 20, 4)

    iio.imwrite(tmp_path / "rgb.png", acc[..., :3])
    with pytest.raises(ValueError, match="rgb.png.*no alpha channel"):
        load_accessory(tmp_path / "rgb.png")
    with pytest.raises(FileNotFoundError):
        load_accessory(tmp_path / "missing.png")

    face = (portrait().numpy() * 255).round().astype(np.uint8)
    iio.imwrite(tmp_path / "face.png", face)
    iio.imwrite(tmp_path / "face_rgba.png", np.concatenate([face, np.full((64, 64, 1), 255, np.uint8)], 2))
    for name in ("face.png", "face_rgba.png"):
        assert torch.allclose(load_portrait(tmp_path / name), torch.from_numpy(face).float() / 255)
    scene = accessory_scene(loaded, load_portrait(tmp_path / "face.png"), TARGET_PLACEMENTS["tie"])
    assert accessory_mask(scene, scene.target_values()).sum() == int((acc[..., 3] >= 128).sum())


def test_tps_fit_adds_the_bending_energy_to_the_warp_stage():
    acc, bg = accessory_image("glasses"), portrait()
    scene = accessory_scene(acc, bg, TARGET_PLACEMENTS["glasses"], tps_grid=3)
    quick = FitSettings(pose=dataclasses.replace(FitSettings().pose, iterations=4),
                        warp=dataclasses.replace(FitSettings().warp, iterations=4))
    plain = fit_accessory(scene, settings=dataclasses.replace(quick, bending_weight=0.0), seed=1)
    bent = fit_accessory(scene, settings=dataclasses.replace(quick, bending_weight=1e6), seed=1)
    # The same first warp-stage step, except for the penalty: the stiff fit keeps the TPS offsets smaller.
    assert plain.warp_result.history[0]["loss"] == pytest.approx(bent.warp_result.history[0]["loss"], rel=1e-3)
    energy = lambda fit: float(scene.geometry.bending_energy(fit.warp_result.parameters))  # noqa: E731
    assert energy(bent) <= energy(plain)
