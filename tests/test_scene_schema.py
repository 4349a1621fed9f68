"""The scene-file schema (drot.scene.schema): typos, wrong types and impossible combinations are errors
that name the file, the table and the key; every built-in scene file validates."""
import copy
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from drot.scene import schema, values
from drot.scene.kinds import KINDS, ParameterKind
from drot.scene.loader import load_scene, scene_config
from drot.scene.procedural_meshes import PROCEDURAL
from drot.scene.schema import validate

ROOT = Path(__file__).resolve().parents[1]
KITTY = (ROOT / "scenes" / "kitty.toml").read_text()
SCENE_FILES = sorted((ROOT / "scenes").glob("*.toml")) + sorted((ROOT / "scenes" / "paper").glob("*.toml"))


@pytest.mark.parametrize("path", SCENE_FILES, ids=lambda p: str(p.relative_to(ROOT / "scenes")))
def test_every_built_in_scene_file_validates(path):
    cfg, found = scene_config(path)
    validate(cfg, found)  # raises on any problem


def test_the_built_in_scenes_are_all_checked():
    assert {p.stem for p in SCENE_FILES} >= {"kitty", "buddha", "cube", "ginger", "box", "teapot", "outdoor", "joint"}


# KITTY with its one object under [[objects]] (the format the multi-object loader reads) and an [optimize] table.
# (the top-level [material] goes: the object has its own, and one that applies to no object is refused)
OBJECTS = re.sub(r"\[material\].*?\n\n", "", KITTY, count=1, flags=re.S).replace(
    '[mesh]\nprocedural = "cat"\nnormalize = true\n', "").replace(
    "[[parameters]]", '''[[objects]]
name = "cat"
[objects.mesh]
procedural = "cat"
normalize = true
[objects.material]
diffuse = 0.7
[[objects.parameters]]
name = "turn"
kind = "rotation"
axis = [0.0, 1.0, 0.0]
pivot = [0.0, 0.0, 0.0]
target = [0.0]
init_range = [-0.5, 0.5]

[[parameters]]''') + "\n[optimize]\niterations = 200\nlr = 0.01\nlr_decay = 0.5\nseeds = 3\nresolution = 64\n"

CAMERAS = re.sub(r"\[views\].*?\n\n", '[views]\nfov = 60.0\n[[views.cameras]]\neye = [0.0, 0.0, 2.0]\n'
                 'target = [0.0, 0.0, 0.0]\n[[views.cameras]]\neye = [2.0, 0.0, 0.0]\n\n', KITTY, flags=re.S)


def _write(tmp_path, text):
    path = tmp_path / "typo.toml"
    path.write_text(text)
    return path


def test_the_edited_copies_of_kitty_are_valid(tmp_path):
    for text in (OBJECTS, CAMERAS):
        validate(*scene_config(_write(tmp_path, text)))
    assert load_scene(_write(tmp_path, CAMERAS), resolution=16).num_views == 2


# (base text, old, new, the misspelt key, table named in the message, closest valid key)
TYPOS = [
    (KITTY, "resolution = 128", "resolutoin = 128", "resolutoin", "at the top level", "resolution"),
    (KITTY, "[material]", "[materail]", "materail", "at the top level", "material"),
    (KITTY, "[[parameters]]", "[[parameter]]", "parameter", "at the top level", "parameters"),
    (KITTY, 'procedural = "cat"', 'procedual = "cat"', "procedual", "[mesh]", "procedural"),
    (KITTY, "normalize = true", "normalise = true", "normalise", "[mesh]", "normalize"),
    (KITTY, "shininess = 32", "shinyness = 32", "shinyness", "[material]", "shininess"),
    (KITTY, "distance = 2.0", "distnace = 2.0", "distnace", "[views]", "distance"),
    (KITTY, "jitter = 0.1", "jiter = 0.1", "jiter", "[views]", "jitter"),
    (CAMERAS, "target = [0.0, 0.0, 0.0]\n[[views", "traget = [0.0, 0.0, 0.0]\n[[views", "traget", "[[views.cameras]] #1", "target"),
    (CAMERAS, "[[views.cameras]]", "[[views.camera]]", "camera", "[views]", "cameras"),
    (KITTY, "init_range = [-1.0, 1.0]", "init_rnage = [-1.0, 1.0]", "init_rnage", "[[parameters]] #1", "init_range"),
    (KITTY, 'kind = "translation"', 'knid = "translation"', "knid", "[[parameters]] #1", "kind"),
    (KITTY, "target = [0.0, 0.0, 0.0]\ninit_range = [-1.0, 1.0]",
     'init_range = [-1.0, 1.0]\n[parameters.target]\nprocedual = "constant"\nargs = { shape = [3] }', "procedual",
     "[[parameters]] #1 [target]", "procedural"),
    (KITTY, "success_threshold = 0.01", "success_treshold = 0.01", "success_treshold", "[benchmark]", "success_threshold"),
    (KITTY, "[benchmark]", "[benchmrak]", "benchmrak", "at the top level", "benchmark"),
    (OBJECTS, 'name = "cat"', 'nmae = "cat"', "nmae", '[[objects]] #1', "name"),
    (OBJECTS, "[objects.mesh]", "[objects.mseh]", "mseh", '[[objects]] "cat"', "mesh"),
    (OBJECTS, 'procedural = "cat"', 'procedral = "cat"', "procedral", '[[objects]] "cat" [mesh]', "procedural"),
    (OBJECTS, "diffuse = 0.7", "difuse = 0.7", "difuse", '[[objects]] "cat" [material]', "diffuse"),
    (OBJECTS, "pivot = [", "pivto = [", "pivto", '[[objects]] "cat" [[parameters]] #1', "pivot"),
    (OBJECTS, "[[objects]]", "[[object]]", "object", "at the top level", "objects"),
    (OBJECTS, "lr_decay = 0.5", "lr_decy = 0.5", "lr_decy", "[optimize]", "lr_decay"),
    (OBJECTS, "[optimize]", "[optimise]", "optimise", "at the top level", "optimize"),
]


@pytest.mark.parametrize("base, old, new, typo, table, closest", TYPOS, ids=[t[3] for t in TYPOS])
def test_a_typo_in_any_table_names_the_file_table_and_closest_key(tmp_path, base, old, new, typo, table, closest):
    assert old in base
    path = _write(tmp_path, base.replace(old, new, 1))
    with pytest.raises(ValueError) as info:
        load_scene(path)
    message = str(info.value)
    assert message.startswith(f"scene file {path}")
    assert f"unknown key {typo!r}" in message
    assert table in message
    if table.startswith("["):
        assert message.startswith(f"scene file {path} {table}:")
    assert re.search(rf"did you mean '{closest}'", message)
    assert "valid keys: " in message and closest in message.split("valid keys: ")[1]


# (old, new, key named, fragment of what is allowed)
WRONG = [
    ("resolution = 128", 'resolution = "32"', "resolution", "positive integer or an [H, W] pair"),
    ("resolution = 128", "resolution = 0", "resolution", "positive integer"),
    ("resolution = 128", "resolution = [32]", "resolution", "[H, W] pair"),
    ("resolution = 128", "resolution = [32, -4]", "resolution", "[H, W] pair"),
    ("resolution = 128", "resolution = 12.5", "resolution", "positive integer"),
    ("distance = 2.0", 'distance = "2"', "distance", "a positive number"),
    ("fov = 60.0", "fov = true", "fov", "a number in (0, 180)"),
    ("seed = 0", "seed = 0.5", "seed", "an integer"),
    ("distance = 2.0", "distance = 2.0\ncenter = [0.0, 0.0]", "center", "an array of 3 numbers"),
    ("diffuse = 0.8", 'diffuse = "0.8"', "diffuse", "a number in [0, 10]"),
    ("normalize = true", "normalize = 1", "normalize", "true or false"),
    ('procedural = "cat"', 'procedural = "dog"', "procedural", "unknown procedural mesh 'dog'"),
    ("normalize = true", "normalize = true\nscale = -2.0", "scale", "a positive number"),
    ("normalize = true", "normalize = true\nscale = false", "scale", "a positive number"),
    ("normalize = true", 'normalize = true\nuv = "cubic"', "uv", "unknown UV projection 'cubic'"),
    ("target = [0.0, 0.0, 0.0]", "target = [0.0, 0.0, 0.0]\naxis = [0.0, 1.0]", "axis", "an array of 3 numbers"),
    ("target = [0.0, 0.0, 0.0]", 'target = [0.0, "a", 0.0]', "target", "nested array of numbers"),
    ("target = [0.0, 0.0, 0.0]", 'target = { procedural = "plaid" }', "procedural", "unknown procedural value 'plaid'"),
    ("init_range = [-1.0, 1.0]", "init_range = [1.0, -1.0]", "init_range", "low <= high"),
    ('kind = "translation"', 'kind = "translaton"', "kind", "did you mean 'translation'"),
    ('kind = "translation"', "kind = 3", "kind", "parameter kind name"),
    ('name = "translation"', "name = 7", "name", "a non-empty string"),
    ('metric = "vertex_mae"', 'metric = "ssim"', "metric", "unknown metric 'ssim'"),
    ("success_threshold = 0.01", 'success_threshold = "0.01"', "success_threshold", "a number"),
    ('rig = "square"', 'rig = "sqaure"', "rig", "did you mean 'square'"),
    ('name = "kitty"', 'name = "kitty"\nlight_position = [0.0, 2.0]', "light_position", "an array of 3 numbers"),
]


@pytest.mark.parametrize("old, new, key, allowed", WRONG, ids=[w[1].split("\n")[-1] for w in WRONG])
def test_wrong_types_name_the_key_the_value_and_what_is_allowed(tmp_path, old, new, key, allowed):
    assert old in KITTY
    path = _write(tmp_path, KITTY.replace(old, new, 1))
    with pytest.raises(ValueError) as info:
        load_scene(path)
    message = str(info.value)
    assert message.startswith(f"scene file {path}") and f"`{key}`" in message
    assert allowed in message


def test_objects_and_mesh_together_or_neither_are_refused(tmp_path):
    both = OBJECTS.replace("[views]", '[mesh]\nprocedural = "cat"\n\n[views]')
    with pytest.raises(ValueError, match=r"give either a \[mesh\] table or \[\[objects\]\].*not both"):
        validate(*scene_config(_write(tmp_path, both)))
    neither = KITTY.replace('[mesh]\nprocedural = "cat"\nnormalize = true\n', "")
    with pytest.raises(ValueError, match="found neither"):
        load_scene(_write(tmp_path, neither))


def test_objects_need_unique_names_and_some_parameters():
    cfg, path = scene_config("kitty")
    mesh = cfg.pop("mesh")
    cfg["objects"] = [{"name": "a", "mesh": mesh}, {"name": "a", "mesh": mesh}]
    with pytest.raises(ValueError, match=r"\[\[objects\]\] #2: object name 'a' is already used by \[\[objects\]\] #1"):
        validate(cfg, path)
    cfg["objects"][1]["name"] = "b"
    validate(cfg, path)  # top-level [[parameters]] only
    params = cfg.pop("parameters")
    with pytest.raises(ValueError, match="missing required key 'parameters'"):
        validate(cfg, path)
    cfg["objects"][0]["parameters"] = params  # object parameters only
    validate(cfg, path)
    del cfg["objects"][1]["mesh"]
    with pytest.raises(ValueError, match=r'\[\[objects\]\] "b": missing required key \'mesh\''):
        validate(cfg, path)


def test_the_keys_being_added_elsewhere_are_accepted():
    cfg, path = scene_config("kitty")
    cfg = copy.deepcopy(cfg)
    cfg["views"] = {"rig": "random", "count": 8, "elevation": [-30, 60], "azimuth": [0.0, 360.0], "distance": 2.5,
                    "center": [0, 0, 0], "fov": 50, "near": 0.1, "far": 10.0, "seed": 3}
    cfg["mesh"].update(texture="wood.png", merge_seams=True, uv={"projection": "cylindrical", "axis": "y"})
    cfg["parameters"][0].update(pivot=[0.0, 0.1, 0.0])
    cfg["optimize"] = {"iterations": 100, "lr": 0.02, "lr_decay": 1, "seeds": 2, "resolution": 64}
    validate(cfg, path)
    cfg["views"]["jitter"] = 0.1  # a "square" rig setting
    with pytest.raises(ValueError, match=r"\[views\]: `jitter` does not apply to rig = 'random'"):
        validate(cfg, path)
    del cfg["views"]["jitter"]
    cfg["views"]["count"] = 0
    with pytest.raises(ValueError, match=r"`count` must be a positive integer, got 0"):
        validate(cfg, path)
    cfg["views"] = {"rig": "square", "cameras": [{"eye": [0, 0, 2]}]}
    with pytest.raises(ValueError, match=r"give either `rig` or \[\[views.cameras\]\], not both"):
        validate(cfg, path)


@pytest.mark.parametrize("key, bad", [("iterations", 0), ("lr", -0.1), ("lr_decay", 0), ("lr_decay", 1.5),
                                      ("seeds", 2.0), ("resolution", [64, 64])])
def test_optimize_defaults_are_checked(key, bad):
    cfg, path = scene_config("kitty")
    cfg["optimize"] = {key: bad}
    with pytest.raises(ValueError, match=rf"\[optimize\]: `{key}` must be"):
        validate(cfg, path)


def test_registered_names_are_accepted(monkeypatch):
    cfg, path = scene_config("kitty")
    cfg["mesh"]["procedural"] = "blob"
    cfg["parameters"][0].update(kind="nudge", target={"procedural": "zeros3"})
    with pytest.raises(ValueError, match="unknown procedural mesh 'blob'"):
        validate(cfg, path)
    monkeypatch.setitem(PROCEDURAL, "blob", lambda: None)
    with pytest.raises(ValueError, match="unknown parameter kind 'nudge'"):
        validate(cfg, path)
    monkeypatch.setitem(KINDS, "nudge", ParameterKind("nudge", "test", "geometry", 9, lambda ev, items: None))
    with pytest.raises(ValueError, match="unknown procedural value 'zeros3'"):
        validate(cfg, path)
    monkeypatch.setitem(values.GENERATORS, "zeros3", lambda ctx: None)
    validate(cfg, path)


@pytest.mark.parametrize("resolution", [0, -8, 2.5, "32", (16,), (16, 0), True])
def test_a_bad_resolution_argument_is_an_error(resolution):
    with pytest.raises(ValueError, match=r"the `resolution` argument must be a positive integer"):
        load_scene("kitty", resolution=resolution)


def test_good_resolution_arguments():
    assert load_scene("kitty", resolution=(24, 32)).resolution == (24, 32)
    assert load_scene("kitty").resolution == (128, 128)  # None: the file's


# ------------------------------------------------------------------------------ property: typos
def _tables():
    """(config, path to a table in it, the schema of that table) for every kind of table."""
    kitty, _ = scene_config("kitty")
    kitty["mesh"]["uv"] = {"projection": "planar"}
    kitty["optimize"] = {"iterations": 10}
    cube, _ = scene_config("cube")
    ginger, _ = scene_config("ginger")
    objects = copy.deepcopy(kitty)
    objects["objects"] = [{"name": "cat", "mesh": objects.pop("mesh"), "material": {"diffuse": 0.5},
                           "parameters": copy.deepcopy(objects["parameters"])}]
    return [
        (kitty, (), schema.SCHEMA), (kitty, ("mesh",), schema.MESH), (kitty, ("mesh", "uv"), schema.UV.options[1]),
        (kitty, ("material",), schema.MATERIAL), (kitty, ("views",), schema.VIEWS),
        (kitty, ("parameters", 0), schema.PARAMETER), (kitty, ("benchmark",), schema.BENCHMARK),
        (kitty, ("optimize",), schema.OPTIMIZE), (cube, ("views", "cameras", 0), schema.CAMERA),
        (ginger, ("parameters", 0, "target"), schema.VALUE_TABLE), (objects, ("objects", 0), schema.OBJECT),
        (objects, ("objects", 0, "mesh"), schema.MESH), (objects, ("objects", 0, "material"), schema.MATERIAL),
        (objects, ("objects", 0, "parameters", 0), schema.PARAMETER),
    ]


TABLES = _tables()
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz_0123456789"


@st.composite
def typos(draw):
    cfg, where, table = draw(st.sampled_from(TABLES))
    key = draw(st.sampled_from(sorted(table.fields)))
    op = draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
    i = draw(st.integers(0, len(key) - (0 if op == "insert" else 1 if op != "swap" else 2)))
    c = draw(st.sampled_from(KEY_CHARS))
    typo = {"insert": key[:i] + c + key[i:], "delete": key[:i] + key[i + 1:], "replace": key[:i] + c + key[i + 1:],
            "swap": key[:i] + key[i + 1:i + 2] + key[i:i + 1] + key[i + 2:]}[op]
    return cfg, where, table, key, typo


@settings(max_examples=300, deadline=None)
@given(typos())
def test_any_one_character_typo_of_a_key_is_another_key_or_rejected_with_a_suggestion(case):
    cfg, where, table, key, typo = case
    assume(typo != key)
    if typo in table.fields:  # another valid key: nothing to suggest
        return
    cfg = copy.deepcopy(cfg)
    node = cfg
    for step in where:
        node = node[step]
    node[typo] = 1
    with pytest.raises(ValueError) as info:
        validate(cfg, "/x/typo.toml")
    message = str(info.value)
    assert f"unknown key {typo!r}" in message
    suggested = re.search(r"\(did you mean (.*?)\?\)", message)
    assert suggested and repr(key) in suggested.group(1), message
