/* SPDX-License-Identifier: MIT
 * checks.c - the argument checks of tinynn._core and their messages:
 * "<function>: <argument> <what is wrong>; expected <...>, got <...>".
 */
#include "checks.h"

#include <math.h>

#include "tinynn.h"

/* Writes "(d0, d1, ...)" into buf. */
static const char *shape_text(PyArrayObject *arr, char *buf, size_t size)
{
    int nd = PyArray_NDIM(arr);
    size_t used = (size_t)PyOS_snprintf(buf, size, "(");
    for (int i = 0; i < nd && used < size; i++)
        used += (size_t)PyOS_snprintf(buf + used, size - used, "%s%zd",
                                      i ? ", " : "",
                                      (Py_ssize_t)PyArray_DIM(arr, i));
    if (used < size)
        PyOS_snprintf(buf + used, size - used, nd == 1 ? ",)" : ")");
    return buf;
}

int check_array(const char *func, const char *name, PyObject *obj, int ndim,
                int role, PyArrayObject **out)
{
    char shape[160];
    const int writeable = role & ARG_OUT;
    *out = NULL;
    if (obj == Py_None && (role & ARG_OPTIONAL))
        return 0;
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a numpy.ndarray; got %s",
                     func, name,
                     obj == Py_None ? "None" : Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (ndim >= 0 && PyArray_NDIM(arr) != ndim) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be %d-dimensional; got shape %s", func, name,
                     ndim, shape_text(arr, shape, sizeof shape));
        return -1;
    }
    if (ndim < 0 && PyArray_NDIM(arr) < 1) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must have at least one dimension; got a 0-d "
                     "array",
                     func, name);
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be C-contiguous and aligned; got a strided "
                     "view (use numpy.ascontiguousarray)",
                     func, name);
        return -1;
    }
    /* A '>f4' array on a little-endian machine would be read as if it were
     * native: garbage floats, or label 1 seen as 256. The public API
     * converts; here we reject. */
    if (!PyArray_ISNOTSWAPPED(arr)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be in native byte order; got a byte-swapped "
                     "array of dtype '%c%c%d'; expected native order (convert "
                     "with a.astype(a.dtype.newbyteorder('=')))",
                     func, name, PyArray_DESCR(arr)->byteorder,
                     PyArray_DESCR(arr)->kind, (int)PyArray_ITEMSIZE(arr));
        return -1;
    }
    if (writeable && !PyArray_ISWRITEABLE(arr)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s is an output and must be writeable; got a "
                     "read-only array",
                     func, name);
        return -1;
    }
    *out = arr;
    return 0;
}

int check_float(const char *func, const char *name, PyArrayObject *arr,
                int *dtype, const char *like)
{
    int type = PyArray_TYPE(arr);
    if (*dtype < 0) {
        if (type != NPY_FLOAT32 && type != NPY_FLOAT64) {
            PyErr_Format(PyExc_TypeError,
                         "%s: %s must have dtype float32 or float64; got %s",
                         func, name, PyArray_DESCR(arr)->typeobj->tp_name);
            return -1;
        }
        *dtype = type;
        return 0;
    }
    if (type != *dtype) {
        PyErr_Format(PyExc_TypeError,
                     "%s: %s must have dtype %s like %s; got %s", func, name,
                     *dtype == NPY_FLOAT32 ? "float32" : "float64", like,
                     PyArray_DESCR(arr)->typeobj->tp_name);
        return -1;
    }
    return 0;
}

int check_labels(const char *func, const char *name, PyArrayObject *arr,
                 int *label_type)
{
    /* By signedness and width, not by type number: numpy has two type numbers
     * for one 64-bit integer (long and longlong on Linux, int and long on
     * Windows), and np.longlong labels are as valid as np.int64 ones. */
    static const int signed_types[] = {TNN_I8, TNN_I16, -1, TNN_I32,
                                       -1,     -1,      -1, TNN_I64};
    static const int unsigned_types[] = {TNN_U8, TNN_U16, -1, TNN_U32,
                                         -1,     -1,      -1, TNN_U64};
    int type = PyArray_TYPE(arr);
    npy_intp size = PyArray_ITEMSIZE(arr);
    if (PyTypeNum_ISINTEGER(type) && size >= 1 && size <= 8) {
        *label_type = PyTypeNum_ISSIGNED(type) ? signed_types[size - 1]
                                               : unsigned_types[size - 1];
        if (*label_type >= 0)
            return 0;
    }
    PyErr_Format(PyExc_TypeError,
                 "%s: %s must have an integer dtype (class ids); got %s", func,
                 name, PyArray_DESCR(arr)->typeobj->tp_name);
    return -1;
}

int check_dim(const char *func, const char *name, PyArrayObject *arr, int axis,
              npy_intp expected, const char *what)
{
    char shape[160];
    if (PyArray_DIM(arr, axis) != expected) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s has shape %s but %s; expected %zd along axis %d",
                     func, name, shape_text(arr, shape, sizeof shape), what,
                     (Py_ssize_t)expected, axis);
        return -1;
    }
    return 0;
}

int check_same_shape(const char *func, const char *name, PyArrayObject *arr,
                     const char *ref_name, PyArrayObject *ref)
{
    char shape[160], ref_shape[160];
    if (!PyArray_SAMESHAPE(arr, ref)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must have the shape of %s; expected %s, got %s",
                     func, name, ref_name,
                     shape_text(ref, ref_shape, sizeof ref_shape),
                     shape_text(arr, shape, sizeof shape));
        return -1;
    }
    return 0;
}

int check_no_overlap(const char *func, const char *name_a, PyArrayObject *a,
                     const char *name_b, PyArrayObject *b, int same_ok)
{
    if (!a || !b)
        return 0;
    const char *a0 = PyArray_BYTES(a), *b0 = PyArray_BYTES(b);
    const char *a1 = a0 + PyArray_NBYTES(a), *b1 = b0 + PyArray_NBYTES(b);
    if (a0 >= b1 || b0 >= a1 || PyArray_NBYTES(a) == 0 ||
        PyArray_NBYTES(b) == 0)
        return 0;
    if (same_ok && a0 == b0 && a1 == b1)
        return 0;
    PyErr_Format(PyExc_ValueError,
                 same_ok ? "%s: %s overlaps %s; expected separate memory or "
                           "exactly the same array (in place)"
                         : "%s: %s overlaps %s; expected separate memory",
                 func, name_a, name_b);
    return -1;
}

int check_scalar(const char *func, const char *name, double value, double low,
                 double high, int high_open)
{
    if (!isfinite(value) || value < low || value > high ||
        (high_open && value >= high)) {
        /* PyErr_Format has no %g: format the numbers as text first. */
        char *got = PyOS_double_to_string(value, 'r', 0, 0, NULL);
        char *lo = PyOS_double_to_string(low, 'r', 0, 0, NULL);
        char *hi = PyOS_double_to_string(high, 'r', 0, 0, NULL);
        if (!got || !lo || !hi)
            PyErr_NoMemory();
        else if (isinf(high))
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must be a finite number >= %s; got %s", func,
                         name, lo, got);
        else
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must be a finite number in [%s, %s%s; "
                         "got %s",
                         func, name, lo, hi, high_open ? ")" : "]", got);
        PyMem_Free(got);
        PyMem_Free(lo);
        PyMem_Free(hi);
        return -1;
    }
    return 0;
}

int parse_real(const char *func, const char *name, PyObject *obj, double *value)
{
    /* Any real number (float, int, numpy scalar); not str, bool or complex,
     * which PyArg's "d" would reject without naming the argument. */
    if (PyBool_Check(obj) || PyComplex_Check(obj) || !PyNumber_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a real number; got %s",
                     func, name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    *value = PyFloat_AsDouble(obj);
    if (*value == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be a finite number; got %R (too large for a "
                     "double)",
                     func, name, obj);
        return -1;
    }
    return 0;
}

int parse_int(const char *func, const char *name, PyObject *obj, long long low,
              long long high, long long *value)
{
    /* Python ints and numpy integer scalars (anything with __index__). */
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be an integer; got %s", func,
                     name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *number = PyNumber_Index(obj);
    if (!number)
        return -1;
    int overflow = 0;
    *value = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (*value == -1 && !overflow && PyErr_Occurred()) {
        Py_DECREF(number);
        return -1;
    }
    if (overflow || *value < low || *value > high) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be an integer in [%lld, %lld]; got %S", func,
                     name, low, high, number);
        Py_DECREF(number);
        return -1;
    }
    Py_DECREF(number);
    return 0;
}
