// drot._C: importing this Python module loads the library, whose static initialisers register the
// operators under torch.ops.drot (see frozen_points.cpp). No Python bindings of our own are needed.
#include <Python.h>

#ifndef DROT_WITH_CUDA
#define DROT_WITH_CUDA 0
#endif

static struct PyModuleDef drot_c_module = {
    PyModuleDef_HEAD_INIT, "_C",
    "drot's compiled operators (torch.ops.drot.freeze_surface_points and its backward); "
    "build with `python3 -m drot.build_extension`.",
    -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  PyObject* module = PyModule_Create(&drot_c_module);
  if (module != nullptr) PyModule_AddIntConstant(module, "with_cuda", DROT_WITH_CUDA);
  return module;
}
