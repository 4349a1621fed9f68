"""Scene model: meshes, procedural geometry, optimisable parameters, scenes and scene files."""
