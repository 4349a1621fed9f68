"""drot.RgbxyLoss checks what drot.optimize checks: views in another order while a matching is in
force match again (no stale matching); 0-255 float, NaN and all-black targets are refused; and,
without drot._C (the pure-torch proxies), mismatched attributes, bad triangle indices and a
rasterization of another mesh are errors naming the argument, not bare IndexErrors."""
import pytest
import torch

import drot
from drot.render import extension
from drot.render.torch_backend import TorchBackend


@pytest.fixture(scope="module")
def frames():
    scene = drot.load_scene("kitty", resolution=24)
    goal = drot.render_views(scene.evaluate(scene.target_values()), [0, 1], (24, 24), TorchBackend())
    state = scene.evaluate({"translation": torch.tensor([0.1, 0.05, 0.0])})
    frame = drot.render_views(state, [0, 1], (24, 24), TorchBackend(), antialias=False)
    return goal, state, frame


@pytest.fixture(params=["op", "no _C"])
def implementation(request, monkeypatch):
    if request.param == "no _C":
        monkeypatch.setattr(extension, "op_supports", lambda device: False)
        monkeypatch.setattr(extension, "announce_fallback", lambda *a, **k: None)
    elif not extension.op_supports(torch.device("cpu")):
        pytest.skip("drot._C is not built")
    return request.param


def test_views_in_another_order_match_again_instead_of_reusing_the_matching(frames, implementation):
    goal, state, frame = frames
    loss_fn = drot.RgbxyLoss(goal.image, goal.mask, match_interval=100)
    attrs, tri, clip = state.colors, state.faces, frame.clip
    first = loss_fn(frame.rast, clip, tri, attrs, views=[0, 1])
    assert loss_fn.views == (0, 1)
    swapped = loss_fn(frame.rast.flip(0), clip.flip(0), tri, attrs, views=[1, 0])
    assert loss_fn.views == (1, 0)  # matched again, although no match was due
    assert torch.allclose(first, swapped, rtol=1e-4)  # the same pairs in another order: the same loss


@pytest.mark.parametrize("target, message", [
    (lambda img: img * 255, r"RgbxyLoss target has values in \[0, 2\d\d(\.\d+)?\]: .* divide 0-255 values by 255"),
    (lambda img: torch.zeros_like(img), r"RgbxyLoss target shows nothing to match \(2 view\(s\)\): every target "
                                        r"image is black"),
    (lambda img: img.clone().index_fill_(1, torch.tensor([3]), float("nan")), r"RgbxyLoss target contains NaN")])
def test_targets_drot_optimize_refuses_are_refused(frames, target, message):
    goal, _, _ = frames
    with pytest.raises(ValueError, match=message):
        drot.RgbxyLoss(target(goal.image))


def test_an_empty_mask_is_refused(frames):
    goal, _, _ = frames
    with pytest.raises(ValueError, match=r"its mask \(or alpha\) is empty in every view"):
        drot.RgbxyLoss(goal.image, torch.zeros_like(goal.mask))


def test_mismatched_mesh_inputs_are_named_with_and_without_the_extension(frames, implementation):
    goal, state, frame = frames
    attrs, tri, clip = state.colors, state.faces, frame.clip
    loss_fn = drot.RgbxyLoss(goal.image, goal.mask)
    with pytest.raises(ValueError, match=r"attrs must be \[V, C\] or \[B, V, C\] with V = \d+"):
        loss_fn(frame.rast, clip, tri, attrs[:-5])
    bad_tri = tri.clone()
    bad_tri[0, 0] = clip.shape[1] + 7
    with pytest.raises(ValueError, match=rf"tri indices must be in \[0, {clip.shape[1] - 1}\]"):
        loss_fn(frame.rast, clip, bad_tri, attrs)
    with pytest.raises(ValueError, match=r"tri must be integer \[F, 3\]"):
        loss_fn(frame.rast, clip, tri.float(), attrs)
    with pytest.raises(ValueError, match=r"rast names triangle \d+ but tri has 4: the rasterization is of another mesh"):
        loss_fn(frame.rast, clip, tri[:4], attrs)
    with pytest.raises(ValueError, match=r"clip must be \[B, V, 4\] with B = 2"):
        loss_fn(frame.rast, clip[:1], tri, attrs)
    assert loss_fn(frame.rast, clip, tri, attrs) is not None  # the same inputs, whole, work
    with pytest.raises(ValueError, match=r"attrs must be"):  # and the loss of the matching in force checks too
        loss_fn.loss(clip, tri, attrs[:-1])
