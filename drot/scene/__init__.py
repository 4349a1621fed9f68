"""Scene model: meshes, procedural geometry, optimisable parameters, scenes and scene files.

* :mod:`drot.scene.kit`    — the public mesh kit: primitives and the helpers to build meshes;
* :mod:`drot.scene.assets` — the built-in models (cat, teapot, figures, objects) made with the kit.
"""
