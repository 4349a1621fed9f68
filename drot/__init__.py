"""drot — differentiable rendering with RGBXY derivatives and optimal transport.

Quick start::

    import drot
    scene = drot.load_scene("kitty", resolution=64)
    result = drot.optimize(scene, iterations=300)      # target: the scene's declared target values
    print(result.vertex_mae, result.psnr)

Your own loop (nvdiffrast-style rasterization)::

    loss_fn = drot.RgbxyLoss(target_images)
    loss = loss_fn(rast_out, pos_clip, tri, vertex_colors)

Where things live, lowest layer first (no module imports a higher layer):

* ``drot.matching`` — pixel matching: Sinkhorn optimal transport, bipartite, identity, optical flow (registry);
* ``drot.render``   — the evaluated scene state, backends (PyTorch, nvdiffrast), cameras, shading, point
  proxies with frozen barycentrics (the ``drot._C`` op), the soft rasterizer, ``torch_dr`` (nvdiffrast's API);
* ``drot.scene``    — meshes, parameters and their kinds (registry), the scene model, scene files, assets;
* ``drot.optim``    — settings, targets, the RGBXY loss, steps, strategies (registry), the loop (``optimize``);
* ``drot.apps``     — applications on the shared optimizer (furniture, SMPL, blendshapes, accessories);
* ``drot.imitator`` — learned differentiable imitators of black-box renderers (try-on, Mitsuba 3), the sensitivity
  loss, an inverse-graphics encoder, refinement through the imitator, relax-and-search for discrete parameters;
* ``drot.eval``     — ``drot-bench``, resumable sweeps, the paper's Table 1;
* ``drot.metrics``, ``drot.report`` — metrics (registry); images, plots, tables and result files;
* ``drot.threads`` — torch's CPU threads for the tools (``--threads``), a warning when they exceed the free cores.

Your own mesh and images: ``drot.Scene``, ``drot.Parameter``, ``drot.load_mesh``, ``drot.square_views``
(README "Your mesh, your images", docs/python-scenes.md).
"""
from .optim import (DivergenceWarning, L2Settings, MatchingSettings, OptimizationDiverged, OptimizationResult,
                    OptimizeSettings, RecordSettings, RgbxyLoss, ScheduleSettings, StartSettings, optimize)
from .render import nvdiffrast_backend as _nvdiffrast_backend, torch_backend as _torch_backend  # noqa: F401  (register backends)
from .render.backend import backend_status, get_backend
from .render.camera import Camera, random_views, square_views
from .render.renderer import Frame, render as render_views
from .render.shading import Material
from .render.state import SceneState
from .scene.loader import available_scenes, load_scene
from .scene.mesh import Mesh, MeshError, mesh_from_arrays
from .scene.mesh_files import load_mesh
from .scene.parameters import Parameter
from .scene.scene import Scene

__version__ = "0.1.0"

__all__ = [
    "optimize", "OptimizeSettings", "OptimizationResult", "OptimizationDiverged", "DivergenceWarning", "ScheduleSettings", "MatchingSettings", "L2Settings",
    "RecordSettings", "StartSettings", "RgbxyLoss", "Scene", "SceneState", "Parameter", "Mesh",
    "MeshError", "load_mesh", "mesh_from_arrays", "load_scene", "available_scenes", "Camera", "square_views",
    "random_views",
    "Material", "render_views", "Frame", "get_backend", "backend_status",
]
