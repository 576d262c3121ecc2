/* SPDX-License-Identifier: MIT
 * module.c - tinynn._core: parse, check, release the GIL, call, return.
 * PLACEHOLDER: only gemm, to be completed. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include "tinynn.h"

static PyMethodDef core_methods[] = {
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "tinynn._core", "tinynn's C kernels.", -1,
    core_methods,
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    return PyModule_Create(&core_module);
}
