"""The architecture: layers, no import circles, registries, grouped settings, one evaluation per iteration, the
composable RGBXY loss (and the example that uses it in a loop of its own)."""
import ast
import dataclasses
import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import torch

import drot
from drot.matching import MATCHERS, IdentityMatcher, register_matcher
from drot.optim.schedule import STRATEGIES, GradientSchedule, Strategy, register_strategy
from drot.optim.settings import DEFAULTS, FLAT, MatchingSettings, OptimizeSettings
from drot.render import torch_dr
from drot.render.torch_backend import TorchBackend
from drot.scene.kinds import KINDS, ParameterKind, register_kind

sys.path.insert(0, str(Path(__file__).parent))
import import_graph  # noqa: E402  (tests/import_graph.py)

ROOT = Path(__file__).resolve().parents[1]

# Lowest layer first; a module may import its own layer and the ones before it, never a later one.
LAYERS = ["threads", "report", "metrics", "matching", "render", "scene", "optim", "apps", "imitator", "eval"]


def _drot_imports(path: Path) -> set[str]:
    """Top-level drot packages a module imports (resolving relative imports)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                if len(parts) == 1:  # "from .. import metrics": the names are the modules
                    found.update(a.name for a in node.names)
                    continue
            else:
                parts = (node.module or "").split(".")
            if parts[0] == "drot" and len(parts) > 1:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "drot" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_no_layer_imports_a_higher_one():
    violations = []
    for path in sorted((ROOT / "drot").rglob("*.py")):
        parts = path.relative_to(ROOT / "drot").parts
        layer = parts[0].removesuffix(".py")
        if layer not in LAYERS:
            continue
        for imported in _drot_imports(path):
            if imported in LAYERS and LAYERS.index(imported) > LAYERS.index(layer):
                violations.append(f"{path.relative_to(ROOT)} imports drot.{imported}")
    assert not violations, violations


def test_no_import_circle_inside_or_between_packages():
    # Every import counts, deferred (inside a function) and TYPE_CHECKING ones too: see tests/import_graph.py.
    for title, graph in import_graph.sections(import_graph.module_files()):
        assert import_graph.report(graph) == [], f"import circles among {title}"


def test_the_circle_finder_sees_deferred_and_type_checking_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import f\n")
    (package / "a.py").write_text("from . import b\n\ndef f():\n    return b\n")
    (package / "b.py").write_text("def g():\n    from .sub.c import h\n    return h\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                          "    from ..a import f\nimport pkg.b\nimport os\n")
    files = import_graph.module_files(package)
    graph = import_graph.import_graph(files)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.sub.c"}, "pkg.sub": set(),
                     "pkg.sub.c": {"pkg.a", "pkg.b"}}
    assert import_graph.circles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert import_graph.report(graph) == ["pkg.a -> pkg.b -> pkg.sub.c -> pkg.a  (all of: pkg.a, pkg.b, pkg.sub.c)"]
    # Between packages: pkg.sub.c is part of pkg.sub, which pkg.b (in pkg) imports, and it imports pkg back.
    assert import_graph.circles(import_graph.package_graph(graph, ["pkg", "pkg.sub"])) == [["pkg", "pkg.sub"]]
    assert import_graph.circles({"x": {"y"}, "y": set()}) == []


def test_modules_stay_small():
    # One concept per module: nothing over ~400 lines except the Sinkhorn solver (one algorithm).
    allowed = {"drot/matching/sinkhorn.py"}
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "drot").rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 440 and str(p.relative_to(ROOT)) not in allowed}
    assert not big, big


# ------------------------------------------------------------------------------ settings
def test_settings_groups_and_flat_names_agree():
    s = OptimizeSettings(lam=0.1, iterations=30, record_frames=2, seed=3)
    assert s.matching.lam == 0.1 and s.lam == 0.1 and s.schedule.iterations == 30 and s.recording.record_frames == 2
    grouped = OptimizeSettings(matching=MatchingSettings(lam=0.1), seed=3,
                               schedule=dataclasses.replace(s.schedule), recording=s.recording)
    assert grouped == s
    r = dataclasses.replace(s, strategy="standard", blur=0.05)
    assert (r.strategy, r.blur, r.lam, r.seed) == ("standard", 0.05, 0.1, 3)
    assert set(s.flat()) == set(FLAT) | {"fixed", "regularizer", "seed", "device", "backend"} == set(DEFAULTS)
    with pytest.raises(TypeError, match="did you mean 'lam'"):
        OptimizeSettings(lamb=0.1)
    with pytest.raises(ValueError, match="lam"):
        OptimizeSettings(lam=2.0)


def test_settings_replace_takes_flat_names_groups_and_run_wide_fields():
    s = OptimizeSettings(lam=0.1, iterations=30, seed=3)
    r = s.replace(strategy="standard", blur=0.05, seed=4)
    assert (r.strategy, r.blur, r.lam, r.iterations, r.seed) == ("standard", 0.05, 0.1, 30, 4)
    assert r == dataclasses.replace(s, strategy="standard", blur=0.05, seed=4) and s.seed == 3
    # A group given whole, with a flat name on top of it; the other groups are kept.
    g = s.replace(matching=MatchingSettings(blur=0.05), lam=0.2)
    assert (g.matching.blur, g.matching.lam, g.iterations) == (0.05, 0.2, 30)
    with pytest.raises(TypeError, match="did you mean 'blur'"):
        s.replace(blurr=0.1)
    with pytest.raises(ValueError, match="lam"):
        s.replace(lam=-1.0)
    assert repr(OptimizeSettings()) == "OptimizeSettings()"
    assert repr(s) == "OptimizeSettings(iterations=30, lam=0.1, seed=3)"


def test_flat_names_are_checked_unique_across_the_groups():
    from drot.optim.settings import GROUPS, flat_names

    assert flat_names(GROUPS) == FLAT
    twin = dataclasses.make_dataclass("Twin", [("lam", float, 0.5)], frozen=True)
    with pytest.raises(TypeError, match=r"Twin.lam and MatchingSettings.lam share the flat name 'lam'"):
        flat_names({**GROUPS, "twin": twin})
    seedy = dataclasses.make_dataclass("Seedy", [("seed", int, 0)], frozen=True)
    with pytest.raises(TypeError, match=r"Seedy.seed has the name of a field of OptimizeSettings"):
        flat_names({**GROUPS, "seedy": seedy})


def _warnings(**kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drot.optimize(drot.load_scene("kitty", resolution=16), iterations=2, **kwargs)
    return [str(w.message) for w in caught if "is ignored" in str(w.message)]


def test_settings_a_component_ignores_are_named_in_a_warning():
    assert _warnings() == []
    assert _warnings(strategy="hybrid", lam=0.3, blur=0.02) == []
    messages = _warnings(strategy="standard", lam=0.3)
    assert len(messages) == 1 and "'lam'" in messages[0] and "standard" in messages[0]
    messages = _warnings(strategy="basic", matcher="bipartite", blur=0.05, max_points=64)
    assert sorted(m.split("'")[1] for m in messages) == ["blur", "max_points"]
    assert any("'soft_sigma'" in m for m in _warnings(strategy="standard", soft_sigma=1e-3))


# ---------------------------------------------------------------------------- registries
@pytest.fixture
def restore_registries():
    saved = dict(MATCHERS), dict(STRATEGIES), dict(KINDS)
    yield
    for registry, old in zip((MATCHERS, STRATEGIES, KINDS), saved):
        registry.clear()
        registry.update(old)


def test_a_new_matcher_is_one_class_and_its_registration(restore_registries):
    @register_matcher("nearest-position")
    class NearestPosition(IdentityMatcher):
        """The identity matcher under another name: enough to show the plumbing."""

    assert MATCHERS["nearest-position"] is NearestPosition and NearestPosition.name == "nearest-position"
    result = drot.optimize(drot.load_scene("kitty", resolution=16), strategy="basic", matcher="nearest-position",
                           iterations=3)
    assert [h["mode"] for h in result.history] == ["rgbxy"] * 3
    from drot.eval.cli import build_parser
    assert "nearest-position" in build_parser().parse_args(["--matcher", "nearest-position"]).matcher
    with pytest.raises(ValueError, match="already registered"):
        register_matcher("nearest-position")(IdentityMatcher)


def test_a_new_strategy_is_one_registration(restore_registries):
    register_strategy(Strategy("rgbxy-even", "even RGBXY", lambda it, switch, coin: it % 2 == 0))
    schedule = GradientSchedule("rgbxy-even", 6)
    assert [schedule.uses_rgbxy(i) for i in range(6)] == [True, False] * 3
    result = drot.optimize(drot.load_scene("kitty", resolution=16), strategy="rgbxy-even", iterations=4)
    assert [h["mode"] for h in result.history] == ["rgbxy", "standard"] * 2


def test_a_new_parameter_kind_is_one_registration(restore_registries):
    def lift(ev, items):
        for _, h in items:
            ev.vertices = ev.vertices + torch.cat([torch.zeros(2, dtype=h.dtype), h])

    register_kind(ParameterKind("lift", "move along +z [1]", "geometry", 5, lift, shapes=((1,),)))
    scene = drot.load_scene("kitty", resolution=16)
    mesh = scene.mesh
    lifted = drot.Scene("lifted", mesh, scene.cameras, (16, 16),
                        (drot.Parameter("h", "lift", torch.tensor([0.25]), initial=torch.tensor([0.0])),))
    v = lifted.world_vertices({"h": torch.tensor([0.25])})
    assert torch.allclose(v - mesh.vertices, torch.tensor([0.0, 0.0, 0.25]).expand_as(v))
    with pytest.raises(ValueError, match="kind lift must have shape"):
        drot.Parameter("h", "lift", torch.zeros(3), initial=torch.zeros(3))


def test_a_kind_declares_its_own_scope(restore_registries):
    from drot.scene import kit
    from drot.scene.kinds import scene_wide_kinds
    from drot.scene.objects import SceneObject

    assert scene_wide_kinds() == ["model", "camera_eye", "camera_target", "environment"]
    register_kind(ParameterKind("exposure", "a scene-wide brightness [1]", "appearance", 9, lambda ev, items: None,
                                shapes=((1,),), scope="scene"))
    assert "exposure" in scene_wide_kinds()
    exposure = drot.Parameter("x", "exposure", torch.ones(1), initial=torch.ones(1))
    sphere = kit.uv_sphere(0.4, rings=6, segments=8)
    with pytest.raises(ValueError, match=r"\['x'\] act on the whole scene .*exposure"):
        SceneObject("a", sphere, parameters=(exposure,))
    camera = drot.Camera(torch.tensor([0.0, 0.0, 5.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), 45.0, 0.1, 50.0)
    scene = drot.Scene.with_objects("x", [SceneObject("a", sphere)], [camera], 16, parameters=(exposure,))
    assert [p.name for p in scene.parameters] == ["x"]  # scene-level: accepted
    with pytest.raises(ValueError, match="scope must be one of"):
        register_kind(ParameterKind("glow", "?", "appearance", 9, lambda ev, items: None, scope="world"))


# ----------------------------------------------------------------- one evaluation per iteration
@pytest.mark.parametrize("strategy", ["basic", "standard"])
def test_the_loop_evaluates_the_scene_once_per_iteration(monkeypatch, strategy):
    calls = {"evaluate": 0, "world_vertices": 0}
    for name in calls:
        original = getattr(drot.Scene, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(drot.Scene, name, counted)
    iterations = 12
    result = drot.optimize(drot.load_scene("kitty", resolution=16), strategy=strategy, iterations=iterations,
                           record_frames=4, eval_every=3)
    # One per iteration, plus the target's and the start's (whose state serves iteration 0), plus one
    # for the animation (its 5 frames' parameter values, rendered in one batch after the run).
    assert calls == {"evaluate": iterations + 3, "world_vertices": 0}
    assert all(h["vertex_mae"] is not None for h in result.history)


# ------------------------------------------------------------- the RGBXY loss in your own loop
def test_torch_dr_has_nvdiffrast_signatures_and_the_backends_results():
    scene = drot.load_scene("kitty", resolution=24)
    state = scene.evaluate(scene.target_values())
    clip = state.clip_positions([0, 1])
    rast, rast_db = torch_dr.rasterize(torch_dr.RasterizeTorchContext(), clip, state.faces.int(), resolution=[24, 24])
    backend = TorchBackend()
    assert rast_db is None and torch.equal(rast, backend.rasterize(clip, state.faces, (24, 24)))
    color, _ = torch_dr.interpolate(state.colors, rast, state.faces.int())
    assert torch.equal(color, backend.interpolate(state.colors, rast, state.faces))
    assert torch.equal(torch_dr.antialias(color, rast, clip, state.faces.int()),
                       backend.antialias(color, rast, clip, state.faces))
    with pytest.raises(NotImplementedError, match="range mode"):
        torch_dr.rasterize(torch_dr.RasterizeTorchContext(), clip, state.faces, [24, 24], ranges=torch.zeros(1, 2))


def test_rgbxy_loss_matches_from_the_proxies_or_from_a_rendered_image():
    scene = drot.load_scene("kitty", resolution=24)
    goal = drot.render_views(scene.evaluate(scene.target_values()), [0], (24, 24), TorchBackend())
    state = scene.evaluate({"translation": torch.tensor([0.1, 0.05, 0.0])})
    frame = drot.render_views(state, [0], (24, 24), TorchBackend(), antialias=False)
    attrs, tri, clip = state.colors, state.faces, frame.clip
    from_image, from_proxies = drot.RgbxyLoss(goal.image, goal.mask), drot.RgbxyLoss(goal.image, goal.mask)
    assert from_image.settings.background == "exclude"  # with a mask, only foreground pixels are matched
    assert drot.RgbxyLoss(goal.image).settings.background == "include"  # without one, all pixels (paper §5.2.2)
    assert from_image.match(frame.rast, [0], frame.image)
    assert from_proxies.match(frame.rast, [0], clip=clip, tri=tri, attrs=attrs)
    a, b = from_image.loss(clip, tri, attrs), from_proxies.loss(clip, tri, attrs)
    # Unshaded vertex colours (from_proxies) vs the shaded render (from_image): both pull, differently.
    assert float(a) > 0 and float(b) > 0
    loss_fn = drot.RgbxyLoss(goal.image, match_interval=2)
    for it in range(5):
        assert loss_fn(frame.rast, clip, tri, attrs) is not None
        assert loss_fn.due(it + 1) == ((it + 1) % 3 == 0)
    empty = torch.zeros_like(frame.rast)
    assert drot.RgbxyLoss(goal.image)(empty, clip, tri, attrs) is None  # nothing visible: nothing to pull


def test_drot_render_is_the_package_and_render_views_the_function():
    import drot.render.torch_dr as dr  # the form nvdiffrast's users write
    import drot.render.renderer

    assert dr is torch_dr and drot.render.renderer.render is drot.render_views
    assert drot.render.__name__ == "drot.render" and drot.render.get_backend is drot.get_backend
    scene = drot.load_scene("kitty", resolution=16)
    state = scene.evaluate(scene.target_values())
    frame = drot.render_views(state, [0], (16, 16), TorchBackend())
    with pytest.warns(DeprecationWarning, match=r"drot\.render_views"):
        old = drot.render(state, [0], (16, 16), TorchBackend())  # the old name still renders
    assert torch.equal(old.image, frame.image) and frame.mask.any()
    assert "render_views" in drot.__all__ and "render" not in drot.__all__


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_own_loop_example_converges_where_l2_does_not(one_thread):
    example = _load_example("own_loop")
    drot_run = example.main(["--iterations", "150", "--resolution", "64"])
    l2_run = example.main(["--iterations", "150", "--resolution", "64", "--l2-only"])
    assert drot_run["start_error"] > 1.0
    assert drot_run["error"] < 0.02
    assert l2_run["error"] > 0.3
