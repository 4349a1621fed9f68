"""Procedural meshes: valid, closed and outward-facing primitives, and a well-formed KITTY cat."""
import math

import numpy as np
import pytest
import torch
import trimesh

from drot.scene.mesh import Mesh
from drot.scene.assets import make_cat
from drot.scene.kit import box, cone, cylinder, ellipsoid, paint, plane, transform, tube, uv_sphere


def _tm(mesh: Mesh, weld: bool = False) -> trimesh.Trimesh:
    # process=False keeps our vertices; weld merges the box's duplicated edge vertices
    return trimesh.Trimesh(mesh.vertices.double().numpy(), mesh.faces.numpy(), process=weld)


def _face_normals(mesh: Mesh) -> np.ndarray:
    v, f = mesh.vertices.double().numpy(), mesh.faces.numpy()
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


_TUBE_PATH = [[0, 0, 0], [0, 1, 0], [0.5, 1.8, 0.2], [1.5, 2.0, 1.0]]

CLOSED = {
    # name: (mesh, expected volume, relative tolerance of the faceted approximation)
    "sphere": (uv_sphere(1.5, 24, 48, center=(1, 2, 3)), 4 / 3 * math.pi * 1.5 ** 3, 0.03),
    "ellipsoid": (ellipsoid((1, 2, 0.5), 24, 48), 4 / 3 * math.pi * 1.0, 0.03),
    "box": (box((1, 2, 3), center=(0.5, 0, 0), subdivisions=3), 6.0, 1e-9),
    "cylinder": (cylinder(0.5, 2.0, 64, center=(0, 1, 0)), math.pi * 0.25 * 2.0, 0.01),
    "cone": (cone(1.0, 3.0, 64), math.pi / 3 * 3.0, 0.01),
    "tube": (tube(_TUBE_PATH, [0.1, 0.2, 0.2, 0.1], 16), None, None),
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_closed_primitives_are_watertight_and_outward(name):
    mesh, volume, rtol = CLOSED[name]
    assert mesh.vertices.dtype == torch.float32 and mesh.faces.dtype == torch.int64
    assert mesh.colors is not None and mesh.colors.shape == mesh.vertices.shape
    t = _tm(mesh, weld=(name == "box"))
    assert t.is_watertight and t.is_winding_consistent
    assert t.volume > 0  # counter-clockwise seen from outside <=> positive signed volume
    if volume is not None:
        assert t.volume == pytest.approx(volume, rel=rtol)


def test_sphere_counts_and_placement():
    m = uv_sphere(2.0, rings=8, segments=12, center=(1, -1, 0.5))
    assert m.num_vertices == 7 * 12 + 2 and m.num_faces == 2 * 12 * 7
    r = torch.linalg.norm(m.vertices - torch.tensor([1, -1, 0.5]), dim=1)
    assert torch.allclose(r, torch.full_like(r, 2.0), atol=1e-5)
    assert m.vertices[:, 1].max() == pytest.approx(1.0, abs=1e-5)  # pole on +Y


def test_box_is_flat_and_axis_aligned():
    m = box((2, 4, 6), subdivisions=2)
    assert m.num_faces == 6 * 2 * 2 * 2 and m.num_vertices == 6 * 9
    assert torch.allclose(m.vertices.abs().max(0).values, torch.tensor([1.0, 2.0, 3.0]))
    # each face lies on a side: its normal is an axis and the face sits on that axis' extreme
    n = _face_normals(m)
    assert np.allclose(np.abs(n).max(1), 1.0)


def test_cylinder_open_and_cone_apex():
    open_ = cylinder(1.0, 2.0, 16, capped=False)
    t = _tm(open_)
    assert not t.is_watertight and t.is_winding_consistent
    assert open_.num_faces == 2 * 16
    # the open side still faces outwards: normals point away from the axis
    v = open_.vertices.double().numpy()
    centroid = v[open_.faces.numpy()].mean(1)
    assert (np.einsum("ij,ij->i", _face_normals(open_)[:, [0, 2]], centroid[:, [0, 2]]) > 0).all()
    c = cone(0.5, 1.0, 16, center=(0, 2, 0))
    assert c.vertices[:, 1].max() == pytest.approx(2.5) and c.vertices[:, 1].min() == pytest.approx(1.5)


def test_plane_faces_up():
    m = plane((2.0, 3.0), subdivisions=4, color=(0.1, 0.2, 0.3))
    assert m.num_faces == 2 * 16 and m.num_vertices == 25
    assert np.allclose(_face_normals(m), [0, 1, 0])
    assert torch.all(m.vertices[:, 1] == 0)
    assert torch.allclose(m.vertices[:, 0].abs().max(), torch.tensor(1.0))
    assert torch.allclose(m.vertices[:, 2].abs().max(), torch.tensor(1.5))
    assert torch.allclose(m.colors, torch.tensor([0.1, 0.2, 0.3]).expand_as(m.colors))


def test_tube_follows_path_with_radii_and_point_colors():
    cols = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], float)
    m = tube(_TUBE_PATH, [0.1, 0.2, 0.2, 0.1], segments=8, color=cols)
    ring = m.vertices[:4 * 8].double().numpy().reshape(4, 8, 3)
    dist = np.linalg.norm(ring - np.asarray(_TUBE_PATH, float)[:, None], axis=2)
    assert np.allclose(dist, np.array([0.1, 0.2, 0.2, 0.1])[:, None], atol=1e-6)
    assert torch.allclose(m.colors[:8], torch.tensor([1.0, 0, 0]).expand(8, 3))
    with pytest.raises(ValueError):
        tube([[0, 0, 0]], 0.1)


def test_callable_color_transform_and_paint():
    m = uv_sphere(1.0, 6, 8, color=lambda v: np.where(v[:, 1:2] > 0, [1.0, 0, 0], [0, 0, 1.0]))
    top = m.vertices[:, 1] > 0
    assert torch.all(m.colors[top, 0] == 1) and torch.all(m.colors[~top, 2] == 1)
    rot = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # 90 degrees about X
    moved = transform(m, scale=(1, 2, 1), rotation=rot, translation=(0, 0, 5))
    assert torch.equal(moved.colors, m.colors)
    assert _tm(moved).volume == pytest.approx(_tm(m).volume * 2, rel=1e-5)  # winding kept
    assert torch.allclose(paint(moved, (0, 1, 0)).colors[:, 1], torch.ones(moved.num_vertices))
    with pytest.raises(ValueError):
        transform(m, scale=(-1, 1, 1))


@pytest.fixture(scope="module")
def cat() -> Mesh:
    return make_cat()


def test_cat_is_normalized(cat):
    lo, hi = cat.vertices.min(0).values, cat.vertices.max(0).values
    assert float((hi - lo).max()) == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose((lo + hi) / 2, torch.zeros(3), atol=1e-5)


def test_cat_size_and_colors(cat):
    assert 2_000 <= cat.num_faces <= 20_000
    assert cat.colors is not None and cat.colors.shape == cat.vertices.shape
    assert cat.colors.min() >= 0 and cat.colors.max() <= 1
    # ginger fur, white, pink ears, near-black pupils: several clearly distinct colours
    q = torch.unique((cat.colors * 4).round(), dim=0)
    assert q.shape[0] >= 3
    assert (cat.colors.sum(1) > 2.7).any()                             # white
    assert (cat.colors.sum(1) < 0.3).any()                             # dark eyes
    assert ((cat.colors[:, 0] > 0.8) & (cat.colors[:, 2] < 0.3)).float().mean() > 0.2  # mostly ginger
    # every part is closed and outward (union of closed parts: watertight, positive volume)
    t = _tm(cat)
    assert t.is_watertight and t.is_winding_consistent and t.volume > 0


def test_cat_is_a_standing_cat_facing_z(cat):
    v = cat.vertices
    ext = v.max(0).values - v.min(0).values
    assert ext[2] == ext.max()           # longest along Z (body + head + tail)
    dark = cat.colors.sum(1) < 0.3       # eyes sit in front and high up
    assert v[dark, 2].min() > 0.3 and v[dark, 1].min() > 0.0


def test_cat_deterministic_and_detail():
    a, b = make_cat(), make_cat()
    assert torch.equal(a.vertices, b.vertices) and torch.equal(a.faces, b.faces)
    assert torch.equal(a.colors, b.colors)
    assert make_cat(detail=2).num_faces > 3 * a.num_faces
    with pytest.raises(ValueError):
        make_cat(detail=0)
