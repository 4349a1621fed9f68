"""drot — differentiable rendering with RGBXY derivatives and optimal transport.

Quick start::

    import drot
    scene = drot.load_scene("kitty", resolution=64)
    result = drot.optimize(scene, iterations=300)      # target: the scene's declared target values
    print(result.vertex_mae, result.psnr)

Where things live: ``drot.render`` (rasterization backends, cameras, shading), ``drot.proxies``
(point proxies with frozen barycentrics), ``drot.matching`` (pixel matching: Sinkhorn optimal
transport, bipartite, identity), ``drot.losses``, ``drot.schedule`` (hybrid gradients),
``drot.optimize`` (the loop), ``drot.scene`` (meshes, parameters, scene files), ``drot.metrics``,
``drot.report`` (result folders), ``drot.cli`` (``drot-bench``).
"""
from .optim import OptimizationResult, OptimizeSettings, optimize
from .render import nvdiffrast_backend as _nvdiffrast_backend, torch_backend as _torch_backend  # noqa: F401  (register backends)
from .render.backend import backend_status, get_backend
from .render.camera import Camera, square_views
from .render.renderer import Frame, render
from .render.shading import Material
from .scene.loader import available_scenes, load_scene
from .scene.mesh import Mesh, MeshError, load_mesh, mesh_from_arrays
from .scene.parameters import Parameter
from .render.state import SceneState
from .scene.scene import Scene

__version__ = "0.1.0"

__all__ = [
    "optimize", "OptimizeSettings", "OptimizationResult", "Scene", "SceneState", "Parameter", "Mesh",
    "MeshError", "load_mesh", "mesh_from_arrays", "load_scene", "available_scenes", "Camera", "square_views",
    "Material", "render", "Frame", "get_backend", "backend_status",
]
