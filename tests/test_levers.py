"""drot's levers beyond the paper: look-alike jumps, per-parameter gradient source, VectorAdam, planar offsets."""
import math

import pytest
import torch
from hypothesis import given, settings as hsettings, strategies as st

import drot
from drot.optim.jumps import cube_group, jump_iterations, matrix_to_axis_angle, matrix_to_euler, proposals
from drot.optim.vector_adam import VectorAdam
from drot.scene.kinds import axis_angle_matrix, euler_matrix


def test_cube_group_is_the_24_rotations_of_the_cube_closed_under_composition():
    g = cube_group(torch.float64)
    assert g.shape == (24, 3, 3) and torch.equal(g[0], torch.eye(3, dtype=torch.float64))
    assert torch.allclose(g @ g.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(24, 3, 3))
    assert torch.allclose(torch.det(g), torch.ones(24, dtype=torch.float64))
    flat = {tuple(m.flatten().tolist()) for m in g}
    assert len(flat) == 24
    assert all(tuple((a @ b).flatten().tolist()) in flat for a in g for b in g)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-4.0, 4.0), min_size=3, max_size=3))
def test_matrix_conversions_round_trip(v):
    rotvec = torch.tensor(v, dtype=torch.float64)
    m = axis_angle_matrix(rotvec)
    assert torch.allclose(axis_angle_matrix(matrix_to_axis_angle(m).double()), m, atol=1e-5)
    m = euler_matrix(rotvec)
    assert torch.allclose(euler_matrix(matrix_to_euler(m).double()), m, atol=1e-5)


def test_half_turns_convert_exactly():
    for axis in torch.eye(3, dtype=torch.float64):
        m = axis_angle_matrix(axis * math.pi)
        assert torch.allclose(axis_angle_matrix(matrix_to_axis_angle(m).double()), m, atol=1e-6)


def test_proposals_per_kind():
    angle = torch.tensor([[0.3], [1.0]])
    p = proposals("rotation", torch.tensor([0.0, 1.0, 0.0]), angle)
    assert p.shape == (2, 3, 1) and torch.allclose(p[0, :, 0], 0.3 + torch.tensor([0.5, 1.0, 1.5]) * math.pi)
    for kind in ("rotation", "euler"):
        value = torch.tensor([[0.2, -0.4, 0.9]])
        cand = proposals(kind, None, value)
        assert cand.shape == (1, 23, 3)
        to_matrix = axis_angle_matrix if kind == "rotation" else euler_matrix
        composed = to_matrix(value.double())[:, None] @ cube_group(torch.float64)[1:][None]
        assert torch.allclose(to_matrix(cand.double()), composed, atol=1e-5)
    assert proposals("translation", None, torch.zeros(2, 3)).shape[1] == 0


def test_jump_iterations():
    assert jump_iterations(1000, 0.25, 749) == [249, 499, 749]
    assert jump_iterations(1000, 0.25, 998) == [249, 499, 749]
    assert jump_iterations(1000, 0.0, 749) == []
    assert jump_iterations(100, 0.3, 50) == [29]


def _turned_cube(initial_angle: float):
    scene = drot.load_scene("cube", resolution=32)
    initial = {"rotation": torch.tensor([initial_angle]), "translation": torch.zeros(3)}
    return scene, initial


def test_a_jump_leaves_a_look_alike_pose_that_gradients_do_not():
    # The coloured cube turned a quarter about its axis: the silhouette matches, the colours do not.
    scene, initial = _turned_cube(math.pi / 2)
    kw = dict(iterations=24, initial=initial, seed=0, strategy="basic")
    stuck = drot.optimize(scene, **kw)
    jumped = drot.optimize(scene, jump_interval=0.25, **kw)
    assert stuck.vertex_mae > 0.2
    assert jumped.vertex_mae < 0.05
    (it, before, after), *_ = jumped.starts[0].jumps
    assert it == 5 and after < before
    assert "jumps" in jumped.summary() and "jumps" not in stuck.summary()


def test_no_jump_when_no_proposal_is_better():
    scene, initial = _turned_cube(0.0)
    result = drot.optimize(scene, iterations=12, initial=initial, seed=0, jump_interval=0.25)
    assert result.starts[0].jumps == () and result.vertex_mae < 0.05


def test_appearance_only_scene_runs_standard_derivatives_throughout():
    scene = drot.load_scene("teapot", resolution=32)
    result = drot.optimize(scene, iterations=10, seed=0, appearance_gradients="standard")
    assert result.iterations_by_mode == {"standard": 10}
    assert any("appearance_gradients='standard'" in n for n in result.notes)


def test_mixed_scene_keeps_rgbxy_for_geometry_and_differs_from_the_paper():
    scene = drot.load_scene("joint", resolution=32)  # translation, rotation, scale and a texture
    a = drot.optimize(scene, iterations=12, seed=0)
    b = drot.optimize(scene, iterations=12, seed=0, appearance_gradients="standard")
    assert b.iterations_by_mode.get("rgbxy", 0) == a.iterations_by_mode.get("rgbxy", 0) > 0
    assert not torch.equal(a.parameters["texture"], b.parameters["texture"])


def test_vector_adam_elementwise_group_is_adam_and_vector_steps_follow_the_gradient():
    torch.manual_seed(0)
    x0 = torch.randn(4, 5)
    a, b = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    ref, ours = torch.optim.Adam([a], lr=0.1), VectorAdam([{"params": [b]}], lr=0.1)
    for _ in range(5):
        for p, opt in ((a, ref), (b, ours)):
            opt.zero_grad()
            (p.sin() * torch.arange(5.0)).sum().backward()
            opt.step()
    assert torch.allclose(a, b, atol=1e-6)
    v = torch.zeros(2, 3, requires_grad=True)
    opt = VectorAdam([{"params": [v], "vector": True}], lr=0.1)
    g = torch.tensor([[1.0, 0.1, 0.0], [0.0, 0.0, -2.0]])
    v.grad = g.clone()
    opt.step()
    step = -v.detach()
    assert torch.allclose(step / step.norm(dim=1, keepdim=True), g / g.norm(dim=1, keepdim=True), atol=1e-5)
    assert torch.allclose(step.norm(dim=1), torch.full((2,), 0.1), atol=1e-4)  # Adam's first step: lr


def test_vector_adam_runs_with_starts_and_halving():
    scene = drot.load_scene("kitty", resolution=32)
    result = drot.optimize(scene, iterations=16, starts=4, seed=0, optimizer="vector_adam", jump_interval=0.25)
    assert len(result.starts) == 4 and math.isfinite(result.vertex_mae)


@pytest.mark.parametrize("name, value, fragment", [
    ("jump_interval", 1.0, "jump_interval"), ("appearance_gradients", "l2", "appearance_gradients"),
    ("optimizer", "sgd", "optimizer")])
def test_bad_lever_settings_name_themselves(name, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        drot.OptimizeSettings(**{name: value})


def test_planar_offsets_move_vertices_in_the_plane_only():
    from drot.scene.assets import make_gingerbread

    mesh = make_gingerbread(detail=0.3, flat=True)
    v = mesh.num_vertices
    scene = drot.Scene(name="g", mesh=mesh, cameras=drot.square_views(distance=3.0)[:1], resolution=(32, 32),
                       parameters=[drot.Parameter("off", "planar_offsets", target=torch.zeros(v, 2),
                                                  initial=torch.zeros(v, 2))])
    off = torch.randn(v, 2)
    moved = scene.evaluate({"off": off}).vertices - scene.evaluate({"off": torch.zeros(v, 2)}).vertices
    assert torch.allclose(moved[:, :2], off, atol=1e-5) and moved[:, 2].abs().max() == 0
    with pytest.raises(ValueError, match=r"planar vertex offsets must be \[\d+, 2\]"):
        drot.Scene(name="g", mesh=mesh, cameras=drot.square_views(distance=3.0)[:1], resolution=(32, 32),
                   parameters=[drot.Parameter("off", "planar_offsets", target=torch.zeros(v, 3),
                                              initial=torch.zeros(v, 3))])


def test_view_frame_round_trips_and_a_depth_step_keeps_the_image_position():
    from drot.optim.view_frame import view_frame

    scene = drot.load_scene("scenes/paper/joint.toml", resolution=32)
    start = {p.name: (p.initial if p.initial is not None else p.target) for p in scene.parameters}
    frame = view_frame(scene, start, ())
    assert frame.names == ("left/translation", "right/translation")
    t = torch.tensor([[-4.0, 0.3, 0.5], [1.0, -1.0, 2.0]])
    internal = frame.to_internal("left/translation", t)
    assert torch.allclose(frame.to_world("left/translation", internal), t, atol=1e-4)
    # Moving the third coordinate moves the object's centre along its viewing ray: its image stays put.
    cam = scene.cameras[0]
    deeper = frame.to_world("left/translation", internal + torch.tensor([0.0, 0.0, 0.5]))
    rest = frame.rest["left/translation"].float()
    ray_a, ray_b = rest + t - cam.eye, rest + deeper - cam.eye
    cos = torch.nn.functional.cosine_similarity(ray_a, ray_b, dim=1)
    assert torch.allclose(cos, torch.ones(2), atol=1e-6) and (ray_b.norm(dim=1) > ray_a.norm(dim=1)).all()


def test_view_frame_run_reports_world_translations():
    scene = drot.load_scene("scenes/paper/joint.toml", resolution=32)
    result = drot.optimize(scene, iterations=6, seed=0, translation_frame="view")
    start = result.starts[0].initial_parameters["left/translation"]
    assert torch.allclose(start, torch.tensor([-4.0, 0.0, 0.0]))
    assert (result.parameters["left/translation"] - start).abs().max() < 0.5  # a few lr-sized steps, in scene units


def test_view_frame_translations_share_vector_adams_moment(monkeypatch):
    """(u, v, log depth) x the object's depth are one vector to VectorAdam: a small object's weak,
    noisy depth signal moves it by its share of the gradient, not by full lr-sized steps."""
    from drot.optim import loop

    made = []
    real = loop.make_optimizer

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(loop, "make_optimizer", spy)
    scene = drot.load_scene("scenes/paper/joint.toml", resolution=32)
    drot.optimize(scene, iterations=2, seed=0, translation_frame="view", optimizer="vector_adam")
    vectors = [p for g in made[0].param_groups if g["vector"] for p in g["params"]]
    state = made[0].state[vectors[0]]
    assert len(vectors) == 2 and all(v.shape[-1] == 3 for v in vectors)  # the two translations
    assert state["exp_avg_sq"].shape[-1] == 1  # one second moment per translation
