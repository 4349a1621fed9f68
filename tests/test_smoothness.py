"""The smoothness prior on per-vertex offsets (``offset_smoothness``, drot/optim/smoothness.py)."""
import warnings

import pytest
import torch
from hypothesis import given, settings as hsettings, strategies as st

import drot
from drot.optim.smoothness import OffsetSmoothness
from drot.scene import kit


def _scene(mesh, kind="vertex_offsets", columns=3, target=None, name="s"):
    v = mesh.num_vertices
    return drot.Scene(name=name, mesh=mesh, cameras=drot.square_views(distance=3.0)[:1], resolution=(32, 32),
                      parameters=[drot.Parameter("off", kind, target=torch.zeros(v, columns) if target is None
                                                 else target, initial=torch.zeros(v, columns))])


def _naive(mesh, offsets: torch.Tensor) -> float:
    """mean_i |o_i - mean of i's neighbours|² / diagonal², one vertex at a time."""
    neighbours = {i: set() for i in range(mesh.num_vertices)}
    for a, b, c in mesh.faces.tolist():
        for x, y in ((a, b), (b, c), (c, a)):
            neighbours[x].add(y)
            neighbours[y].add(x)
    o = offsets.double()
    total = 0.0
    for i, js in neighbours.items():
        lap = o[i] - (o[sorted(js)].mean(0) if js else 0.0)
        total += float(lap.square().sum())
    v = mesh.vertices.double()
    return total / mesh.num_vertices / float((v.amax(0) - v.amin(0)).square().sum())


def test_prior_is_the_mean_squared_laplacian_over_the_squared_diagonal():
    mesh = kit.uv_sphere(rings=6, segments=8)
    offsets = torch.randn(mesh.num_vertices, 3, generator=torch.Generator().manual_seed(0))
    prior = OffsetSmoothness(_scene(mesh), (), 2.5)
    got = float(prior({"off": offsets[None]})[0])
    assert got == pytest.approx(2.5 * _naive(mesh, offsets), rel=1e-6)


@hsettings(max_examples=20, deadline=None)
@given(shift=st.lists(st.floats(-5, 5), min_size=3, max_size=3), k=st.floats(0.1, 10.0))
def test_prior_is_zero_for_a_translation_and_does_not_depend_on_units(shift, k):
    mesh = kit.uv_sphere(rings=5, segments=6)
    prior = OffsetSmoothness(_scene(mesh), (), 1.0)
    rigid = torch.tensor(shift, dtype=torch.float64).expand(mesh.num_vertices, 3)
    assert float(prior({"off": rigid[None]})[0]) == pytest.approx(0.0, abs=1e-20)
    bumpy = torch.randn(mesh.num_vertices, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    scaled = drot.Mesh(vertices=mesh.vertices * k, faces=mesh.faces)
    big = OffsetSmoothness(_scene(scaled), (), 1.0)({"off": (bumpy * k)[None]})[0]
    assert float(big) == pytest.approx(float(prior({"off": bumpy[None]})[0]), rel=1e-6)


def test_prior_of_several_starts_is_each_starts_own_and_planar_offsets_take_it_too():
    mesh = kit.uv_sphere(rings=5, segments=6)
    stacked = torch.randn(3, mesh.num_vertices, 2, generator=torch.Generator().manual_seed(2))
    prior = OffsetSmoothness(_scene(mesh, "planar_offsets", 2), (), 1.0)
    batch = prior({"off": stacked})
    assert batch.shape == (3,)
    for s in range(3):
        assert float(batch[s]) == pytest.approx(float(prior({"off": stacked[s:s + 1]})[0]), rel=1e-6)
    assert not OffsetSmoothness(_scene(mesh), ("off",), 1.0)  # fixed: no prior


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), True, "1"])
def test_bad_weight_names_itself(value):
    with pytest.raises(ValueError, match="offset_smoothness"):
        drot.OptimizeSettings(offset_smoothness=value)


def test_a_scene_without_offsets_runs_exactly_as_without_the_prior():
    # Like the other levers, the prior acts only where its parameters are (Table 1's drot row turns it
    # on for every scene): a translation-only scene gives the same run, bit for bit.
    scene = drot.Scene(name="t", mesh=kit.uv_sphere(rings=5, segments=6), cameras=drot.square_views(distance=3.0)[:1],
                       resolution=(16, 16), parameters=[drot.Parameter("t", "translation", target=torch.zeros(3),
                                                                       initial=torch.tensor([0.1, 0.0, 0.0]))])
    a = drot.optimize(scene, iterations=6, seed=0)
    b = drot.optimize(scene, iterations=6, seed=0, offset_smoothness=10.0)
    assert torch.equal(a.parameters["t"], b.parameters["t"])


def test_the_prior_keeps_offsets_smooth_where_the_image_cannot_see():
    # A sphere's vertices pulled toward a smooth target: the prior leaves a lower Laplacian energy and
    # changes the run (it is added to the loss of every iteration).
    mesh = kit.uv_sphere(rings=8, segments=10)
    target = 0.1 * mesh.vertices * torch.tensor([1.0, 0.0, 0.0])  # stretch along x
    scene = _scene(mesh, target=target)
    prior = OffsetSmoothness(scene, (), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = drot.optimize(scene, iterations=40, strategy="standard", lr=0.01, seed=0)
        smooth = drot.optimize(scene, iterations=40, strategy="standard", lr=0.01, seed=0, offset_smoothness=100.0)
    e_plain = float(prior({"off": plain.parameters["off"][None]})[0])
    e_smooth = float(prior({"off": smooth.parameters["off"][None]})[0])
    assert e_smooth < 0.5 * e_plain
