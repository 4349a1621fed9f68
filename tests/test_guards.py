"""Guards: degenerate targets refused or reported, target images validated and scaled, the loop
stopped at a non-finite loss or parameter, divergence warned about, memory checked before rendering."""
import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

import drot
from drot.optim import DivergenceWarning, OptimizationDiverged, resources
from drot.scene.mesh import mesh_from_arrays


@pytest.fixture(scope="module")
def kitty16():
    return drot.load_scene("kitty", resolution=16)


@pytest.fixture(scope="module")
def kitty_images(kitty16):
    """KITTY's target renders ``[6, 16, 16, 3]`` in [0, 1]."""
    return drot.optimize(kitty16, iterations=1, strategy="standard").target_images.clamp(0, 1)


# ----------------------------------------------------------------------------- degenerate targets
def test_cameras_looking_away_are_refused(kitty16):
    away = dataclasses.replace(kitty16, cameras=tuple(dataclasses.replace(c, target=2 * c.eye - c.target)
                                                      for c in kitty16.cameras))
    with pytest.raises(ValueError, match=r"shows nothing.*covers no pixel in any of its 6 view.*cameras look away"):
        drot.optimize(away, iterations=2)


def test_far_plane_closer_than_the_object_is_refused(kitty16):
    near_far = dataclasses.replace(kitty16, cameras=tuple(dataclasses.replace(c, far=0.05) for c in kitty16.cameras))
    with pytest.raises(ValueError, match=r"covers no pixel.*near/far planes"):
        drot.optimize(near_far, iterations=2)


def test_zero_area_triangles_are_refused(kitty16):
    v = kitty16.mesh.vertices.numpy()
    faces = np.stack([np.arange(len(v) - 1), np.arange(len(v) - 1), np.arange(1, len(v))], 1)  # (i, i, i+1): no area
    flat = dataclasses.replace(kitty16, mesh=mesh_from_arrays(v, faces))
    with pytest.raises(ValueError, match="zero area"):
        drot.optimize(flat, iterations=2)


def test_all_zero_alpha_is_refused(kitty16, kitty_images):
    rgba = torch.cat([kitty_images, torch.zeros_like(kitty_images[..., :1])], -1)
    with pytest.raises(ValueError, match="alpha channel of every target image is .*zero"):
        drot.optimize(kitty16, rgba, iterations=2)


def test_black_image_target_is_refused(kitty16):
    with pytest.raises(ValueError, match=r"every target image is black \(6 view"):
        drot.optimize(kitty16, torch.zeros(6, 16, 16, 3), iterations=2)


def test_views_without_foreground_are_reported(kitty16, kitty_images):
    images = kitty_images.clone()
    images[[1, 4]] = 0
    empty = r"target view\(s\) 1, 4 of 6 show no foreground \(the target image is black\)"
    with pytest.warns(UserWarning, match=empty):
        result = drot.optimize(kitty16, images, iterations=3, strategy="standard")
    assert result.empty_target_views == (1, 4)
    assert any("1, 4" in n for n in result.notes)
    assert result.summary()["empty_target_views"] == [1, 4]
    alpha = torch.ones_like(kitty_images[..., :1])
    alpha[2] = 0
    with pytest.warns(UserWarning, match=r"view\(s\) 2 of 6 .*alpha is zero"):
        result = drot.optimize(kitty16, torch.cat([kitty_images, alpha], -1), iterations=3, strategy="standard")
    assert result.empty_target_views == (2,)


def test_a_run_that_could_not_apply_its_strategy_says_so(kitty16):
    far = {"translation": torch.tensor([100.0, 0.0, 0.0])}  # out of every view: nothing to match, ever
    with pytest.warns(UserWarning, match="strategy 'hybrid' ran no RGBXY iteration"):
        result = drot.optimize(kitty16, iterations=8, initial=far)
    assert result.iterations_by_mode == {"standard": 8}
    assert result.notes and "ran no RGBXY iteration" in result.notes[0]
    assert result.summary()["notes"] == list(result.notes)


def test_a_normal_run_counts_its_modes_and_has_no_notes(kitty16):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = drot.optimize(kitty16, iterations=8, seed=1)
    assert result.iterations_by_mode == {"rgbxy": 6, "standard": 2}
    assert result.notes == () and result.empty_target_views == ()
    assert result.summary()["iterations_by_mode"] == {"rgbxy": 6, "standard": 2}


# ------------------------------------------------------------------------------- target images
def test_integer_images_are_scaled_like_files(kitty16, kitty_images):
    u8 = (kitty_images * 255).round().to(torch.uint8)
    as_float = drot.optimize(kitty16, u8.float() / 255, iterations=3, seed=2, strategy="standard")
    from_u8 = drot.optimize(kitty16, u8, iterations=3, seed=2, strategy="standard")
    from_numpy = drot.optimize(kitty16, list(u8.numpy()), iterations=3, seed=2, strategy="standard")
    u16 = (kitty_images.double() * 65535).round().numpy().astype(np.uint16)
    from_u16 = drot.optimize(kitty16, u16, iterations=3, seed=2, strategy="standard")
    assert float(from_u8.target_images.max()) <= 1.0 and float(from_u8.target_images.max()) > 0.5
    assert torch.equal(from_u8.target_images, as_float.target_images)
    assert torch.equal(from_numpy.target_images, as_float.target_images)
    assert torch.allclose(from_u16.target_images, kitty_images, atol=1e-5)
    assert torch.equal(from_u8.parameters["translation"], as_float.parameters["translation"])


def test_other_integer_and_bool_images_are_refused(kitty16):
    for dtype in (torch.int32, torch.int64, torch.bool):
        with pytest.raises(ValueError, match=rf"target images has dtype {dtype}: give float values in \[0, 1\], uint8"):
            drot.optimize(kitty16, torch.ones(6, 16, 16, 3, dtype=dtype), iterations=1)
    with pytest.raises(ValueError, match=r"target images has dtype bool"):
        drot.optimize(kitty16, np.ones((6, 16, 16, 3), bool), iterations=1)
    with pytest.raises(ValueError, match=r"target image 3 has dtype int16"):
        drot.optimize(kitty16, [np.ones((16, 16, 3), np.float32)] * 3 + [np.ones((16, 16, 3), np.int16)] * 3,
                      iterations=1)


def test_float_images_on_another_scale_are_refused(kitty16, kitty_images):
    images = kitty_images.clone()
    images[2] *= 255
    with pytest.raises(ValueError, match=r"target image 2 has values in \[0, \d+.*\]: float target images must be "
                                         r"in \[0, 1\].*divide 0-255 values by 255"):
        drot.optimize(kitty16, images, iterations=1)
    slightly = kitty_images.clone()
    slightly[0, 0, 0] = 1.2  # a render's highlight overshoot is clamped, as before
    assert float(drot.optimize(kitty16, slightly, iterations=1).target_images.max()) == 1.0


def test_mixed_sizes_and_channels_name_the_image(kitty16, kitty_images, tmp_path):
    import imageio.v3 as iio

    items = list(kitty_images)
    items[4] = torch.zeros(20, 16, 3)
    with pytest.raises(ValueError, match=r"target images are \(20, 16\) pixels but .*\(target image 4\)"):
        drot.optimize(kitty16, items, iterations=1)
    paths = []
    for v in range(6):
        size = 12 if v == 5 else 16
        paths.append(tmp_path / f"view{v}.png")
        iio.imwrite(paths[-1], np.zeros((size, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(12, 16\) pixels .*target image 5 \(.*view5.png\)"):
        drot.optimize(kitty16, paths, iterations=1)
    items = list(kitty_images)
    items[3] = torch.cat([items[3], torch.ones(16, 16, 1)], -1)
    with pytest.raises(ValueError, match="target image 3 has 4 channels but target image 0 has 3"):
        drot.optimize(kitty16, items, iterations=1)


# ------------------------------------------------------------------------ finiteness, divergence
def test_nan_regularizer_stops_the_loop_naming_the_iteration(kitty16):
    calls = []

    def regularizer(values):
        calls.append(1)
        return values["translation"].sum() * (math.nan if len(calls) == 4 else 0.0)

    with pytest.raises(OptimizationDiverged, match=r"the loss became nan at iteration 3 \(the regularizer's term is "
                                                   r"nan\)") as info:
        drot.optimize(kitty16, iterations=10, regularizer=regularizer, strategy="standard")
    err = info.value
    assert err.iteration == 3 and err.parameter is None and math.isnan(err.value)
    assert [h["iteration"] for h in err.history] == [0, 1, 2]
    assert all(torch.isfinite(v).all() for v in err.last_finite.values())


def test_non_finite_gradient_stops_the_loop_naming_the_parameter(kitty16):
    # sqrt(|x - x|) is 0 (a finite loss) but its gradient is 0 * inf = nan: the step makes the parameter nan.
    def regularizer(values):
        t = values["translation"]
        return (t - t.detach()).abs().sqrt().sum() if values["translation"].requires_grad else t.sum() * 0

    with pytest.raises(OptimizationDiverged, match=r"parameter 'translation' became nan at the step of iteration 0 "
                                                   r"\(its gradient was not finite\)") as info:
        drot.optimize(kitty16, iterations=5, regularizer=regularizer, strategy="standard", seed=3)
    err = info.value
    assert (err.iteration, err.parameter, err.history) == (0, "translation", [])
    assert torch.equal(err.last_finite["translation"], kitty16.initial_values(3)["translation"])


def test_huge_learning_rate_warns_of_divergence(kitty16):
    with pytest.warns(DivergenceWarning, match=r"parameter 'translation' is [\d.e+]+ away from its target value "
                                               r"at iteration 0, more than 10 x the span 2 of its init_range"):
        result = drot.optimize(kitty16, iterations=4, lr=1e6, strategy="standard")
    assert float(result.parameters["translation"].abs().max()) > 1e5  # it did diverge


# ---------------------------------------------------------------------------------- settings
def test_frame_view_out_of_range(kitty16):
    with pytest.raises(ValueError, match=r"frame_view=6 is out of range: scene 'kitty' has 6 view\(s\), "
                                         r"numbered 0 to 5"):
        drot.optimize(kitty16, iterations=1, record_frames=2, frame_view=6)


def test_negative_seed():
    with pytest.raises(ValueError, match="seed must be an integer >= 0.*got -1"):
        drot.OptimizeSettings(seed=-1)


# ---------------------------------------------------------------------------------- resources
def test_memory_guard_refuses_before_rendering(kitty16, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": 2 ** 20)  # 1 MiB
    rendered = []
    monkeypatch.setattr(drot.optim.loop, "resolve_goal", lambda *a: rendered.append(1))
    with pytest.raises(MemoryError, match=r"scene 'kitty' at resolution 16x16 with 6 view\(s\) and a mesh of 7280 "
                                          r"triangles needs about .* GiB .* only 0.000977 GiB of cpu memory"):
        drot.optimize(kitty16, iterations=1)
    assert not rendered


def test_memory_estimate_scales_and_real_limit_refuses_a_huge_resolution():
    small = resources.estimate_bytes((64, 64), 6, 1000)
    per_face = resources.BYTES_PER_FACE
    assert resources.estimate_bytes((128, 128), 6, 1000) - per_face * 1000 == 4 * (small - per_face * 1000)
    assert resources.estimate_bytes((64, 64), 6, 2000) - small == 1000 * per_face
    free = resources.available_memory()
    assert free is None or free > 2 ** 20
    huge = drot.load_scene("kitty", resolution=100_000)  # 10^10 pixels: tens of terabytes, refused at once
    with pytest.raises(MemoryError, match="resolution 100000x100000"):
        drot.optimize(huge, iterations=1)


def test_memory_guard_counts_the_mesh(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": 4 * 2 ** 30)
    assert resources.check_memory((64, 64), 6, 100_000) < 4 * 2 ** 30  # a small render of a big mesh fits
    with pytest.raises(MemoryError, match=r"a mesh of 20000000 triangles needs about 8.\d+ GiB .* only 4 GiB"):
        resources.check_memory((64, 64), 6, 20_000_000)
