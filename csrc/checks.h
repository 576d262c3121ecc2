/* SPDX-License-Identifier: MIT
 * checks.h - argument validation for tinynn._core. Each helper sets a
 * Python exception whose message names the function and the argument and
 * returns -1, or returns 0. None of them touches array memory.
 */
#ifndef TINYNN_CHECKS_H
#define TINYNN_CHECKS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL tinynn_ARRAY_API
#include <numpy/arrayobject.h>

/* What an array argument is, for check_array: read (ARG_IN) or written
 * (ARG_OUT: must be writeable), and whether None is allowed (ARG_OPTIONAL,
 * or-ed in). */
enum arg_role { ARG_IN = 0, ARG_OUT = 1, ARG_OPTIONAL = 2 };

/* obj must be an ndarray (TypeError), C-contiguous, aligned and in native
 * byte order (ValueError), writeable for ARG_OUT, and of ndim dims unless
 * ndim < 0. With ARG_OPTIONAL, None gives *out = NULL. */
int check_array(const char *func, const char *name, PyObject *obj, int ndim,
                int role, PyArrayObject **out);

/* Float dtype: *dtype < 0 takes this array's (float32/float64 only, else
 * TypeError); otherwise the array must match it ("like x"). */
int check_float(const char *func, const char *name, PyArrayObject *arr,
                int *dtype, const char *like);

/* Integer labels: any signed or unsigned integer dtype of 1 to 8 bytes
 * (np.longlong as well as np.int64); sets *label_type to an enum
 * tnn_label_type. */
int check_labels(const char *func, const char *name, PyArrayObject *arr,
                 int *label_type);

/* arr's dimension `axis` must equal `expected`; `what` explains where the
 * expectation comes from, e.g. "x has 700 columns". */
int check_dim(const char *func, const char *name, PyArrayObject *arr, int axis,
              npy_intp expected, const char *what);

/* Both arrays must have identical shapes. */
int check_same_shape(const char *func, const char *name, PyArrayObject *arr,
                     const char *ref_name, PyArrayObject *ref);

/* The memory of a and b must not overlap; with `same_ok`, a may be exactly
 * b (the in-place case). */
int check_no_overlap(const char *func, const char *name_a, PyArrayObject *a,
                     const char *name_b, PyArrayObject *b, int same_ok);

/* A finite double within [low, high] (high_open: [low, high)). */
int check_scalar(const char *func, const char *name, double value, double low,
                 double high, int high_open);

/* A scalar argument given as a Python object: a real number (TypeError
 * naming `name` otherwise; ValueError if it overflows a double). Range
 * checks are check_scalar's. */
int parse_real(const char *func, const char *name, PyObject *obj,
               double *value);

/* An integer argument within [low, high]: TypeError for a non-integer,
 * ValueError (not OverflowError) for any value outside, however large. */
int parse_int(const char *func, const char *name, PyObject *obj, long long low,
              long long high, long long *value);

#endif
