/* SPDX-License-Identifier: MIT
 * module.c - tinynn._core: parse, check, release the GIL, call, return.
 *
 * Every entry point takes numpy arrays that already have the right dtype,
 * layout and shape: nothing is converted or copied here, anything else is
 * rejected before memory is touched (messages built by checks.c). Float
 * arguments of one call share one dtype; outputs are passed in.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define PY_ARRAY_UNIQUE_SYMBOL tinynn_ARRAY_API
#include <numpy/arrayobject.h>

#include <limits.h>
#include <string.h>

#include "checks.h"
#include "internal.h"

#define F32(arr) ((float *)PyArray_DATA(arr))
#define F64(arr) ((double *)PyArray_DATA(arr))
#define F32_OR_NULL(arr) ((arr) ? F32(arr) : NULL)
#define F64_OR_NULL(arr) ((arr) ? F64(arr) : NULL)

/* ---- calling a kernel in the arrays' dtype ---------------------------------
 * CALL_KERNEL_VOID(dtype, tnn_name, args...) runs tnn_name_f32(args) or
 * tnn_name_f64(args), as dtype (NPY_FLOAT32 or NPY_FLOAT64) says, with the
 * GIL released around the call and nothing else; CALL_KERNEL(result, ...)
 * also stores what the kernel returns. The arguments are written once:
 * REAL(arr) and REAL_OR_NULL(arr) give an array's data as float * or
 * double *, whichever branch they are expanded in. */
#define CALL_KERNEL_(assign, dtype, kernel, ...)                               \
    do {                                                                       \
        Py_BEGIN_ALLOW_THREADS                                                 \
            if ((dtype) == NPY_FLOAT32) {                                      \
                typedef float real_t;                                          \
                assign kernel##_f32(__VA_ARGS__);                              \
            } else {                                                           \
                typedef double real_t;                                         \
                assign kernel##_f64(__VA_ARGS__);                              \
            }                                                                  \
        Py_END_ALLOW_THREADS                                                   \
    } while (0)
#define CALL_KERNEL(result, dtype, kernel, ...)                                \
    CALL_KERNEL_(result =, dtype, kernel, __VA_ARGS__)
#define CALL_KERNEL_VOID(dtype, kernel, ...)                                   \
    CALL_KERNEL_(, dtype, kernel, __VA_ARGS__)
#define REAL(arr) ((real_t *)PyArray_DATA(arr))
#define REAL_OR_NULL(arr) ((arr) ? REAL(arr) : NULL)

/* ---- configuration ---------------------------------------------------- */

static PyObject *core_simd(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    return PyUnicode_FromString(tnn_path_active()->name);
}

static PyObject *core_available_simd(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    int count;
    const struct tnn_path *const *paths = tnn_paths(&count);
    PyObject *names = PyList_New(0);
    if (!names)
        return NULL;
    for (int i = 0; i < count; i++) {
        if (!tnn_path_usable(paths[i]))
            continue;
        PyObject *name = PyUnicode_FromString(paths[i]->name);
        if (!name || PyList_Append(names, name) != 0) {
            Py_XDECREF(name);
            Py_DECREF(names);
            return NULL;
        }
        Py_DECREF(name);
    }
    PyObject *tuple = PyList_AsTuple(names);
    Py_DECREF(names);
    return tuple;
}

static PyObject *core_simd_paths(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    int count;
    const struct tnn_path *const *paths = tnn_paths(&count);
    PyObject *table = PyTuple_New(count);
    if (!table)
        return NULL;
    for (int i = 0; i < count; i++) {
        PyObject *row =
            Py_BuildValue("{s:s,s:O,s:O,s:(ii),s:(ii)}", "name", paths[i]->name,
                          "built", paths[i]->built_for_isa ? Py_True : Py_False,
                          "cpu", paths[i]->cpu_supports() ? Py_True : Py_False,
                          "tile_f32", paths[i]->f32.mr, paths[i]->f32.nr,
                          "tile_f64", paths[i]->f64.mr, paths[i]->f64.nr);
        if (!row) {
            Py_DECREF(table);
            return NULL;
        }
        PyTuple_SET_ITEM(table, i, row);
    }
    return table;
}

static PyObject *core_set_simd(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "set_simd: name must be a string; got %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    int status = tnn_path_select(name);
    if (status == -2) {
        PyErr_Format(PyExc_ValueError,
                     "set_simd: name '%s' is not supported by this CPU or "
                     "build; expected one of available_simd()",
                     name);
        return NULL;
    }
    if (status != 0) {
        int count;
        const struct tnn_path *const *paths = tnn_paths(&count);
        char known[256] = "";
        for (int i = 0; i < count; i++) {
            strncat(known, i ? ", '" : "'", sizeof known - strlen(known) - 1);
            strncat(known, paths[i]->name, sizeof known - strlen(known) - 1);
            strncat(known, "'", sizeof known - strlen(known) - 1);
        }
        PyErr_Format(PyExc_ValueError,
                     "set_simd: name must be one of %s; got '%s'", known, name);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *core_default_num_threads(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    return PyLong_FromLong(tnn_default_threads());
}

static PyObject *core_parse_cpu_max(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *text = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!text) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError,
                            "_parse_cpu_max: text must be a string");
        return NULL;
    }
    return PyLong_FromLong(tnn_parse_cpu_max(text));
}

static PyObject *core_get_num_threads(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    return PyLong_FromLong(tnn_num_threads());
}

static PyObject *core_set_num_threads(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyLong_Check(arg) || PyBool_Check(arg)) {
        PyErr_Format(PyExc_TypeError,
                     "set_num_threads: n must be an integer; got %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    /* 10**20 is out of range like 0 is: a ValueError, not OverflowError. */
    int overflow = 0;
    long n = PyLong_AsLongAndOverflow(arg, &overflow);
    if (n == -1 && !overflow && PyErr_Occurred())
        return NULL;
    if (overflow || n < 1 || n > 1024) {
        PyErr_Format(PyExc_ValueError,
                     "set_num_threads: n must be in [1, 1024]; got %S", arg);
        return NULL;
    }
    tnn_set_num_threads((int)n);
    Py_RETURN_NONE;
}

/* ---- GEMM -----------------------------------------------------------------
 */

static PyObject *core_gemm(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"a",       "b",          "c", "trans_a",
                            "trans_b", "accumulate", NULL};
    const char *fn = "gemm";
    PyObject *a_obj, *b_obj, *c_obj;
    int trans_a = 0, trans_b = 0, accumulate = 0, dtype = -1;
    PyArrayObject *a, *b, *c;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|ppp", names, &a_obj, &b_obj,
                                     &c_obj, &trans_a, &trans_b, &accumulate))
        return NULL;
    if (check_array(fn, "a", a_obj, 2, ARG_IN, &a) ||
        check_array(fn, "b", b_obj, 2, ARG_IN, &b) ||
        check_array(fn, "c", c_obj, 2, ARG_OUT, &c) ||
        check_float(fn, "a", a, &dtype, "") ||
        check_float(fn, "b", b, &dtype, "a") ||
        check_float(fn, "c", c, &dtype, "a"))
        return NULL;
    npy_intp a0 = PyArray_DIM(a, 0), a1 = PyArray_DIM(a, 1);
    npy_intp b0 = PyArray_DIM(b, 0), b1 = PyArray_DIM(b, 1);
    npy_intp m = trans_a ? a1 : a0, k = trans_a ? a0 : a1;
    npy_intp n = trans_b ? b0 : b1;
    char what[96];
    PyOS_snprintf(what, sizeof what, "op(a) has %zd columns", (Py_ssize_t)k);
    if (check_dim(fn, "b", b, trans_b ? 1 : 0, k, what))
        return NULL;
    PyOS_snprintf(what, sizeof what, "op(a) @ op(b) is (%zd, %zd)",
                  (Py_ssize_t)m, (Py_ssize_t)n);
    if (check_dim(fn, "c", c, 0, m, what) ||
        check_dim(fn, "c", c, 1, n, what) ||
        check_no_overlap(fn, "c", c, "a", a, 0) ||
        check_no_overlap(fn, "c", c, "b", b, 0))
        return NULL;
    /* Row-major strides in elements; a transpose swaps them. */
    ptrdiff_t rsa = trans_a ? 1 : a1, csa = trans_a ? a1 : 1;
    ptrdiff_t rsb = trans_b ? 1 : b1, csb = trans_b ? b1 : 1;
    CALL_KERNEL_VOID(dtype, tnn_gemm, REAL(a), rsa, csa, REAL(b), rsb, csb,
                     REAL(c), n, 1, m, n, k, accumulate);
    Py_RETURN_NONE;
}

/* ---- dense ------------------------------------------------------------------
 */

static int activation_code(const char *fn, const char *name, int *code)
{
    static const char *known[] = {"linear", "relu", "sigmoid", "tanh",
                                  "softmax"};
    for (int i = 0; i < 5; i++)
        if (strcmp(name, known[i]) == 0) {
            *code = i;
            return 0;
        }
    PyErr_Format(PyExc_ValueError,
                 "%s: activation must be 'linear', 'relu', 'sigmoid', 'tanh' "
                 "or 'softmax'; got '%s'",
                 fn, name);
    return -1;
}

static PyObject *core_dense_forward(PyObject *self, PyObject *args,
                                    PyObject *kw)
{
    (void)self;
    static char *names[] = {"x", "w", "b", "y", "activation", NULL};
    const char *fn = "dense_forward", *act_name = "linear";
    PyObject *x_obj, *w_obj, *b_obj, *y_obj;
    PyArrayObject *x, *w, *b, *y;
    int dtype = -1, act;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|s", names, &x_obj, &w_obj,
                                     &b_obj, &y_obj, &act_name))
        return NULL;
    if (check_array(fn, "x", x_obj, 2, ARG_IN, &x) ||
        check_array(fn, "w", w_obj, 2, ARG_IN, &w) ||
        check_array(fn, "b", b_obj, 1, ARG_IN | ARG_OPTIONAL, &b) ||
        check_array(fn, "y", y_obj, 2, ARG_OUT, &y) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "w", w, &dtype, "x") ||
        (b && check_float(fn, "b", b, &dtype, "x")) ||
        check_float(fn, "y", y, &dtype, "x") ||
        activation_code(fn, act_name, &act))
        return NULL;
    npy_intp batch = PyArray_DIM(x, 0), fan_in = PyArray_DIM(x, 1);
    npy_intp fan_out = PyArray_DIM(w, 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd columns", (Py_ssize_t)fan_in);
    if (check_dim(fn, "w", w, 0, fan_in, what))
        return NULL;
    PyOS_snprintf(what, sizeof what, "w has %zd columns", (Py_ssize_t)fan_out);
    if ((b && check_dim(fn, "b", b, 0, fan_out, what)) ||
        check_dim(fn, "y", y, 1, fan_out, what))
        return NULL;
    PyOS_snprintf(what, sizeof what, "x has %zd rows", (Py_ssize_t)batch);
    if (check_dim(fn, "y", y, 0, batch, what) ||
        check_no_overlap(fn, "y", y, "x", x, 0) ||
        check_no_overlap(fn, "y", y, "w", w, 0) ||
        check_no_overlap(fn, "y", y, "b", b, 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_dense_forward, REAL(x), REAL(w),
                     REAL_OR_NULL(b), REAL(y), batch, fan_in, fan_out, act);
    Py_RETURN_NONE;
}

/* Every one of the n_out outputs apart from every input and from each
 * other; an output named in `in_place` may be exactly the input `in_place`
 * (dx and dy). */
static int check_apart(const char *fn, PyArrayObject **outs,
                       const char **out_names, int n_out, PyArrayObject **ins,
                       const char **in_names, int n_in, const char *in_place)
{
    for (int o = 0; o < n_out; o++) {
        for (int i = 0; i < n_in; i++) {
            int same_ok = in_place && strcmp(in_place, in_names[i]) == 0 &&
                          strcmp(out_names[o], "dx") == 0;
            if (check_no_overlap(fn, out_names[o], outs[o], in_names[i], ins[i],
                                 same_ok))
                return -1;
        }
        for (int p = o + 1; p < n_out; p++)
            if (check_no_overlap(fn, out_names[o], outs[o], out_names[p],
                                 outs[p], 0))
                return -1;
    }
    return 0;
}

/* learning_rate, beta_1, beta_2, epsilon and step of Adam-like rules, from
 * objs[0..4] (checked by check_adam_scalars once the arrays are). */
static int parse_adam_scalars(const char *fn, PyObject **objs, double *lr,
                              double *beta1, double *beta2, double *eps,
                              long long *step)
{
    return parse_real(fn, "learning_rate", objs[0], lr) ||
                   parse_real(fn, "beta_1", objs[1], beta1) ||
                   parse_real(fn, "beta_2", objs[2], beta2) ||
                   parse_real(fn, "epsilon", objs[3], eps) ||
                   parse_int(fn, "step", objs[4], LLONG_MIN, LLONG_MAX, step)
               ? -1
               : 0;
}

static int check_adam_scalars(const char *fn, double lr, double beta1,
                              double beta2, double eps)
{
    return check_scalar(fn, "learning_rate", lr, 0, HUGE_VAL, 0) ||
                   check_scalar(fn, "beta_1", beta1, 0, 1, 1) ||
                   check_scalar(fn, "beta_2", beta2, 0, 1, 1) ||
                   check_scalar(fn, "epsilon", eps, 0, HUGE_VAL, 0)
               ? -1
               : 0;
}

/* The 1-based update count of a bias-corrected rule. */
static int check_step(const char *fn, long long step)
{
    if (step >= 1)
        return 0;
    PyErr_Format(PyExc_ValueError,
                 "%s: step must be >= 1 (the 1-based update count); got %lld",
                 fn, step);
    return -1;
}

/* The checks dense_backward and dense_backward_adam share: the shapes of
 * x (batch, fan_in), w (fan_in, fan_out), dy, dx, dw and db. */
static int check_dense_shapes(const char *fn, PyArrayObject *x,
                              PyArrayObject *w, PyArrayObject *dy,
                              PyArrayObject *dx, PyArrayObject *dw,
                              PyArrayObject *db)
{
    npy_intp batch = PyArray_DIM(x, 0), fan_in = PyArray_DIM(x, 1);
    npy_intp fan_out = PyArray_DIM(w, 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd columns", (Py_ssize_t)fan_in);
    if (check_dim(fn, "w", w, 0, fan_in, what))
        return -1;
    PyOS_snprintf(what, sizeof what, "x has %zd rows", (Py_ssize_t)batch);
    if (check_dim(fn, "dy", dy, 0, batch, what))
        return -1;
    PyOS_snprintf(what, sizeof what, "w has %zd columns", (Py_ssize_t)fan_out);
    if (check_dim(fn, "dy", dy, 1, fan_out, what) ||
        (dx && check_same_shape(fn, "dx", dx, "x", x)) ||
        check_same_shape(fn, "dw", dw, "w", w) ||
        (db && check_dim(fn, "db", db, 0, fan_out, what)))
        return -1;
    return 0;
}

/* The optional `gate` of the dense backward kernels: None, or an array of
 * dx's shape and dtype (then dx must be given). */
static int check_dense_gate(const char *fn, PyObject *gate_obj,
                            PyArrayObject *dx, int *dtype, PyArrayObject **gate)
{
    if (check_array(fn, "gate", gate_obj, 2, ARG_IN | ARG_OPTIONAL, gate))
        return -1;
    if (!*gate)
        return 0;
    if (!dx) {
        PyErr_Format(PyExc_ValueError,
                     "%s: gate needs dx (it zeroes dx where gate <= 0); got "
                     "dx=None",
                     fn);
        return -1;
    }
    return check_float(fn, "gate", *gate, dtype, "x") ||
                   check_same_shape(fn, "gate", *gate, "dx", dx)
               ? -1
               : 0;
}

static PyObject *core_dense_backward(PyObject *self, PyObject *args,
                                     PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",  "w",          "dy",   "dx", "dw",
                            "db", "accumulate", "gate", NULL};
    const char *fn = "dense_backward";
    PyObject *x_obj, *w_obj, *dy_obj, *dx_obj, *dw_obj, *db_obj;
    PyObject *gate_obj = Py_None;
    PyArrayObject *x, *w, *dy, *dx, *dw, *db, *gate;
    int dtype = -1, accumulate = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOO|p$O", names, &x_obj,
                                     &w_obj, &dy_obj, &dx_obj, &dw_obj, &db_obj,
                                     &accumulate, &gate_obj))
        return NULL;
    if (check_array(fn, "x", x_obj, 2, ARG_IN, &x) ||
        check_array(fn, "w", w_obj, 2, ARG_IN, &w) ||
        check_array(fn, "dy", dy_obj, 2, ARG_IN, &dy) ||
        check_array(fn, "dx", dx_obj, 2, ARG_OUT | ARG_OPTIONAL, &dx) ||
        check_array(fn, "dw", dw_obj, 2, ARG_OUT, &dw) ||
        check_array(fn, "db", db_obj, 1, ARG_OUT | ARG_OPTIONAL, &db) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "w", w, &dtype, "x") ||
        check_float(fn, "dy", dy, &dtype, "x") ||
        (dx && check_float(fn, "dx", dx, &dtype, "x")) ||
        check_float(fn, "dw", dw, &dtype, "x") ||
        (db && check_float(fn, "db", db, &dtype, "x")) ||
        check_dense_shapes(fn, x, w, dy, dx, dw, db) ||
        check_dense_gate(fn, gate_obj, dx, &dtype, &gate))
        return NULL;
    PyArrayObject *outs[] = {dx, dw, db}, *ins[] = {x, w, dy, gate};
    const char *out_names[] = {"dx", "dw", "db"},
               *in_names[] = {"x", "w", "dy", "gate"};
    if (check_apart(fn, outs, out_names, 3, ins, in_names, 4, NULL))
        return NULL;
    npy_intp batch = PyArray_DIM(x, 0), fan_in = PyArray_DIM(x, 1);
    npy_intp fan_out = PyArray_DIM(w, 1);
    CALL_KERNEL_VOID(dtype, tnn_dense_backward, REAL(x), REAL(w), REAL(dy),
                     REAL_OR_NULL(dx), REAL_OR_NULL(gate), REAL(dw),
                     REAL_OR_NULL(db), batch, fan_in, fan_out, accumulate);
    Py_RETURN_NONE;
}

/* dense_backward_adam(x, w, b, dy, dx, dw, db, m_w, v_w, vhat_w, m_b, v_b,
 * vhat_b, learning_rate, beta_1, beta_2, epsilon, step, weight_decay=0,
 * keep_dw=True). */
static PyObject *core_dense_backward_adam(PyObject *self, PyObject *args,
                                          PyObject *kw)
{
    (void)self;
    enum { N_OUT = 11 };
    static char *names[] = {"x",
                            "w",
                            "b",
                            "dy",
                            "dx",
                            "dw",
                            "db",
                            "m_w",
                            "v_w",
                            "vhat_w",
                            "m_b",
                            "v_b",
                            "vhat_b",
                            "learning_rate",
                            "beta_1",
                            "beta_2",
                            "epsilon",
                            "step",
                            "weight_decay",
                            "keep_dw",
                            "gate",
                            NULL};
    const char *fn = "dense_backward_adam";
    PyObject *x_obj, *dy_obj, *o[N_OUT], *s_obj[6] = {NULL};
    PyObject *gate_obj = Py_None;
    PyArrayObject *x, *dy, *out[N_OUT], *gate;
    /* Every written array: none may overlap another, x or dy. */
    const char *out_names[N_OUT] = {"w",   "b",   "dx",    "dw",
                                    "db",  "m_w", "v_w",   "vhat_w",
                                    "m_b", "v_b", "vhat_b"};
    const int ndim[N_OUT] = {2, 1, 2, 2, 1, 2, 2, 2, 1, 1, 1};
    const int optional[N_OUT] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1};
    double lr, beta1, beta2, eps, decay = 0.0;
    long long step;
    int dtype = -1, keep_dw = 1;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "OOOOOOOOOOOOOOOOOO|O$pO", names, &x_obj, &o[0], &o[1],
            &dy_obj, &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9],
            &o[10], &s_obj[0], &s_obj[1], &s_obj[2], &s_obj[3], &s_obj[4],
            &s_obj[5], &keep_dw, &gate_obj) ||
        parse_adam_scalars(fn, s_obj, &lr, &beta1, &beta2, &eps, &step) ||
        (s_obj[5] && parse_real(fn, "weight_decay", s_obj[5], &decay)) ||
        check_array(fn, "x", x_obj, 2, ARG_IN, &x) ||
        check_array(fn, "dy", dy_obj, 2, ARG_IN, &dy) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "dy", dy, &dtype, "x"))
        return NULL;
    for (int i = 0; i < N_OUT; i++)
        if (check_array(fn, out_names[i], o[i], ndim[i],
                        ARG_OUT | (optional[i] ? ARG_OPTIONAL : 0), &out[i]) ||
            (out[i] && check_float(fn, out_names[i], out[i], &dtype, "x")))
            return NULL;
    PyArrayObject *w = out[0], *b = out[1], *dx = out[2], *dw = out[3],
                  *db = out[4];
    if (check_dense_shapes(fn, x, w, dy, dx, dw, db) ||
        check_dense_gate(fn, gate_obj, dx, &dtype, &gate))
        return NULL;
    /* b, db and b's moments come together; vhat for both or neither. */
    if ((b != NULL) != (db != NULL) || (b != NULL) != (out[8] != NULL) ||
        (b != NULL) != (out[9] != NULL) ||
        (b != NULL && (out[7] != NULL) != (out[10] != NULL))) {
        PyErr_Format(PyExc_ValueError,
                     "%s: b, db, m_b and v_b must all be arrays or all be "
                     "None, and vhat_b an array exactly when vhat_w is (and "
                     "b is)",
                     fn);
        return NULL;
    }
    for (int i = 5; i < N_OUT; i++) {
        int of_b = i >= 8;
        if (out[i] && check_same_shape(fn, out_names[i], out[i],
                                       of_b ? "b" : "w", of_b ? b : w))
            return NULL;
    }
    PyArrayObject *ins[] = {x, dy, gate};
    const char *in_names[] = {"x", "dy", "gate"};
    if (check_apart(fn, out, out_names, N_OUT, ins, in_names, 3, NULL) ||
        check_adam_scalars(fn, lr, beta1, beta2, eps) ||
        check_scalar(fn, "weight_decay", decay, 0, HUGE_VAL, 0) ||
        check_step(fn, step))
        return NULL;
    struct tnn_adam_step adam = {lr, beta1, beta2, eps, decay, step};
    npy_intp batch = PyArray_DIM(x, 0), fan_in = PyArray_DIM(x, 1);
    npy_intp fan_out = PyArray_DIM(w, 1);
    CALL_KERNEL_VOID(
        dtype, tnn_dense_backward_update, REAL(x), REAL(w), REAL_OR_NULL(b),
        REAL(dy), REAL_OR_NULL(dx), REAL_OR_NULL(gate), REAL(dw),
        REAL_OR_NULL(db), batch, fan_in, fan_out, REAL(out[5]), REAL(out[6]),
        REAL_OR_NULL(out[7]), REAL_OR_NULL(out[8]), REAL_OR_NULL(out[9]),
        REAL_OR_NULL(out[10]), &adam, keep_dw);
    Py_RETURN_NONE;
}

/* ---- activations
 * --------------------------------------------------------------- */

/* Shared body of <act>_forward(x, y[, alpha]) and <act>_backward(in, dy,
 * dx[, alpha]); `in` is y, or x for tnn_activation_from_input. alpha is
 * taken only when default_alpha >= 0 (elu, leaky_relu). */
static PyObject *activation_call(const char *fn, int act, int backward,
                                 double default_alpha, PyObject *args)
{
    PyObject *in_obj, *grad_obj = NULL, *out_obj, *alpha_obj = Py_None;
    PyArrayObject *in, *grad = NULL, *out;
    const char *in_name =
        backward && !tnn_activation_from_input(act) ? "y" : "x";
    const char *out_name = backward ? "dx" : "y";
    int dtype = -1, ndim = act == TNN_SOFTMAX ? 2 : -1;
    int takes_alpha = default_alpha >= 0;
    double alpha = takes_alpha ? default_alpha : 0.0;
    const char *format = backward ? (takes_alpha ? "OOO|O" : "OOO")
                                  : (takes_alpha ? "OO|O" : "OO");
    if (backward
            ? !PyArg_ParseTuple(args, format, &in_obj, &grad_obj, &out_obj,
                                &alpha_obj)
            : !PyArg_ParseTuple(args, format, &in_obj, &out_obj, &alpha_obj))
        return NULL;
    if (alpha_obj != Py_None &&
        (parse_real(fn, "alpha", alpha_obj, &alpha) ||
         check_scalar(fn, "alpha", alpha, 0, HUGE_VAL, 0)))
        return NULL;
    if (check_array(fn, in_name, in_obj, ndim, ARG_IN, &in) ||
        (backward && check_array(fn, "dy", grad_obj, ndim, ARG_IN, &grad)) ||
        check_array(fn, out_name, out_obj, ndim, ARG_OUT, &out) ||
        check_float(fn, in_name, in, &dtype, "") ||
        (grad && check_float(fn, "dy", grad, &dtype, in_name)) ||
        check_float(fn, out_name, out, &dtype, in_name) ||
        (grad && check_same_shape(fn, "dy", grad, in_name, in)) ||
        check_same_shape(fn, out_name, out, in_name, in))
        return NULL;
    /* In place: y may be x (forward), dx may be dy (backward); softmax's
     * backward reads all of y, so dx must not be y (nor x, for the others,
     * which is simpler to state and costs nothing). */
    if (backward ? (check_no_overlap(fn, "dx", out, in_name, in, 0) ||
                    check_no_overlap(fn, "dx", out, "dy", grad, 1))
                 : check_no_overlap(fn, "y", out, "x", in, 1))
        return NULL;
    npy_intp size = PyArray_SIZE(in);
    npy_intp cols = PyArray_NDIM(in) == 2 ? PyArray_DIM(in, 1) : size;
    npy_intp rows = cols ? size / cols : 0;
    if (backward)
        CALL_KERNEL_VOID(dtype, tnn_activation_backward, act, REAL(in),
                         REAL(grad), REAL(out), rows, cols, alpha);
    else
        CALL_KERNEL_VOID(dtype, tnn_activation_forward, act, REAL(in),
                         REAL(out), rows, cols, alpha);
    Py_RETURN_NONE;
}

/* default_alpha < 0: the activation takes no alpha argument. */
#define ACTIVATION_ENTRIES(name, code, default_alpha)                          \
    static PyObject *core_##name##_forward(PyObject *self, PyObject *args)     \
    {                                                                          \
        (void)self;                                                            \
        return activation_call(#name "_forward", code, 0, default_alpha,       \
                               args);                                          \
    }                                                                          \
    static PyObject *core_##name##_backward(PyObject *self, PyObject *args)    \
    {                                                                          \
        (void)self;                                                            \
        return activation_call(#name "_backward", code, 1, default_alpha,      \
                               args);                                          \
    }
ACTIVATION_ENTRIES(linear, TNN_LINEAR, -1)
ACTIVATION_ENTRIES(relu, TNN_RELU, -1)
ACTIVATION_ENTRIES(sigmoid, TNN_SIGMOID, -1)
ACTIVATION_ENTRIES(tanh, TNN_TANH, -1)
ACTIVATION_ENTRIES(softmax, TNN_SOFTMAX, -1)
/* Keras's defaults: elu alpha 1.0, leaky_relu (the function) 0.2. */
ACTIVATION_ENTRIES(elu, TNN_ELU, 1.0)
ACTIVATION_ENTRIES(selu, TNN_SELU, -1)
ACTIVATION_ENTRIES(softplus, TNN_SOFTPLUS, -1)
ACTIVATION_ENTRIES(leaky_relu, TNN_LEAKY_RELU, 0.2)
ACTIVATION_ENTRIES(swish, TNN_SWISH, -1)
ACTIVATION_ENTRIES(gelu, TNN_GELU, -1)
ACTIVATION_ENTRIES(gelu_tanh, TNN_GELU_TANH, -1)

/* relu_clip_forward(x, y, max_value=None, negative_slope=0.0,
 * threshold=0.0) and relu_clip_backward(x, dy, dx, ...): Keras's ReLU. */
static PyObject *relu_clip_call(const char *fn, int backward, PyObject *args,
                                PyObject *kw)
{
    static char *fwd_names[] = {"x",         "y", "max_value", "negative_slope",
                                "threshold", NULL};
    static char *bwd_names[] = {
        "x", "dy", "dx", "max_value", "negative_slope", "threshold", NULL};
    PyObject *x_obj, *dy_obj = NULL, *out_obj, *top_obj = Py_None;
    PyObject *slope_obj = NULL, *threshold_obj = NULL;
    PyArrayObject *x, *dy = NULL, *out;
    double top = HUGE_VAL, slope = 0.0, threshold = 0.0;
    int dtype = -1;
    const char *out_name = backward ? "dx" : "y";
    int parsed =
        backward
            ? PyArg_ParseTupleAndKeywords(args, kw, "OOO|OOO", bwd_names,
                                          &x_obj, &dy_obj, &out_obj, &top_obj,
                                          &slope_obj, &threshold_obj)
            : PyArg_ParseTupleAndKeywords(args, kw, "OO|OOO", fwd_names, &x_obj,
                                          &out_obj, &top_obj, &slope_obj,
                                          &threshold_obj);
    if (!parsed)
        return NULL;
    if ((top_obj != Py_None &&
         (parse_real(fn, "max_value", top_obj, &top) ||
          check_scalar(fn, "max_value", top, 0, HUGE_VAL, 0))) ||
        (slope_obj &&
         (parse_real(fn, "negative_slope", slope_obj, &slope) ||
          check_scalar(fn, "negative_slope", slope, 0, HUGE_VAL, 0))) ||
        (threshold_obj &&
         (parse_real(fn, "threshold", threshold_obj, &threshold) ||
          check_scalar(fn, "threshold", threshold, 0, HUGE_VAL, 0))))
        return NULL;
    if (check_array(fn, "x", x_obj, -1, ARG_IN, &x) ||
        (backward && check_array(fn, "dy", dy_obj, -1, ARG_IN, &dy)) ||
        check_array(fn, out_name, out_obj, -1, ARG_OUT, &out) ||
        check_float(fn, "x", x, &dtype, "") ||
        (dy && check_float(fn, "dy", dy, &dtype, "x")) ||
        check_float(fn, out_name, out, &dtype, "x") ||
        (dy && check_same_shape(fn, "dy", dy, "x", x)) ||
        check_same_shape(fn, out_name, out, "x", x))
        return NULL;
    if (backward ? (check_no_overlap(fn, "dx", out, "x", x, 0) ||
                    check_no_overlap(fn, "dx", out, "dy", dy, 1))
                 : check_no_overlap(fn, "y", out, "x", x, 1))
        return NULL;
    npy_intp n = PyArray_SIZE(x);
    if (backward)
        CALL_KERNEL_VOID(dtype, tnn_relu_clip_backward, REAL(x), REAL(dy),
                         REAL(out), n, top, slope, threshold);
    else
        CALL_KERNEL_VOID(dtype, tnn_relu_clip_forward, REAL(x), REAL(out), n,
                         top, slope, threshold);
    Py_RETURN_NONE;
}

static PyObject *core_relu_clip_forward(PyObject *self, PyObject *args,
                                        PyObject *kw)
{
    (void)self;
    return relu_clip_call("relu_clip_forward", 0, args, kw);
}

static PyObject *core_relu_clip_backward(PyObject *self, PyObject *args,
                                         PyObject *kw)
{
    (void)self;
    return relu_clip_call("relu_clip_backward", 1, args, kw);
}

/* rescale_forward(x, scale, offset, y) and rescale_backward(dy, scale, dx):
 * the Rescaling layer on (rows, cols), scale and offset (cols,). */
static PyObject *rescale_call(const char *fn, int backward, PyObject *args)
{
    PyObject *in_obj, *scale_obj, *offset_obj = NULL, *out_obj;
    PyArrayObject *in, *scale, *offset = NULL, *out;
    const char *in_name = backward ? "dy" : "x";
    const char *out_name = backward ? "dx" : "y";
    int dtype = -1;
    if (backward ? !PyArg_ParseTuple(args, "OOO", &in_obj, &scale_obj, &out_obj)
                 : !PyArg_ParseTuple(args, "OOOO", &in_obj, &scale_obj,
                                     &offset_obj, &out_obj))
        return NULL;
    if (check_array(fn, in_name, in_obj, 2, ARG_IN, &in) ||
        check_array(fn, "scale", scale_obj, 1, ARG_IN, &scale) ||
        (offset_obj &&
         check_array(fn, "offset", offset_obj, 1, ARG_IN, &offset)) ||
        check_array(fn, out_name, out_obj, 2, ARG_OUT, &out) ||
        check_float(fn, in_name, in, &dtype, "") ||
        check_float(fn, "scale", scale, &dtype, in_name) ||
        (offset && check_float(fn, "offset", offset, &dtype, in_name)) ||
        check_float(fn, out_name, out, &dtype, in_name) ||
        check_same_shape(fn, out_name, out, in_name, in))
        return NULL;
    npy_intp rows = PyArray_DIM(in, 0), cols = PyArray_DIM(in, 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "%s has %zd columns", in_name,
                  (Py_ssize_t)cols);
    if (check_dim(fn, "scale", scale, 0, cols, what) ||
        (offset && check_dim(fn, "offset", offset, 0, cols, what)) ||
        check_no_overlap(fn, out_name, out, in_name, in, 1) ||
        check_no_overlap(fn, out_name, out, "scale", scale, 0) ||
        check_no_overlap(fn, out_name, out, "offset", offset, 0))
        return NULL;
    if (backward)
        CALL_KERNEL_VOID(dtype, tnn_rescale_backward, REAL(in), REAL(scale),
                         REAL(out), rows, cols);
    else
        CALL_KERNEL_VOID(dtype, tnn_rescale_forward, REAL(in), REAL(scale),
                         REAL(offset), REAL(out), rows, cols);
    Py_RETURN_NONE;
}

static PyObject *core_rescale_forward(PyObject *self, PyObject *args)
{
    (void)self;
    return rescale_call("rescale_forward", 0, args);
}

static PyObject *core_rescale_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return rescale_call("rescale_backward", 1, args);
}

/* ---- losses
 * ---------------------------------------------------------------------- */

/* Returns (loss, correct) as a new tuple. */
static PyObject *loss_and_count(double loss, ptrdiff_t correct)
{
    return Py_BuildValue("(dn)", loss, (Py_ssize_t)correct);
}

static PyObject *core_softmax_xent(PyObject *self, PyObject *args)
{
    const char *fn = "softmax_xent";
    PyObject *z_obj, *labels_obj, *d_obj;
    PyArrayObject *z, *labels, *d;
    int dtype = -1, label_type;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &z_obj, &labels_obj, &d_obj))
        return NULL;
    if (check_array(fn, "logits", z_obj, 2, ARG_IN, &z) ||
        check_array(fn, "labels", labels_obj, 1, ARG_IN, &labels) ||
        check_array(fn, "dlogits", d_obj, 2, ARG_OUT | ARG_OPTIONAL, &d) ||
        check_float(fn, "logits", z, &dtype, "") ||
        check_labels(fn, "labels", labels, &label_type) ||
        (d && check_float(fn, "dlogits", d, &dtype, "logits")))
        return NULL;
    npy_intp batch = PyArray_DIM(z, 0), classes = PyArray_DIM(z, 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "logits has %zd rows", (Py_ssize_t)batch);
    if (check_dim(fn, "labels", labels, 0, batch, what) ||
        (d && check_same_shape(fn, "dlogits", d, "logits", z)) ||
        check_no_overlap(fn, "dlogits", d, "logits", z, 1) ||
        check_no_overlap(fn, "dlogits", d, "labels", labels, 0))
        return NULL;
    if (classes == 0 && batch > 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: logits must have at least one class column; got 0",
                     fn);
        return NULL;
    }
    /* Every label is checked before any memory is written. */
    const void *ids = PyArray_DATA(labels);
    for (npy_intp i = 0; i < batch; i++) {
        int64_t label = tnn_label_at(ids, label_type, i);
        if (label < 0 || label >= classes) {
            PyErr_Format(PyExc_ValueError,
                         "%s: labels[%zd] = %lld is outside [0, %zd)", fn,
                         (Py_ssize_t)i, (long long)label, (Py_ssize_t)classes);
            return NULL;
        }
    }
    double loss;
    ptrdiff_t correct;
    CALL_KERNEL(loss, dtype, tnn_softmax_xent, REAL(z), ids, label_type,
                REAL_OR_NULL(d), batch, classes, &correct);
    return loss_and_count(loss, correct);
}

static PyObject *core_softmax_xent_dense(PyObject *self, PyObject *args)
{
    const char *fn = "softmax_xent_dense";
    PyObject *z_obj, *t_obj, *d_obj;
    PyArrayObject *z, *t, *d;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &z_obj, &t_obj, &d_obj))
        return NULL;
    if (check_array(fn, "logits", z_obj, 2, ARG_IN, &z) ||
        check_array(fn, "targets", t_obj, 2, ARG_IN, &t) ||
        check_array(fn, "dlogits", d_obj, 2, ARG_OUT | ARG_OPTIONAL, &d) ||
        check_float(fn, "logits", z, &dtype, "") ||
        check_float(fn, "targets", t, &dtype, "logits") ||
        (d && check_float(fn, "dlogits", d, &dtype, "logits")) ||
        check_same_shape(fn, "targets", t, "logits", z) ||
        (d && check_same_shape(fn, "dlogits", d, "logits", z)) ||
        check_no_overlap(fn, "dlogits", d, "logits", z, 1) ||
        check_no_overlap(fn, "dlogits", d, "targets", t, 0))
        return NULL;
    npy_intp batch = PyArray_DIM(z, 0), classes = PyArray_DIM(z, 1);
    if (classes == 0 && batch > 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: logits must have at least one class column; got 0",
                     fn);
        return NULL;
    }
    double loss;
    ptrdiff_t correct;
    CALL_KERNEL(loss, dtype, tnn_softmax_xent_dense, REAL(z), REAL(t),
                REAL_OR_NULL(d), batch, classes, &correct);
    return loss_and_count(loss, correct);
}

/* Shared body of mse, bce and sigmoid_bce: (pred, target, dpred) -> float. */
typedef double elementwise_loss_f32(const float *, const float *, float *,
                                    ptrdiff_t);
typedef double elementwise_loss_f64(const double *, const double *, double *,
                                    ptrdiff_t);

static PyObject *elementwise_loss(const char *fn, const char *pred_name,
                                  const char *grad_name, PyObject *args,
                                  elementwise_loss_f32 *f32,
                                  elementwise_loss_f64 *f64, int in_place_ok)
{
    PyObject *p_obj, *t_obj, *d_obj;
    PyArrayObject *p, *t, *d;
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOO", &p_obj, &t_obj, &d_obj))
        return NULL;
    if (check_array(fn, pred_name, p_obj, -1, ARG_IN, &p) ||
        check_array(fn, "target", t_obj, -1, ARG_IN, &t) ||
        check_array(fn, grad_name, d_obj, -1, ARG_OUT | ARG_OPTIONAL, &d) ||
        check_float(fn, pred_name, p, &dtype, "") ||
        check_float(fn, "target", t, &dtype, pred_name) ||
        (d && check_float(fn, grad_name, d, &dtype, pred_name)) ||
        check_same_shape(fn, "target", t, pred_name, p) ||
        (d && check_same_shape(fn, grad_name, d, pred_name, p)) ||
        check_no_overlap(fn, grad_name, d, pred_name, p, in_place_ok) ||
        check_no_overlap(fn, grad_name, d, "target", t, 0))
        return NULL;
    npy_intp n = PyArray_SIZE(p);
    double loss;
    Py_BEGIN_ALLOW_THREADS
        if (dtype == NPY_FLOAT32)
            loss = f32(F32(p), F32(t), F32_OR_NULL(d), n);
        else
            loss = f64(F64(p), F64(t), F64_OR_NULL(d), n);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(loss);
}

static PyObject *core_mse(PyObject *self, PyObject *args)
{
    (void)self;
    return elementwise_loss("mse", "pred", "dpred", args, tnn_mse_f32,
                            tnn_mse_f64, 1);
}

static PyObject *core_bce(PyObject *self, PyObject *args)
{
    (void)self;
    return elementwise_loss("bce", "pred", "dpred", args, tnn_bce_f32,
                            tnn_bce_f64, 1);
}

static PyObject *core_sigmoid_bce(PyObject *self, PyObject *args)
{
    (void)self;
    return elementwise_loss("sigmoid_bce", "logits", "dlogits", args,
                            tnn_sigmoid_bce_f32, tnn_sigmoid_bce_f64, 1);
}

static PyObject *core_huber(PyObject *self, PyObject *args)
{
    const char *fn = "huber";
    PyObject *p_obj, *t_obj, *d_obj, *delta_obj = Py_None;
    PyArrayObject *p, *t, *d;
    double delta = 1.0;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO|O", &p_obj, &t_obj, &d_obj, &delta_obj))
        return NULL;
    if (delta_obj != Py_None &&
        (parse_real(fn, "delta", delta_obj, &delta) ||
         check_scalar(fn, "delta", delta, 0, HUGE_VAL, 0)))
        return NULL;
    if (delta == 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: delta must be a finite number > 0; got 0", fn);
        return NULL;
    }
    if (check_array(fn, "pred", p_obj, -1, ARG_IN, &p) ||
        check_array(fn, "target", t_obj, -1, ARG_IN, &t) ||
        check_array(fn, "dpred", d_obj, -1, ARG_OUT | ARG_OPTIONAL, &d) ||
        check_float(fn, "pred", p, &dtype, "") ||
        check_float(fn, "target", t, &dtype, "pred") ||
        (d && check_float(fn, "dpred", d, &dtype, "pred")) ||
        check_same_shape(fn, "target", t, "pred", p) ||
        (d && check_same_shape(fn, "dpred", d, "pred", p)) ||
        check_no_overlap(fn, "dpred", d, "pred", p, 1) ||
        check_no_overlap(fn, "dpred", d, "target", t, 0))
        return NULL;
    npy_intp n = PyArray_SIZE(p);
    double loss;
    CALL_KERNEL(loss, dtype, tnn_huber, REAL(p), REAL(t), REAL_OR_NULL(d), n,
                delta);
    return PyFloat_FromDouble(loss);
}

/* ---- optimizers
 * -------------------------------------------------------------------- */

/* Checks a parameter-shaped array: same dtype and size as w, contiguous,
 * writeable when it is state, and not overlapping any earlier array. */
/* The role of argument i of an optimizer update (w, g, state...): g (i = 1)
 * is read, the rest written; the argument at `optional` may be None. */
static int state_role(int i, int optional)
{
    return (i == 1 ? ARG_IN : ARG_OUT) | (i == optional ? ARG_OPTIONAL : 0);
}

static int check_state(const char *fn, const char *name, PyObject *obj,
                       int role, int *dtype, PyArrayObject *w,
                       PyArrayObject **seen, int n_seen,
                       const char **seen_names, PyArrayObject **out)
{
    if (check_array(fn, name, obj, -1, role, out))
        return -1;
    if (!*out)
        return 0;
    if (check_float(fn, name, *out, dtype, "w"))
        return -1;
    if (w && PyArray_SIZE(*out) != PyArray_SIZE(w)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must have as many values as w; expected %zd, "
                     "got %zd",
                     fn, name, (Py_ssize_t)PyArray_SIZE(w),
                     (Py_ssize_t)PyArray_SIZE(*out));
        return -1;
    }
    for (int i = 0; i < n_seen; i++)
        if (check_no_overlap(fn, name, *out, seen_names[i], seen[i], 0))
            return -1;
    return 0;
}

/* A velocity (momentum buffer) goes with momentum > 0, and only then. */
static int check_velocity(const char *fn, double momentum,
                          PyArrayObject *velocity)
{
    if ((momentum > 0) == (velocity != NULL))
        return 0;
    PyErr_Format(PyExc_ValueError,
                 "%s: velocity must be given exactly when momentum > 0; got "
                 "momentum %s with velocity %s",
                 fn, momentum > 0 ? "> 0" : "0", velocity ? "given" : "None");
    return -1;
}

static PyObject *core_sgd_update(PyObject *self, PyObject *args)
{
    const char *fn = "sgd_update";
    PyObject *w_obj, *g_obj, *v_obj, *lr_obj, *momentum_obj;
    PyArrayObject *arr[3] = {NULL, NULL, NULL};
    const char *nm[3] = {"w", "g", "velocity"};
    double lr, momentum;
    int nesterov, dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOp", &w_obj, &g_obj, &v_obj, &lr_obj,
                          &momentum_obj, &nesterov) ||
        parse_real(fn, "learning_rate", lr_obj, &lr) ||
        parse_real(fn, "momentum", momentum_obj, &momentum))
        return NULL;
    if (check_state(fn, "w", w_obj, ARG_OUT, &dtype, NULL, arr, 0, nm,
                    &arr[0]) ||
        check_state(fn, "g", g_obj, ARG_IN, &dtype, arr[0], arr, 1, nm,
                    &arr[1]) ||
        check_state(fn, "velocity", v_obj, ARG_OUT | ARG_OPTIONAL, &dtype,
                    arr[0], arr, 2, nm, &arr[2]) ||
        check_scalar(fn, "learning_rate", lr, 0, HUGE_VAL, 0) ||
        check_scalar(fn, "momentum", momentum, 0, 1, 1))
        return NULL;
    if (check_velocity(fn, momentum, arr[2]))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_sgd_update, REAL(arr[0]), REAL(arr[1]),
                     REAL_OR_NULL(arr[2]), n, lr, momentum, nesterov);
    Py_RETURN_NONE;
}

static PyObject *core_rmsprop_update(PyObject *self, PyObject *args)
{
    const char *fn = "rmsprop_update";
    PyObject *o[4], *s_obj[4];
    PyArrayObject *arr[4] = {NULL, NULL, NULL, NULL};
    const char *nm[4] = {"w", "g", "s", "velocity"};
    double lr, rho, momentum, eps;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &o[0], &o[1], &o[2], &o[3],
                          &s_obj[0], &s_obj[1], &s_obj[2], &s_obj[3]) ||
        parse_real(fn, "learning_rate", s_obj[0], &lr) ||
        parse_real(fn, "rho", s_obj[1], &rho) ||
        parse_real(fn, "momentum", s_obj[2], &momentum) ||
        parse_real(fn, "epsilon", s_obj[3], &eps))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, 3), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_scalar(fn, "learning_rate", lr, 0, HUGE_VAL, 0) ||
        check_scalar(fn, "rho", rho, 0, 1, 1) ||
        check_scalar(fn, "momentum", momentum, 0, 1, 1) ||
        check_scalar(fn, "epsilon", eps, 0, HUGE_VAL, 0))
        return NULL;
    if (check_velocity(fn, momentum, arr[3]))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_rmsprop_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), REAL_OR_NULL(arr[3]), n, lr, rho, momentum,
                     eps);
    Py_RETURN_NONE;
}

/* adam_update and adamw_update: AdamW takes weight_decay after step. */
static PyObject *adam_entry(const char *fn, PyObject *args, int decoupled)
{
    PyObject *o[5], *s_obj[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    PyArrayObject *arr[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *nm[5] = {"w", "g", "m", "v", "vhat"};
    double lr, beta1, beta2, eps, decay = 0.0;
    long long step;
    int dtype = -1;
    if (!(decoupled
              ? PyArg_ParseTuple(args, "OOOOOOOOOOO", &o[0], &o[1], &o[2],
                                 &o[3], &o[4], &s_obj[0], &s_obj[1], &s_obj[2],
                                 &s_obj[3], &s_obj[4], &s_obj[5])
              : PyArg_ParseTuple(args, "OOOOOOOOOO", &o[0], &o[1], &o[2], &o[3],
                                 &o[4], &s_obj[0], &s_obj[1], &s_obj[2],
                                 &s_obj[3], &s_obj[4])) ||
        parse_adam_scalars(fn, s_obj, &lr, &beta1, &beta2, &eps, &step) ||
        (decoupled && parse_real(fn, "weight_decay", s_obj[5], &decay)))
        return NULL;
    for (int i = 0; i < 5; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, 4), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_adam_scalars(fn, lr, beta1, beta2, eps) ||
        check_scalar(fn, "weight_decay", decay, 0, HUGE_VAL, 0) ||
        check_step(fn, step))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_adamw_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), REAL(arr[3]), REAL_OR_NULL(arr[4]), n, lr,
                     beta1, beta2, eps, step, decay);
    Py_RETURN_NONE;
}

static PyObject *core_adam_update(PyObject *self, PyObject *args)
{
    (void)self;
    return adam_entry("adam_update", args, 0);
}

static PyObject *core_adamw_update(PyObject *self, PyObject *args)
{
    (void)self;
    return adam_entry("adamw_update", args, 1);
}

static PyObject *core_adagrad_update(PyObject *self, PyObject *args)
{
    const char *fn = "adagrad_update";
    PyObject *o[3], *lr_obj, *eps_obj;
    PyArrayObject *arr[3] = {NULL, NULL, NULL};
    const char *nm[3] = {"w", "g", "accumulator"};
    double lr, eps;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &lr_obj,
                          &eps_obj) ||
        parse_real(fn, "learning_rate", lr_obj, &lr) ||
        parse_real(fn, "epsilon", eps_obj, &eps))
        return NULL;
    for (int i = 0; i < 3; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, -1), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_scalar(fn, "learning_rate", lr, 0, HUGE_VAL, 0) ||
        check_scalar(fn, "epsilon", eps, 0, HUGE_VAL, 0))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_adagrad_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), n, lr, eps);
    Py_RETURN_NONE;
}

/* ---- batch normalization ------------------------------------------------
 */

/* Each of the n vectors (NULL: absent) has `channels` entries. */
static int check_channels(const char *fn, PyArrayObject **vectors,
                          const char **names, int n, npy_intp channels)
{
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd channels (columns)",
                  (Py_ssize_t)channels);
    for (int i = 0; i < n; i++)
        if (vectors[i] &&
            check_dim(fn, names[i], vectors[i], 0, channels, what))
            return -1;
    return 0;
}

static PyObject *core_batchnorm_forward(PyObject *self, PyObject *args,
                                        PyObject *kw)
{
    (void)self;
    static char *names[] = {
        "x",    "gamma",   "beta",     "moving_mean", "moving_variance", "y",
        "mean", "inv_std", "momentum", "epsilon",     "training",        NULL};
    const char *fn = "batchnorm_forward";
    PyObject *o[8], *momentum_obj, *epsilon_obj;
    PyArrayObject *a[8];
    const char *nm[8] = {"x",           "gamma",           "beta",
                         "moving_mean", "moving_variance", "y",
                         "mean",        "inv_std"};
    const int role[8] = {ARG_IN,
                         ARG_IN | ARG_OPTIONAL,
                         ARG_IN | ARG_OPTIONAL,
                         ARG_OUT,
                         ARG_OUT,
                         ARG_OUT,
                         ARG_OUT,
                         ARG_OUT};
    double momentum, epsilon;
    int training, dtype = -1;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "OOOOOOOOOOp", names, &o[0], &o[1], &o[2], &o[3], &o[4],
            &o[5], &o[6], &o[7], &momentum_obj, &epsilon_obj, &training) ||
        parse_real(fn, "momentum", momentum_obj, &momentum) ||
        parse_real(fn, "epsilon", epsilon_obj, &epsilon))
        return NULL;
    for (int i = 0; i < 8; i++)
        if (check_array(fn, nm[i], o[i], i == 0 || i == 5 ? 2 : 1, role[i],
                        &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, i ? "x" : "")))
            return NULL;
    npy_intp rows = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1);
    PyArrayObject *vectors[6] = {a[1], a[2], a[3], a[4], a[6], a[7]};
    const char *vector_names[6] = {nm[1], nm[2], nm[3], nm[4], nm[6], nm[7]};
    if (check_same_shape(fn, "y", a[5], "x", a[0]) ||
        check_channels(fn, vectors, vector_names, 6, channels) ||
        check_apart(fn, a + 3, nm + 3, 5, a, nm, 3, NULL) ||
        check_scalar(fn, "momentum", momentum, 0, 1, 0) ||
        check_scalar(fn, "epsilon", epsilon, 0, HUGE_VAL, 0))
        return NULL;
    if (training && rows == 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: x has no rows; training needs at least one row to "
                     "compute the batch statistics",
                     fn);
        return NULL;
    }
    CALL_KERNEL_VOID(dtype, tnn_batchnorm_forward, REAL(a[0]),
                     REAL_OR_NULL(a[1]), REAL_OR_NULL(a[2]), REAL(a[3]),
                     REAL(a[4]), REAL(a[5]), REAL(a[6]), REAL(a[7]), rows,
                     channels, momentum, epsilon, training);
    Py_RETURN_NONE;
}

static PyObject *core_batchnorm_backward(PyObject *self, PyObject *args,
                                         PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",  "gamma",  "dy",    "mean",     "inv_std",
                            "dx", "dgamma", "dbeta", "training", NULL};
    const char *fn = "batchnorm_backward";
    PyObject *o[8];
    PyArrayObject *a[8];
    const char *nm[8] = {"x",       "gamma", "dy",     "mean",
                         "inv_std", "dx",    "dgamma", "dbeta"};
    const int role[8] = {ARG_IN, ARG_IN | ARG_OPTIONAL,  ARG_IN,  ARG_IN,
                         ARG_IN, ARG_OUT | ARG_OPTIONAL, ARG_OUT, ARG_OUT};
    int training, dtype = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOOp", names, &o[0], &o[1],
                                     &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                                     &training))
        return NULL;
    for (int i = 0; i < 8; i++)
        if (check_array(fn, nm[i], o[i], i == 0 || i == 2 || i == 5 ? 2 : 1,
                        role[i], &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, i ? "x" : "")))
            return NULL;
    npy_intp rows = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1);
    PyArrayObject *vectors[5] = {a[1], a[3], a[4], a[6], a[7]};
    const char *vector_names[5] = {nm[1], nm[3], nm[4], nm[6], nm[7]};
    if (check_same_shape(fn, "dy", a[2], "x", a[0]) ||
        (a[5] && check_same_shape(fn, "dx", a[5], "x", a[0])) ||
        check_channels(fn, vectors, vector_names, 5, channels) ||
        check_apart(fn, a + 5, nm + 5, 3, a, nm, 5, "dy"))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_batchnorm_backward, REAL(a[0]),
                     REAL_OR_NULL(a[1]), REAL(a[2]), REAL(a[3]), REAL(a[4]),
                     REAL_OR_NULL(a[5]), REAL(a[6]), REAL(a[7]), rows, channels,
                     training);
    Py_RETURN_NONE;
}

static PyObject *core_layernorm_forward(PyObject *self, PyObject *args,
                                        PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",    "gamma",   "beta",    "y",
                            "mean", "inv_std", "epsilon", NULL};
    const char *fn = "layernorm_forward";
    PyObject *o[6], *epsilon_obj;
    PyArrayObject *a[6];
    const char *nm[6] = {"x", "gamma", "beta", "y", "mean", "inv_std"};
    const int role[6] = {
        ARG_IN, ARG_IN | ARG_OPTIONAL, ARG_IN | ARG_OPTIONAL, ARG_OUT, ARG_OUT,
        ARG_OUT};
    double epsilon;
    int dtype = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOO", names, &o[0], &o[1],
                                     &o[2], &o[3], &o[4], &o[5],
                                     &epsilon_obj) ||
        parse_real(fn, "epsilon", epsilon_obj, &epsilon))
        return NULL;
    for (int i = 0; i < 6; i++)
        if (check_array(fn, nm[i], o[i], i == 0 || i == 3 ? 2 : 1, role[i],
                        &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, i ? "x" : "")))
            return NULL;
    npy_intp rows = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd rows", (Py_ssize_t)rows);
    if (check_same_shape(fn, "y", a[3], "x", a[0]) ||
        check_channels(fn, a + 1, nm + 1, 2, channels) ||
        check_dim(fn, "mean", a[4], 0, rows, what) ||
        check_dim(fn, "inv_std", a[5], 0, rows, what) ||
        check_apart(fn, a + 3, nm + 3, 3, a, nm, 3, NULL) ||
        check_scalar(fn, "epsilon", epsilon, 0, HUGE_VAL, 0))
        return NULL;
    if (channels == 0 && rows > 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: x has no channels; each row needs at least one value "
                     "to compute its mean",
                     fn);
        return NULL;
    }
    CALL_KERNEL_VOID(dtype, tnn_layernorm_forward, REAL(a[0]),
                     REAL_OR_NULL(a[1]), REAL_OR_NULL(a[2]), REAL(a[3]),
                     REAL(a[4]), REAL(a[5]), rows, channels, epsilon);
    Py_RETURN_NONE;
}

static PyObject *core_layernorm_backward(PyObject *self, PyObject *args,
                                         PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",  "gamma",  "dy",    "mean", "inv_std",
                            "dx", "dgamma", "dbeta", NULL};
    const char *fn = "layernorm_backward";
    PyObject *o[8];
    PyArrayObject *a[8];
    const char *nm[8] = {"x",       "gamma", "dy",     "mean",
                         "inv_std", "dx",    "dgamma", "dbeta"};
    const int role[8] = {ARG_IN, ARG_IN | ARG_OPTIONAL,  ARG_IN,  ARG_IN,
                         ARG_IN, ARG_OUT | ARG_OPTIONAL, ARG_OUT, ARG_OUT};
    int dtype = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOO", names, &o[0], &o[1],
                                     &o[2], &o[3], &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    for (int i = 0; i < 8; i++)
        if (check_array(fn, nm[i], o[i], i == 0 || i == 2 || i == 5 ? 2 : 1,
                        role[i], &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, i ? "x" : "")))
            return NULL;
    npy_intp rows = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1);
    PyArrayObject *vectors[3] = {a[1], a[6], a[7]};
    const char *vector_names[3] = {nm[1], nm[6], nm[7]};
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd rows", (Py_ssize_t)rows);
    if (check_same_shape(fn, "dy", a[2], "x", a[0]) ||
        (a[5] && check_same_shape(fn, "dx", a[5], "x", a[0])) ||
        check_channels(fn, vectors, vector_names, 3, channels) ||
        check_dim(fn, "mean", a[3], 0, rows, what) ||
        check_dim(fn, "inv_std", a[4], 0, rows, what) ||
        check_apart(fn, a + 5, nm + 5, 3, a, nm, 5, "dy"))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_layernorm_backward, REAL(a[0]),
                     REAL_OR_NULL(a[1]), REAL(a[2]), REAL(a[3]), REAL(a[4]),
                     REAL_OR_NULL(a[5]), REAL(a[6]), REAL(a[7]), rows,
                     channels);
    Py_RETURN_NONE;
}

/* ---- PReLU: x (outer, channels, inner), alpha (channels,) --------------- */

static PyObject *core_prelu_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "prelu_forward";
    PyObject *o[3];
    PyArrayObject *a[3];
    const char *nm[3] = {"x", "alpha", "y"};
    const int role[3] = {ARG_IN, ARG_IN, ARG_OUT};
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2]))
        return NULL;
    for (int i = 0; i < 3; i++)
        if (check_array(fn, nm[i], o[i], i == 1 ? 1 : 3, role[i], &a[i]) ||
            check_float(fn, nm[i], a[i], &dtype, i ? "x" : ""))
            return NULL;
    npy_intp outer = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1),
             inner = PyArray_DIM(a[0], 2);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd channels (axis 1)",
                  (Py_ssize_t)channels);
    if (check_same_shape(fn, "y", a[2], "x", a[0]) ||
        check_dim(fn, "alpha", a[1], 0, channels, what) ||
        check_no_overlap(fn, "y", a[2], "x", a[0], 1) ||
        check_no_overlap(fn, "y", a[2], "alpha", a[1], 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_prelu_forward, REAL(a[0]), REAL(a[1]),
                     REAL(a[2]), outer, channels, inner);
    Py_RETURN_NONE;
}

static PyObject *core_prelu_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "prelu_backward";
    PyObject *o[5];
    PyArrayObject *a[5];
    const char *nm[5] = {"x", "alpha", "dy", "dx", "dalpha"};
    const int role[5] = {ARG_IN, ARG_IN, ARG_IN, ARG_OUT | ARG_OPTIONAL,
                         ARG_OUT};
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    for (int i = 0; i < 5; i++)
        if (check_array(fn, nm[i], o[i], i == 1 || i == 4 ? 1 : 3, role[i],
                        &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, i ? "x" : "")))
            return NULL;
    npy_intp outer = PyArray_DIM(a[0], 0), channels = PyArray_DIM(a[0], 1),
             inner = PyArray_DIM(a[0], 2);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x has %zd channels (axis 1)",
                  (Py_ssize_t)channels);
    if (check_same_shape(fn, "dy", a[2], "x", a[0]) ||
        (a[3] && check_same_shape(fn, "dx", a[3], "x", a[0])) ||
        check_dim(fn, "alpha", a[1], 0, channels, what) ||
        check_dim(fn, "dalpha", a[4], 0, channels, what) ||
        check_apart(fn, a + 3, nm + 3, 2, a, nm, 3, "dy"))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_prelu_backward, REAL(a[0]), REAL(a[1]),
                     REAL(a[2]), REAL_OR_NULL(a[3]), REAL(a[4]), outer,
                     channels, inner);
    Py_RETURN_NONE;
}

/* ---- merge layers ----------------------------------------------------------
 * Lists of arrays (merge inputs, or their gradients, where None may stand
 * for "not wanted") are checked one by one; the kernels get typed pointer
 * arrays. */
struct array_list {
    PyObject *seq; /* PySequence_Fast of the argument: owns the items */
    Py_ssize_t count;
    PyArrayObject **arr; /* NULL for None */
    float **f32;
    double **f64;
    ptrdiff_t *widths;
    char name[48]; /* the argument's name, for messages */
};
/* The list's data pointers in the branch's dtype (inside CALL_KERNEL). */
#define LIST(l) (_Generic((real_t)0, float: (l).f32, default: (l).f64))

static void free_array_list(struct array_list *l)
{
    Py_CLEAR(l->seq);
    PyMem_Free(l->arr);
    PyMem_Free(l->f32);
    PyMem_Free(l->f64);
    PyMem_Free(l->widths);
    l->arr = NULL, l->f32 = NULL, l->f64 = NULL, l->widths = NULL;
}

/* "name[k]" for messages. */
static const char *item_name(const struct array_list *l, Py_ssize_t k,
                             char *buf, size_t size)
{
    PyOS_snprintf(buf, size, "%s[%zd]", l->name, k);
    return buf;
}

/* obj: a list or tuple of `expected` arrays (expected < 0: at least one),
 * each checked by check_array with `role` and, if *dtype is set, of that
 * dtype (the first array sets it otherwise). ref: the array every item
 * must match in shape (NULL: skip, or the first item for `same_shape`). */
static int parse_array_list(const char *fn, const char *name, PyObject *obj,
                            int role, Py_ssize_t expected,
                            const char *expected_why, int *dtype,
                            const char *like, struct array_list *l)
{
    memset(l, 0, sizeof *l);
    PyOS_snprintf(l->name, sizeof l->name, "%s", name);
    if (!PyList_Check(obj) && !PyTuple_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s: %s must be a list or tuple of numpy.ndarray; got %s",
                     fn, name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    l->seq = PySequence_Fast(obj, "");
    if (!l->seq)
        return -1;
    l->count = PySequence_Fast_GET_SIZE(l->seq);
    if (expected < 0 && l->count < 1) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must hold at least 1 array; got an empty %s", fn,
                     name, Py_TYPE(obj)->tp_name);
        free_array_list(l);
        return -1;
    }
    if (expected >= 0 && l->count != expected) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must hold %zd entries (%s); got %zd", fn, name,
                     expected, expected_why, l->count);
        free_array_list(l);
        return -1;
    }
    size_t n = (size_t)l->count;
    l->arr = PyMem_Calloc(n, sizeof *l->arr);
    l->f32 = PyMem_Calloc(n, sizeof *l->f32);
    l->f64 = PyMem_Calloc(n, sizeof *l->f64);
    l->widths = PyMem_Calloc(n, sizeof *l->widths);
    if (!l->arr || !l->f32 || !l->f64 || !l->widths) {
        free_array_list(l);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(l->seq);
    for (Py_ssize_t k = 0; k < l->count; k++) {
        char nm[64];
        item_name(l, k, nm, sizeof nm);
        if (check_array(fn, nm, items[k], -1, role, &l->arr[k]) ||
            (l->arr[k] && check_float(fn, nm, l->arr[k], dtype, like))) {
            free_array_list(l);
            return -1;
        }
        if (l->arr[k]) {
            l->f32[k] = (float *)PyArray_DATA(l->arr[k]);
            l->f64[k] = (double *)PyArray_DATA(l->arr[k]);
        }
    }
    return 0;
}

/* Every present item has ref's shape. */
static int list_same_shape(const char *fn, struct array_list *l,
                           const char *ref_name, PyArrayObject *ref)
{
    for (Py_ssize_t k = 0; k < l->count; k++) {
        char nm[64];
        if (l->arr[k] && check_same_shape(fn, item_name(l, k, nm, sizeof nm),
                                          l->arr[k], ref_name, ref))
            return -1;
    }
    return 0;
}

/* No present item of l overlaps `arr` (same_ok: except exactly). */
static int list_apart(const char *fn, struct array_list *l, const char *name,
                      PyArrayObject *arr, int same_ok)
{
    for (Py_ssize_t k = 0; k < l->count; k++) {
        char nm[64];
        if (check_no_overlap(fn, name, arr, item_name(l, k, nm, sizeof nm),
                             l->arr[k], same_ok))
            return -1;
    }
    return 0;
}

/* The gradients dxs: apart from every input, from dy and from each other. */
static int gradients_apart(const char *fn, struct array_list *dxs,
                           struct array_list *inputs, const char *dy_name,
                           PyArrayObject *dy)
{
    for (Py_ssize_t k = 0; k < dxs->count; k++) {
        char nm[64];
        PyArrayObject *dx = dxs->arr[k];
        if (!dx)
            continue;
        item_name(dxs, k, nm, sizeof nm);
        if ((inputs && list_apart(fn, inputs, nm, dx, 0)) ||
            check_no_overlap(fn, nm, dx, dy_name, dy, 0))
            return -1;
        for (Py_ssize_t m = k + 1; m < dxs->count; m++) {
            char other[64];
            if (check_no_overlap(fn, nm, dx,
                                 item_name(dxs, m, other, sizeof other),
                                 dxs->arr[m], 0))
                return -1;
        }
    }
    return 0;
}

/* merge_<op>(inputs, out[, accumulate]): out = the fold of the inputs. */
static PyObject *merge_forward_call(const char *fn, int op, PyObject *args,
                                    PyObject *kw)
{
    static char *names[] = {"inputs", "out", "accumulate", NULL};
    static char *fold_names[] = {"inputs", "out", NULL};
    PyObject *in_obj, *out_obj;
    int accumulate = 0, dtype = -1;
    PyArrayObject *out;
    struct array_list xs;
    if (op == TNN_MERGE_ADD
            ? !PyArg_ParseTupleAndKeywords(args, kw, "OO|p", names, &in_obj,
                                           &out_obj, &accumulate)
            : !PyArg_ParseTupleAndKeywords(args, kw, "OO", fold_names, &in_obj,
                                           &out_obj))
        return NULL;
    if (parse_array_list(fn, "inputs", in_obj, ARG_IN, -1, NULL, &dtype,
                         "inputs[0]", &xs))
        return NULL;
    PyArrayObject *x0 = xs.arr[0];
    if (list_same_shape(fn, &xs, "inputs[0]", x0) ||
        check_array(fn, "out", out_obj, -1, ARG_OUT, &out) ||
        check_float(fn, "out", out, &dtype, "inputs[0]") ||
        check_same_shape(fn, "out", out, "inputs[0]", x0) ||
        list_apart(fn, &xs, "out", out, 1)) {
        free_array_list(&xs);
        return NULL;
    }
    npy_intp n = PyArray_SIZE(x0);
    CALL_KERNEL_VOID(dtype, tnn_merge_forward, op,
                     (const real_t *const *)LIST(xs), xs.count, REAL(out), n,
                     accumulate);
    free_array_list(&xs);
    Py_RETURN_NONE;
}

/* merge_<op>_backward(inputs, dy, dxs) for multiply, maximum, minimum;
 * merge_average_backward(dy, dxs) (with_inputs = 0). */
static PyObject *merge_backward_call(const char *fn, int op, int with_inputs,
                                     PyObject *args)
{
    PyObject *in_obj = NULL, *dy_obj, *dxs_obj;
    PyArrayObject *dy;
    int dtype = -1;
    struct array_list xs = {0}, dxs = {0};
    if (with_inputs ? !PyArg_ParseTuple(args, "OOO", &in_obj, &dy_obj, &dxs_obj)
                    : !PyArg_ParseTuple(args, "OO", &dy_obj, &dxs_obj))
        return NULL;
    if (check_array(fn, "dy", dy_obj, -1, ARG_IN, &dy) ||
        check_float(fn, "dy", dy, &dtype, ""))
        return NULL;
    if (with_inputs && (parse_array_list(fn, "inputs", in_obj, ARG_IN, -1, NULL,
                                         &dtype, "dy", &xs) ||
                        list_same_shape(fn, &xs, "dy", dy)))
        goto fail;
    if (parse_array_list(fn, "dxs", dxs_obj, ARG_OUT | ARG_OPTIONAL,
                         with_inputs ? xs.count : -1, "one per input", &dtype,
                         "dy", &dxs) ||
        list_same_shape(fn, &dxs, "dy", dy) ||
        gradients_apart(fn, &dxs, with_inputs ? &xs : NULL, "dy", dy))
        goto fail;
    npy_intp n = PyArray_SIZE(dy);
    CALL_KERNEL_VOID(dtype, tnn_merge_backward, op,
                     with_inputs ? (const real_t *const *)LIST(xs) : NULL,
                     dxs.count, REAL(dy), LIST(dxs), n);
    free_array_list(&xs);
    free_array_list(&dxs);
    Py_RETURN_NONE;
fail:
    free_array_list(&xs);
    free_array_list(&dxs);
    return NULL;
}

#define MERGE_ENTRIES(name, code)                                              \
    static PyObject *core_merge_##name(PyObject *self, PyObject *args,         \
                                       PyObject *kw)                           \
    {                                                                          \
        (void)self;                                                            \
        return merge_forward_call("merge_" #name, code, args, kw);             \
    }
MERGE_ENTRIES(add, TNN_MERGE_ADD)
MERGE_ENTRIES(multiply, TNN_MERGE_MULTIPLY)
MERGE_ENTRIES(average, TNN_MERGE_AVERAGE)
MERGE_ENTRIES(maximum, TNN_MERGE_MAXIMUM)
MERGE_ENTRIES(minimum, TNN_MERGE_MINIMUM)

static PyObject *core_merge_multiply_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return merge_backward_call("merge_multiply_backward", TNN_MERGE_MULTIPLY, 1,
                               args);
}

static PyObject *core_merge_maximum_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return merge_backward_call("merge_maximum_backward", TNN_MERGE_MAXIMUM, 1,
                               args);
}

static PyObject *core_merge_minimum_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return merge_backward_call("merge_minimum_backward", TNN_MERGE_MINIMUM, 1,
                               args);
}

static PyObject *core_merge_average_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return merge_backward_call("merge_average_backward", TNN_MERGE_AVERAGE, 0,
                               args);
}

/* merge_subtract(x0, x1, out): out = x0 - x1; out may be x0 or x1. */
static PyObject *core_merge_subtract(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "merge_subtract";
    PyObject *o[3];
    PyArrayObject *a[3];
    const char *nm[3] = {"x0", "x1", "out"};
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2]))
        return NULL;
    for (int i = 0; i < 3; i++)
        if (check_array(fn, nm[i], o[i], -1, i == 2 ? ARG_OUT : ARG_IN,
                        &a[i]) ||
            check_float(fn, nm[i], a[i], &dtype, "x0") ||
            (i && check_same_shape(fn, nm[i], a[i], "x0", a[0])))
            return NULL;
    if (check_no_overlap(fn, "out", a[2], "x0", a[0], 1) ||
        check_no_overlap(fn, "out", a[2], "x1", a[1], 1))
        return NULL;
    npy_intp n = PyArray_SIZE(a[0]);
    CALL_KERNEL_VOID(dtype, tnn_merge_forward, TNN_MERGE_SUBTRACT,
                     ((const real_t *const[2]){REAL(a[0]), REAL(a[1])}), 2,
                     REAL(a[2]), n, 0);
    Py_RETURN_NONE;
}

/* merge_subtract_backward(dy, dx0, dx1): dx0 = dy, dx1 = -dy; either may
 * be None. */
static PyObject *core_merge_subtract_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "merge_subtract_backward";
    PyObject *o[3];
    PyArrayObject *a[3];
    const char *nm[3] = {"dy", "dx0", "dx1"};
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2]))
        return NULL;
    for (int i = 0; i < 3; i++)
        if (check_array(fn, nm[i], o[i], -1,
                        i ? ARG_OUT | ARG_OPTIONAL : ARG_IN, &a[i]) ||
            (a[i] && (check_float(fn, nm[i], a[i], &dtype, "dy") ||
                      (i && check_same_shape(fn, nm[i], a[i], "dy", a[0])))))
            return NULL;
    if (check_apart(fn, a + 1, nm + 1, 2, a, nm, 1, NULL))
        return NULL;
    npy_intp n = PyArray_SIZE(a[0]);
    CALL_KERNEL_VOID(
        dtype, tnn_merge_backward, TNN_MERGE_SUBTRACT, NULL, 2, REAL(a[0]),
        ((real_t *const[2]){REAL_OR_NULL(a[1]), REAL_OR_NULL(a[2])}), n);
    Py_RETURN_NONE;
}

/* scale(x, out, alpha): out = alpha * x; out may be x. */
static PyObject *core_first_nonfinite(PyObject *self, PyObject *args,
                                      PyObject *kw)
{
    (void)self;
    static char *names[] = {"a", "as_float32", NULL};
    const char *fn = "first_nonfinite";
    PyObject *a_obj;
    PyArrayObject *a;
    int dtype = -1, narrow = 0;
    ptrdiff_t first;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", names, &a_obj, &narrow))
        return NULL;
    if (check_array(fn, "a", a_obj, -1, ARG_IN, &a) ||
        check_float(fn, "a", a, &dtype, ""))
        return NULL;
    CALL_KERNEL(first, dtype, tnn_first_nonfinite, REAL(a), PyArray_SIZE(a),
                narrow);
    return PyLong_FromSsize_t(first);
}

static PyObject *core_scale(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "scale";
    PyObject *x_obj, *out_obj, *alpha_obj;
    PyArrayObject *x, *out;
    double alpha;
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOO", &x_obj, &out_obj, &alpha_obj))
        return NULL;
    if (parse_real(fn, "alpha", alpha_obj, &alpha) ||
        check_scalar(fn, "alpha", alpha, -HUGE_VAL, HUGE_VAL, 0) ||
        check_array(fn, "x", x_obj, -1, ARG_IN, &x) ||
        check_array(fn, "out", out_obj, -1, ARG_OUT, &out) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "out", out, &dtype, "x") ||
        check_same_shape(fn, "out", out, "x", x) ||
        check_no_overlap(fn, "out", out, "x", x, 1))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_scale, REAL(x), REAL(out), PyArray_SIZE(x),
                     alpha);
    Py_RETURN_NONE;
}

/* Dropout's arrays (mask, x, out: one float dtype and shape, out may be
 * x, mask apart from both) and rate in [0, 1). */
static int parse_dropout(const char *fn, PyObject *const objs[4],
                         PyArrayObject **mask, PyArrayObject **x,
                         PyArrayObject **out, double *rate, int *dtype)
{
    int bad = parse_real(fn, "rate", objs[3], rate) ||
              check_scalar(fn, "rate", *rate, 0, 1, 1) ||
              check_array(fn, "mask", objs[0], -1, ARG_OUT, mask) ||
              check_array(fn, "x", objs[1], -1, ARG_IN, x) ||
              check_array(fn, "out", objs[2], -1, ARG_OUT, out) ||
              check_float(fn, "x", *x, dtype, "") ||
              check_float(fn, "mask", *mask, dtype, "x") ||
              check_float(fn, "out", *out, dtype, "x") ||
              check_same_shape(fn, "mask", *mask, "x", *x) ||
              check_same_shape(fn, "out", *out, "x", *x) ||
              check_no_overlap(fn, "mask", *mask, "x", *x, 0) ||
              check_no_overlap(fn, "mask", *mask, "out", *out, 0) ||
              check_no_overlap(fn, "out", *out, "x", *x, 1);
    return bad ? -1 : 0;
}

static PyObject *core_dropout_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "dropout_forward";
    PyObject *objs[4];
    PyArrayObject *mask, *x, *out;
    double rate;
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOO", &objs[0], &objs[1], &objs[2],
                          &objs[3]) ||
        parse_dropout(fn, objs, &mask, &x, &out, &rate, &dtype))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_dropout_forward, REAL(mask), REAL(x), REAL(out),
                     PyArray_SIZE(x), rate);
    Py_RETURN_NONE;
}

/* A PCG64 state from its five Python words (state_hi, state_lo, inc_hi,
 * inc_lo, uinteger: unsigned, checked, never wrapped) and has_uint32. */
static int parse_pcg64(const char *fn, PyObject *const words[5], int has_uint32,
                       struct tnn_pcg64 *g)
{
    static const char *const names[] = {"state_hi", "state_lo", "inc_hi",
                                        "inc_lo", "uinteger"};
    static const unsigned long long most[] = {
        UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX};
    unsigned long long value[5];
    for (int i = 0; i < 5; i++) {
        int ok = PyLong_Check(words[i]);
        value[i] = ok ? PyLong_AsUnsignedLongLong(words[i]) : 0;
        if (ok && PyErr_Occurred()) {
            PyErr_Clear();
            ok = 0;
        }
        if (!ok || value[i] > most[i]) {
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must be an integer in [0, %llu]; got %R", fn,
                         names[i], most[i], words[i]);
            return -1;
        }
    }
    *g = (struct tnn_pcg64){.state_hi = value[0],
                            .state_lo = value[1],
                            .inc_hi = value[2],
                            .inc_lo = value[3],
                            .has_uint32 = has_uint32,
                            .uinteger = (uint32_t)value[4]};
    return 0;
}

/* What changed of the state, for the caller to store back:
 * (state_hi, state_lo, has_uint32, uinteger). */
static PyObject *pcg64_result(const struct tnn_pcg64 *g)
{
    return Py_BuildValue("KKik", (unsigned long long)g->state_hi,
                         (unsigned long long)g->state_lo, g->has_uint32,
                         (unsigned long)g->uinteger);
}

static PyObject *core_uniform_pcg64(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "uniform_pcg64";
    PyObject *out_obj, *words[5];
    PyArrayObject *out;
    struct tnn_pcg64 g;
    int has_uint32, dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOOOpO", &out_obj, &words[0], &words[1],
                          &words[2], &words[3], &has_uint32, &words[4]))
        return NULL;
    if (check_array(fn, "out", out_obj, -1, ARG_OUT, &out) ||
        check_float(fn, "out", out, &dtype, "") ||
        parse_pcg64(fn, words, has_uint32, &g))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_uniform_pcg64, REAL(out), PyArray_SIZE(out),
                     &g);
    return pcg64_result(&g);
}

static PyObject *core_dropout_pcg64(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "dropout_pcg64";
    PyObject *objs[4], *words[5];
    PyArrayObject *mask, *x, *out;
    struct tnn_pcg64 g;
    double rate;
    int has_uint32, dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOOOOOOpO", &objs[0], &objs[1], &objs[2],
                          &objs[3], &words[0], &words[1], &words[2], &words[3],
                          &has_uint32, &words[4]) ||
        parse_dropout(fn, objs, &mask, &x, &out, &rate, &dtype) ||
        parse_pcg64(fn, words, has_uint32, &g))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_dropout_pcg64, REAL(mask), REAL(x), REAL(out),
                     PyArray_SIZE(x), rate, &g);
    return pcg64_result(&g);
}

/* The concatenation's geometry from the parts' shapes: every part has
 * parts[0]'s dims except along `axis`; `whole` (out or dy) has them too,
 * with the widths' sum along the axis. Sets widths, *outer, *inner. */
static int concat_geometry(const char *fn, struct array_list *parts,
                           PyArrayObject *whole, const char *whole_name,
                           PyObject *axis_obj, npy_intp *outer, npy_intp *inner)
{
    PyArrayObject *ref = parts->arr[0];
    int nd = PyArray_NDIM(ref);
    long long axis;
    if (parse_int(fn, "axis", axis_obj, -nd, nd - 1, &axis))
        return -1;
    if (axis < 0)
        axis += nd;
    char what[128], nm[64];
    npy_intp total = 0;
    for (Py_ssize_t k = 0; k < parts->count; k++) {
        PyArrayObject *p = parts->arr[k];
        item_name(parts, k, nm, sizeof nm);
        if (PyArray_NDIM(p) != nd) {
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must be %d-dimensional like %s[0]; got %d "
                         "dimensions",
                         fn, nm, nd, parts->name, PyArray_NDIM(p));
            return -1;
        }
        for (int d = 0; d < nd; d++) {
            PyOS_snprintf(what, sizeof what,
                          "%s[0] has %zd there (only axis %lld may differ)",
                          parts->name, (Py_ssize_t)PyArray_DIM(ref, d), axis);
            if (d != axis && check_dim(fn, nm, p, d, PyArray_DIM(ref, d), what))
                return -1;
        }
        parts->widths[k] = PyArray_DIM(p, (int)axis);
        total += parts->widths[k];
    }
    if (PyArray_NDIM(whole) != nd) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be %d-dimensional like %s[0]; got %d "
                     "dimensions",
                     fn, whole_name, nd, parts->name, PyArray_NDIM(whole));
        return -1;
    }
    *outer = 1, *inner = 1;
    for (int d = 0; d < nd; d++) {
        npy_intp want = d == axis ? total : PyArray_DIM(ref, d);
        PyOS_snprintf(what, sizeof what,
                      d == axis ? "the %s sum to %zd along axis %lld"
                                : "the %s have %zd on axis %lld's sides",
                      parts->name, (Py_ssize_t)want, axis);
        if (check_dim(fn, whole_name, whole, d, want, what))
            return -1;
        if (d < axis)
            *outer *= want;
        else if (d > axis)
            *inner *= want;
    }
    return 0;
}

/* concatenate(inputs, out, axis). */
static PyObject *core_concatenate(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "concatenate";
    PyObject *in_obj, *out_obj, *axis_obj;
    PyArrayObject *out;
    int dtype = -1;
    npy_intp outer, inner;
    struct array_list xs;
    if (!PyArg_ParseTuple(args, "OOO", &in_obj, &out_obj, &axis_obj))
        return NULL;
    if (parse_array_list(fn, "inputs", in_obj, ARG_IN, -1, NULL, &dtype,
                         "inputs[0]", &xs))
        return NULL;
    if (check_array(fn, "out", out_obj, -1, ARG_OUT, &out) ||
        check_float(fn, "out", out, &dtype, "inputs[0]") ||
        concat_geometry(fn, &xs, out, "out", axis_obj, &outer, &inner) ||
        list_apart(fn, &xs, "out", out, 0)) {
        free_array_list(&xs);
        return NULL;
    }
    CALL_KERNEL_VOID(dtype, tnn_concat_forward, (const real_t *const *)LIST(xs),
                     xs.widths, xs.count, REAL(out), outer, inner);
    free_array_list(&xs);
    Py_RETURN_NONE;
}

/* concatenate_backward(inputs, dy, dxs, axis): inputs give the shapes only
 * (their data is not read); dxs entries may be None. */
static PyObject *core_concatenate_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "concatenate_backward";
    PyObject *in_obj, *dy_obj, *dxs_obj, *axis_obj;
    PyArrayObject *dy;
    int dtype = -1;
    npy_intp outer, inner;
    struct array_list xs = {0}, dxs = {0};
    if (!PyArg_ParseTuple(args, "OOOO", &in_obj, &dy_obj, &dxs_obj, &axis_obj))
        return NULL;
    if (check_array(fn, "dy", dy_obj, -1, ARG_IN, &dy) ||
        check_float(fn, "dy", dy, &dtype, ""))
        return NULL;
    if (parse_array_list(fn, "inputs", in_obj, ARG_IN, -1, NULL, &dtype, "dy",
                         &xs) ||
        concat_geometry(fn, &xs, dy, "dy", axis_obj, &outer, &inner) ||
        parse_array_list(fn, "dxs", dxs_obj, ARG_OUT | ARG_OPTIONAL, xs.count,
                         "one per input", &dtype, "dy", &dxs))
        goto fail;
    for (Py_ssize_t k = 0; k < dxs.count; k++) {
        char nm[64], ref[64];
        if (dxs.arr[k] &&
            check_same_shape(fn, item_name(&dxs, k, nm, sizeof nm), dxs.arr[k],
                             item_name(&xs, k, ref, sizeof ref), xs.arr[k]))
            goto fail;
    }
    if (gradients_apart(fn, &dxs, NULL, "dy", dy))
        goto fail;
    CALL_KERNEL_VOID(dtype, tnn_concat_backward, REAL(dy), xs.widths, xs.count,
                     LIST(dxs), outer, inner);
    free_array_list(&xs);
    free_array_list(&dxs);
    Py_RETURN_NONE;
fail:
    free_array_list(&xs);
    free_array_list(&dxs);
    return NULL;
}

/* dot(x0, x1, out, normalize=False, epsilon=1e-12) and dot_backward(x0, x1,
 * dy, dx0, dx1, normalize=False, epsilon=1e-12): Keras's Dot(axes=1) on
 * (batch, d); out and dy are (batch, 1). */
static PyObject *dot_call(const char *fn, int backward, PyObject *args,
                          PyObject *kw)
{
    static char *fwd_names[] = {"x0",        "x1",      "out",
                                "normalize", "epsilon", NULL};
    static char *bwd_names[] = {"x0",  "x1",        "dy",      "dx0",
                                "dx1", "normalize", "epsilon", NULL};
    PyObject *o[5] = {NULL, NULL, NULL, NULL, NULL}, *eps_obj = NULL;
    PyArrayObject *a[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *fwd_nm[3] = {"x0", "x1", "out"};
    const char *bwd_nm[5] = {"x0", "x1", "dy", "dx0", "dx1"};
    const char **nm = backward ? bwd_nm : fwd_nm;
    int normalize = 0, dtype = -1, count = backward ? 5 : 3;
    double epsilon = 1e-12;
    if (backward
            ? !PyArg_ParseTupleAndKeywords(args, kw, "OOOOO|pO", bwd_names,
                                           &o[0], &o[1], &o[2], &o[3], &o[4],
                                           &normalize, &eps_obj)
            : !PyArg_ParseTupleAndKeywords(args, kw, "OOO|pO", fwd_names, &o[0],
                                           &o[1], &o[2], &normalize, &eps_obj))
        return NULL;
    if (eps_obj && (parse_real(fn, "epsilon", eps_obj, &epsilon) ||
                    check_scalar(fn, "epsilon", epsilon, 0, HUGE_VAL, 0)))
        return NULL;
    for (int i = 0; i < count; i++) {
        int role = i < 2 || (backward && i == 2) ? ARG_IN
                   : backward                    ? ARG_OUT | ARG_OPTIONAL
                                                 : ARG_OUT;
        if (check_array(fn, nm[i], o[i], 2, role, &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, "x0")))
            return NULL;
    }
    npy_intp rows = PyArray_DIM(a[0], 0), cols = PyArray_DIM(a[0], 1);
    char what[96];
    PyOS_snprintf(what, sizeof what, "x0 has %zd rows (one value per row)",
                  (Py_ssize_t)rows);
    if (check_same_shape(fn, "x1", a[1], "x0", a[0]) ||
        check_dim(fn, nm[2], a[2], 0, rows, what) ||
        check_dim(fn, nm[2], a[2], 1, 1, what))
        return NULL;
    if (backward) {
        if ((a[3] && check_same_shape(fn, "dx0", a[3], "x0", a[0])) ||
            (a[4] && check_same_shape(fn, "dx1", a[4], "x0", a[0])) ||
            check_apart(fn, a + 3, nm + 3, 2, a, nm, 3, NULL))
            return NULL;
        CALL_KERNEL_VOID(dtype, tnn_dot_backward, REAL(a[0]), REAL(a[1]),
                         REAL(a[2]), REAL_OR_NULL(a[3]), REAL_OR_NULL(a[4]),
                         rows, cols, normalize, epsilon);
    } else {
        if (check_apart(fn, a + 2, nm + 2, 1, a, nm, 2, NULL))
            return NULL;
        CALL_KERNEL_VOID(dtype, tnn_dot_forward, REAL(a[0]), REAL(a[1]),
                         REAL(a[2]), rows, cols, normalize, epsilon);
    }
    Py_RETURN_NONE;
}

static PyObject *core_dot(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return dot_call("dot", 0, args, kw);
}

static PyObject *core_dot_backward(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return dot_call("dot_backward", 1, args, kw);
}

/* One of Dot's axes on a 3-D input: 1 or 2 (-2 or -1), not the batch. */
static int parse_dot_axis(const char *fn, const char *name, PyObject *obj,
                          int *axis)
{
    long long value;
    if (parse_int(fn, name, obj, -2, 2, &value))
        return -1;
    if (value == 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must be 1 or 2 (-2 or -1); got 0, the batch axis",
                     fn, name);
        return -1;
    }
    *axis = value < 0 ? (int)value + 3 : (int)value;
    return 0;
}

/* batch_dot(x0, x1, out, axes=2) and batch_dot_backward(x0, x1, dy, dx0,
 * dx1, axes=2): Keras's Dot on (batch, a1, a2) and (batch, b1, b2); axes an
 * int or a pair. */
static PyObject *batch_dot_call(const char *fn, int backward, PyObject *args,
                                PyObject *kw)
{
    static char *fwd_names[] = {"x0", "x1", "out", "axes", NULL};
    static char *bwd_names[] = {"x0", "x1", "dy", "dx0", "dx1", "axes", NULL};
    PyObject *o[5] = {NULL, NULL, NULL, NULL, NULL}, *axes_obj = NULL;
    PyArrayObject *a[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *fwd_nm[3] = {"x0", "x1", "out"};
    const char *bwd_nm[5] = {"x0", "x1", "dy", "dx0", "dx1"};
    const char **nm = backward ? bwd_nm : fwd_nm;
    int dtype = -1, count = backward ? 5 : 3, axis0 = 2, axis1 = 2;
    if (backward ? !PyArg_ParseTupleAndKeywords(args, kw, "OOOOO|O", bwd_names,
                                                &o[0], &o[1], &o[2], &o[3],
                                                &o[4], &axes_obj)
                 : !PyArg_ParseTupleAndKeywords(args, kw, "OOO|O", fwd_names,
                                                &o[0], &o[1], &o[2], &axes_obj))
        return NULL;
    if (axes_obj && PyTuple_Check(axes_obj)) {
        if (PyTuple_GET_SIZE(axes_obj) != 2) {
            PyErr_Format(PyExc_ValueError,
                         "%s: axes must be an integer or a pair; got a tuple "
                         "of %zd",
                         fn, PyTuple_GET_SIZE(axes_obj));
            return NULL;
        }
        if (parse_dot_axis(fn, "axes[0]", PyTuple_GET_ITEM(axes_obj, 0),
                           &axis0) ||
            parse_dot_axis(fn, "axes[1]", PyTuple_GET_ITEM(axes_obj, 1),
                           &axis1))
            return NULL;
    } else if (axes_obj) {
        if (parse_dot_axis(fn, "axes", axes_obj, &axis0))
            return NULL;
        axis1 = axis0;
    }
    for (int i = 0; i < count; i++) {
        int role = i < 2 || (backward && i == 2) ? ARG_IN
                   : backward                    ? ARG_OUT | ARG_OPTIONAL
                                                 : ARG_OUT;
        if (check_array(fn, nm[i], o[i], 3, role, &a[i]) ||
            (a[i] && check_float(fn, nm[i], a[i], &dtype, "x0")))
            return NULL;
    }
    npy_intp batch = PyArray_DIM(a[0], 0);
    npy_intp a1 = PyArray_DIM(a[0], 1), a2 = PyArray_DIM(a[0], 2);
    npy_intp b1 = PyArray_DIM(a[1], 1), b2 = PyArray_DIM(a[1], 2);
    npy_intp summed = axis0 == 2 ? a2 : a1;
    npy_intp m = axis0 == 2 ? a1 : a2, n = axis1 == 2 ? b1 : b2;
    char what[96];
    PyOS_snprintf(what, sizeof what, "x0 has %zd there (batch, and axis %d)",
                  (Py_ssize_t)batch, axis0);
    if (check_dim(fn, "x1", a[1], 0, batch, what))
        return NULL;
    PyOS_snprintf(what, sizeof what, "x0 has %zd along its axis %d",
                  (Py_ssize_t)summed, axis0);
    if (check_dim(fn, "x1", a[1], axis1, summed, what))
        return NULL;
    PyOS_snprintf(what, sizeof what, "the output is (batch, %zd, %zd)",
                  (Py_ssize_t)m, (Py_ssize_t)n);
    if (check_dim(fn, nm[2], a[2], 0, batch, what) ||
        check_dim(fn, nm[2], a[2], 1, m, what) ||
        check_dim(fn, nm[2], a[2], 2, n, what))
        return NULL;
    if (backward) {
        if ((a[3] && check_same_shape(fn, "dx0", a[3], "x0", a[0])) ||
            (a[4] && check_same_shape(fn, "dx1", a[4], "x1", a[1])) ||
            check_apart(fn, a + 3, nm + 3, 2, a, nm, 3, NULL))
            return NULL;
        CALL_KERNEL_VOID(dtype, tnn_batch_dot_backward, REAL(a[0]), REAL(a[1]),
                         REAL(a[2]), REAL_OR_NULL(a[3]), REAL_OR_NULL(a[4]),
                         batch, a1, a2, b1, b2, axis0, axis1);
    } else {
        if (check_apart(fn, a + 2, nm + 2, 1, a, nm, 2, NULL))
            return NULL;
        CALL_KERNEL_VOID(dtype, tnn_batch_dot_forward, REAL(a[0]), REAL(a[1]),
                         REAL(a[2]), batch, a1, a2, b1, b2, axis0, axis1);
    }
    Py_RETURN_NONE;
}

static PyObject *core_batch_dot(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    return batch_dot_call("batch_dot", 0, args, kw);
}

static PyObject *core_batch_dot_backward(PyObject *self, PyObject *args,
                                         PyObject *kw)
{
    (void)self;
    return batch_dot_call("batch_dot_backward", 1, args, kw);
}

static PyObject *core_adadelta_update(PyObject *self, PyObject *args)
{
    const char *fn = "adadelta_update";
    PyObject *o[4], *s_obj[3];
    PyArrayObject *arr[4] = {NULL, NULL, NULL, NULL};
    const char *nm[4] = {"w", "g", "accumulated_grad", "accumulated_delta"};
    double lr, rho, eps;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOO", &o[0], &o[1], &o[2], &o[3],
                          &s_obj[0], &s_obj[1], &s_obj[2]) ||
        parse_real(fn, "learning_rate", s_obj[0], &lr) ||
        parse_real(fn, "rho", s_obj[1], &rho) ||
        parse_real(fn, "epsilon", s_obj[2], &eps))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, -1), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_scalar(fn, "learning_rate", lr, 0, HUGE_VAL, 0) ||
        check_scalar(fn, "rho", rho, 0, 1, 1) ||
        check_scalar(fn, "epsilon", eps, 0, HUGE_VAL, 0))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_adadelta_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), REAL(arr[3]), n, lr, rho, eps);
    Py_RETURN_NONE;
}

static PyObject *core_adamax_update(PyObject *self, PyObject *args)
{
    const char *fn = "adamax_update";
    PyObject *o[4], *s_obj[5];
    PyArrayObject *arr[4] = {NULL, NULL, NULL, NULL};
    const char *nm[4] = {"w", "g", "m", "u"};
    double lr, beta1, beta2, eps;
    long long step;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &o[0], &o[1], &o[2], &o[3],
                          &s_obj[0], &s_obj[1], &s_obj[2], &s_obj[3],
                          &s_obj[4]) ||
        parse_adam_scalars(fn, s_obj, &lr, &beta1, &beta2, &eps, &step))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, -1), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_adam_scalars(fn, lr, beta1, beta2, eps) || check_step(fn, step))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_adamax_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), REAL(arr[3]), n, lr, beta1, beta2, eps,
                     step);
    Py_RETURN_NONE;
}

static PyObject *core_nadam_update(PyObject *self, PyObject *args)
{
    const char *fn = "nadam_update";
    PyObject *o[4], *s_obj[6];
    PyArrayObject *arr[4] = {NULL, NULL, NULL, NULL};
    const char *nm[4] = {"w", "g", "m", "v"};
    double lr, beta1, beta2, eps, u_product;
    long long step;
    int dtype = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOO", &o[0], &o[1], &o[2], &o[3],
                          &s_obj[0], &s_obj[1], &s_obj[2], &s_obj[3], &s_obj[4],
                          &s_obj[5]) ||
        parse_adam_scalars(fn, s_obj, &lr, &beta1, &beta2, &eps, &step) ||
        parse_real(fn, "u_product", s_obj[5], &u_product))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (check_state(fn, nm[i], o[i], state_role(i, -1), &dtype, arr[0], arr,
                        i, nm, &arr[i]))
            return NULL;
    if (check_adam_scalars(fn, lr, beta1, beta2, eps) ||
        check_scalar(fn, "u_product", u_product, 0, 1, 1) ||
        check_step(fn, step))
        return NULL;
    npy_intp n = PyArray_SIZE(arr[0]);
    CALL_KERNEL_VOID(dtype, tnn_nadam_update, REAL(arr[0]), REAL(arr[1]),
                     REAL(arr[2]), REAL(arr[3]), n, lr, beta1, beta2, eps, step,
                     u_product);
    Py_RETURN_NONE;
}

/* ---- 2-D convolution (tinynn.h: struct tnn_conv2d_shape) ----------------
 * Every entry takes strides (sh, sw), dilation (dh, dw) and padding (top,
 * left, bottom, right) as sequences of ints. The conv-input-shaped array
 * (`in`: (batch, height, width, channels)) and the conv-output-shaped one
 * (`out`: (batch, out_h, out_w, filters)) must agree with w (kernel_h,
 * kernel_w, channels, filters) and the geometry exactly. */

#define CONV_LIMIT 1073741824LL /* 2^30: strides, dilations, paddings */

/* A sequence of `count` integers in [low, CONV_LIMIT], named name[i]. */
static int parse_int_tuple(const char *fn, const char *name, PyObject *obj,
                           int count, long long low, long long *out)
{
    if (!PyTuple_Check(obj) && !PyList_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s: %s must be a tuple of %d integers; got %s", fn, name,
                     count, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PySequence_Fast_GET_SIZE(obj) != count) {
        PyErr_Format(PyExc_ValueError, "%s: %s must hold %d integers; got %zd",
                     fn, name, count,
                     (Py_ssize_t)PySequence_Fast_GET_SIZE(obj));
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char item[64];
        PyOS_snprintf(item, sizeof item, "%s[%d]", name, i);
        if (parse_int(fn, item, PySequence_Fast_GET_ITEM(obj, i), low,
                      CONV_LIMIT, &out[i]))
            return -1;
    }
    return 0;
}

/* Fills *s from w, the conv-input-shaped array `in` and the geometry, and
 * checks that the conv-output-shaped array `out` has the shape they give,
 * or, with `pool` (pool_h, pool_w), the shape of that output's max pooling
 * (windows as strides, no padding). */
static int conv_shape_pooled(const char *fn, const char *w_name,
                             PyArrayObject *w, const char *in_name,
                             PyArrayObject *in, const char *out_name,
                             PyArrayObject *out, PyObject *strides,
                             PyObject *dilation, PyObject *padding,
                             const long long *pool, struct tnn_conv2d_shape *s)
{
    long long st[2], dl[2], pad[4];
    char what[160];
    if (parse_int_tuple(fn, "strides", strides, 2, 1, st) ||
        parse_int_tuple(fn, "dilation", dilation, 2, 1, dl) ||
        parse_int_tuple(fn, "padding", padding, 4, 0, pad))
        return -1;
    for (int a = 0; a < 4; a++)
        if (PyArray_DIM(w, a) < 1) {
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must have shape (kernel_h, kernel_w, "
                         "channels, filters), each at least 1; got %zd along "
                         "axis %d",
                         fn, w_name, (Py_ssize_t)PyArray_DIM(w, a), a);
            return -1;
        }
    PyOS_snprintf(what, sizeof what, "%s has %zd input channels", w_name,
                  (Py_ssize_t)PyArray_DIM(w, 2));
    if (check_dim(fn, in_name, in, 3, PyArray_DIM(w, 2), what))
        return -1;
    PyOS_snprintf(what, sizeof what, "%s has %zd filters", w_name,
                  (Py_ssize_t)PyArray_DIM(w, 3));
    if (check_dim(fn, out_name, out, 3, PyArray_DIM(w, 3), what))
        return -1;
    PyOS_snprintf(what, sizeof what, "%s has %zd samples", in_name,
                  (Py_ssize_t)PyArray_DIM(in, 0));
    if (check_dim(fn, out_name, out, 0, PyArray_DIM(in, 0), what))
        return -1;
    s->batch = PyArray_DIM(in, 0);
    s->height = PyArray_DIM(in, 1);
    s->width = PyArray_DIM(in, 2);
    s->channels = PyArray_DIM(in, 3);
    s->kernel_h = PyArray_DIM(w, 0);
    s->kernel_w = PyArray_DIM(w, 1);
    s->filters = PyArray_DIM(w, 3);
    s->stride_h = (ptrdiff_t)st[0];
    s->stride_w = (ptrdiff_t)st[1];
    s->dilation_h = (ptrdiff_t)dl[0];
    s->dilation_w = (ptrdiff_t)dl[1];
    s->pad_top = (ptrdiff_t)pad[0];
    s->pad_left = (ptrdiff_t)pad[1];
    /* Every term is below 2^31 * 2^31 or an array dimension: no overflow
     * in 64 bits. */
    long long span[2] = {(long long)(s->kernel_h - 1) * dl[0] + 1,
                         (long long)(s->kernel_w - 1) * dl[1] + 1};
    long long padded[2] = {(long long)s->height + pad[0] + pad[2],
                           (long long)s->width + pad[1] + pad[3]};
    const char *axis_name[2] = {"height", "width"};
    ptrdiff_t outs[2];
    for (int a = 0; a < 2; a++) {
        if (padded[a] < span[a]) {
            PyErr_Format(PyExc_ValueError,
                         "%s: the dilated kernel spans %lld along the %s but "
                         "the padded %s has %lld; expected a kernel no larger "
                         "than the padded input",
                         fn, span[a], axis_name[a], in_name, padded[a]);
            return -1;
        }
        outs[a] = (ptrdiff_t)((padded[a] - span[a]) / st[a] + 1);
        if (pool && outs[a] < pool[a]) {
            PyErr_Format(PyExc_ValueError,
                         "%s: the convolution's output has %zd along the %s, "
                         "fewer than pool_size[%d] = %lld; expected a pooling "
                         "window no larger than it",
                         fn, (Py_ssize_t)outs[a], axis_name[a], a, pool[a]);
            return -1;
        }
        ptrdiff_t expected = pool ? outs[a] / (ptrdiff_t)pool[a] : outs[a];
        PyOS_snprintf(what, sizeof what,
                      "%s, %s, strides, dilation, padding%s give %zd along "
                      "the %s",
                      in_name, w_name, pool ? " and pool_size" : "",
                      (Py_ssize_t)expected, axis_name[a]);
        if (check_dim(fn, out_name, out, a + 1, expected, what))
            return -1;
    }
    s->out_h = outs[0];
    s->out_w = outs[1];
    double cols = (double)s->out_w * (double)s->kernel_h * s->kernel_w *
                  s->channels * 8.0;
    if (cols > 4.0e18) {
        PyErr_Format(PyExc_ValueError,
                     "%s: an output line's windows hold too many values "
                     "(%g bytes); expected a smaller kernel or output",
                     fn, cols);
        return -1;
    }
    return 0;
}

static int conv_shape(const char *fn, PyArrayObject *w, const char *in_name,
                      PyArrayObject *in, const char *out_name,
                      PyArrayObject *out, PyObject *strides, PyObject *dilation,
                      PyObject *padding, struct tnn_conv2d_shape *s)
{
    return conv_shape_pooled(fn, "w", w, in_name, in, out_name, out, strides,
                             dilation, padding, NULL, s);
}

/* The calling thread's scratch for this shape, or MemoryError. */
static int conv_scratch_bytes(size_t bytes, void **scratch)
{
    *scratch = NULL;
    if (bytes == 0)
        return 0;
    *scratch = tnn_scratch_space(bytes);
    if (!*scratch) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int conv_scratch(const struct tnn_conv2d_shape *s, int dtype,
                        void **scratch)
{
    return conv_scratch_bytes(tnn_conv2d_scratch_bytes(s, dtype == NPY_FLOAT32
                                                              ? sizeof(float)
                                                              : sizeof(double)),
                              scratch);
}

/* conv2d_forward and conv2d_transpose_forward: (x, w, b, y, strides,
 * dilation, padding, activation). */
static PyObject *conv_forward(PyObject *args, PyObject *kw, int transpose)
{
    static char *names[] = {"x",        "w",       "b",          "y", "strides",
                            "dilation", "padding", "activation", NULL};
    const char *fn = transpose ? "conv2d_transpose_forward" : "conv2d_forward";
    const char *act_name = "linear";
    PyObject *x_obj, *w_obj, *b_obj, *y_obj, *st, *dl, *pad;
    PyArrayObject *x, *w, *b, *y;
    int dtype = -1, act;
    struct tnn_conv2d_shape s;
    void *scratch;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOO|s", names, &x_obj,
                                     &w_obj, &b_obj, &y_obj, &st, &dl, &pad,
                                     &act_name))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "w", w_obj, 4, ARG_IN, &w) ||
        check_array(fn, "b", b_obj, 1, ARG_IN | ARG_OPTIONAL, &b) ||
        check_array(fn, "y", y_obj, 4, ARG_OUT, &y) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "w", w, &dtype, "x") ||
        (b && check_float(fn, "b", b, &dtype, "x")) ||
        check_float(fn, "y", y, &dtype, "x") ||
        activation_code(fn, act_name, &act))
        return NULL;
    if (transpose ? conv_shape(fn, w, "y", y, "x", x, st, dl, pad, &s)
                  : conv_shape(fn, w, "x", x, "y", y, st, dl, pad, &s))
        return NULL;
    char what[96];
    npy_intp bias_len = transpose ? s.channels : s.filters;
    PyOS_snprintf(what, sizeof what, "y has %zd channels",
                  (Py_ssize_t)bias_len);
    PyArrayObject *ins[] = {x, w, b};
    const char *in_names[] = {"x", "w", "b"}, *out_names[] = {"y"};
    if ((b && check_dim(fn, "b", b, 0, bias_len, what)) ||
        check_apart(fn, &y, out_names, 1, ins, in_names, 3, NULL) ||
        conv_scratch(&s, dtype, &scratch))
        return NULL;
    if (transpose)
        CALL_KERNEL_VOID(dtype, tnn_conv2d_transpose_forward, REAL(x), REAL(w),
                         REAL_OR_NULL(b), REAL(y), scratch, &s, act);
    else
        CALL_KERNEL_VOID(dtype, tnn_conv2d_forward, REAL(x), REAL(w),
                         REAL_OR_NULL(b), REAL(y), scratch, &s, act);
    Py_RETURN_NONE;
}

/* conv2d_backward and conv2d_transpose_backward: (x, w, dy, dx, dw, db,
 * strides, dilation, padding, accumulate). */
static PyObject *conv_backward(PyObject *args, PyObject *kw, int transpose)
{
    static char *names[] = {"x",       "w",          "dy",      "dx",
                            "dw",      "db",         "strides", "dilation",
                            "padding", "accumulate", NULL};
    const char *fn =
        transpose ? "conv2d_transpose_backward" : "conv2d_backward";
    PyObject *x_obj, *w_obj, *dy_obj, *dx_obj, *dw_obj, *db_obj, *st, *dl, *pad;
    PyArrayObject *x, *w, *dy, *dx, *dw, *db;
    int dtype = -1, accumulate = 0;
    struct tnn_conv2d_shape s;
    void *scratch;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOOO|p", names, &x_obj,
                                     &w_obj, &dy_obj, &dx_obj, &dw_obj, &db_obj,
                                     &st, &dl, &pad, &accumulate))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "w", w_obj, 4, ARG_IN, &w) ||
        check_array(fn, "dy", dy_obj, 4, ARG_IN, &dy) ||
        check_array(fn, "dx", dx_obj, 4, ARG_OUT | ARG_OPTIONAL, &dx) ||
        check_array(fn, "dw", dw_obj, 4, ARG_OUT, &dw) ||
        check_array(fn, "db", db_obj, 1, ARG_OUT | ARG_OPTIONAL, &db) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "w", w, &dtype, "x") ||
        check_float(fn, "dy", dy, &dtype, "x") ||
        (dx && check_float(fn, "dx", dx, &dtype, "x")) ||
        check_float(fn, "dw", dw, &dtype, "x") ||
        (db && check_float(fn, "db", db, &dtype, "x")))
        return NULL;
    if (transpose ? conv_shape(fn, w, "dy", dy, "x", x, st, dl, pad, &s)
                  : conv_shape(fn, w, "x", x, "dy", dy, st, dl, pad, &s))
        return NULL;
    char what[96];
    npy_intp bias_len = transpose ? s.channels : s.filters;
    PyOS_snprintf(what, sizeof what, "dy has %zd channels",
                  (Py_ssize_t)bias_len);
    PyArrayObject *outs[] = {dx, dw, db}, *ins[] = {x, w, dy};
    const char *out_names[] = {"dx", "dw", "db"},
               *in_names[] = {"x", "w", "dy"};
    if ((dx && check_same_shape(fn, "dx", dx, "x", x)) ||
        check_same_shape(fn, "dw", dw, "w", w) ||
        (db && check_dim(fn, "db", db, 0, bias_len, what)) ||
        check_apart(fn, outs, out_names, 3, ins, in_names, 3, NULL) ||
        conv_scratch(&s, dtype, &scratch))
        return NULL;
    if (transpose)
        CALL_KERNEL_VOID(dtype, tnn_conv2d_transpose_backward, REAL(x), REAL(w),
                         REAL(dy), REAL_OR_NULL(dx), REAL(dw), REAL_OR_NULL(db),
                         scratch, &s, accumulate);
    else
        CALL_KERNEL_VOID(dtype, tnn_conv2d_backward, REAL(x), REAL(w), REAL(dy),
                         REAL_OR_NULL(dx), REAL(dw), REAL_OR_NULL(db), scratch,
                         &s, accumulate);
    Py_RETURN_NONE;
}

static PyObject *core_conv2d_forward(PyObject *self, PyObject *args,
                                     PyObject *kw)
{
    (void)self;
    return conv_forward(args, kw, 0);
}

static PyObject *core_conv2d_backward(PyObject *self, PyObject *args,
                                      PyObject *kw)
{
    (void)self;
    return conv_backward(args, kw, 0);
}

static PyObject *core_conv2d_transpose_forward(PyObject *self, PyObject *args,
                                               PyObject *kw)
{
    (void)self;
    return conv_forward(args, kw, 1);
}

static PyObject *core_conv2d_transpose_backward(PyObject *self, PyObject *args,
                                                PyObject *kw)
{
    (void)self;
    return conv_backward(args, kw, 1);
}

/* ---- a convolution whose output only a max pooling reads ----------------
 * conv2d_maxpool_forward(x, w, b, y, argmax, strides, dilation, padding,
 * pool_size, activation) and conv2d_maxpool_backward(x, dy, y, argmax, dw,
 * db, strides, dilation, padding, pool_size, activation, accumulate): y
 * and dy are the pooled output's shape; tinynn.h gives the formulas. */

/* pool_size as two ints, activation 'relu' or 'linear', and a geometry
 * the fused kernels take (conv2d_maxpool_fits tells in advance). */
static int conv_pool_args(const char *fn, PyObject *pool_obj,
                          const char *act_name, long long *pool, int *act)
{
    if (parse_int_tuple(fn, "pool_size", pool_obj, 2, 1, pool))
        return -1;
    if (strcmp(act_name, "relu") != 0 && strcmp(act_name, "linear") != 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: activation must be 'relu' or 'linear'; got '%s'", fn,
                     act_name);
        return -1;
    }
    *act = strcmp(act_name, "relu") == 0 ? TNN_RELU : TNN_LINEAR;
    return 0;
}

static int conv_pool_shape_fits(const char *fn,
                                const struct tnn_conv2d_shape *s,
                                const long long *pool)
{
    if (tnn_conv2d_maxpool_fits(s, (ptrdiff_t)pool[0], (ptrdiff_t)pool[1]))
        return 0;
    PyErr_Format(PyExc_ValueError,
                 "%s: this convolution and pooling do not fuse (a kernel of "
                 "%zd x %zd x %zd x %zd, windows of %lld x %lld); expected "
                 "shapes conv2d_maxpool_fits accepts: use conv2d_forward and "
                 "max_pool2d_forward",
                 fn, (Py_ssize_t)s->kernel_h, (Py_ssize_t)s->kernel_w,
                 (Py_ssize_t)s->channels, (Py_ssize_t)s->filters, pool[0],
                 pool[1]);
    return -1;
}

static int conv_pool_scratch(const struct tnn_conv2d_shape *s, int dtype,
                             void **scratch)
{
    return conv_scratch_bytes(
        tnn_conv2d_maxpool_scratch_bytes(
            s, dtype == NPY_FLOAT32 ? sizeof(float) : sizeof(double)),
        scratch);
}

/* An int32 array of `ref`'s shape. */
static int check_int32_like(const char *fn, const char *name,
                            PyArrayObject *arr, const char *ref_name,
                            PyArrayObject *ref)
{
    if (PyArray_TYPE(arr) != NPY_INT32) {
        PyErr_Format(PyExc_TypeError, "%s: %s must have dtype int32; got %s",
                     fn, name, PyArray_DESCR(arr)->typeobj->tp_name);
        return -1;
    }
    return check_same_shape(fn, name, arr, ref_name, ref);
}

static PyObject *core_conv2d_maxpool_forward(PyObject *self, PyObject *args,
                                             PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",         "w",          "b",        "y",
                            "argmax",    "strides",    "dilation", "padding",
                            "pool_size", "activation", NULL};
    const char *fn = "conv2d_maxpool_forward", *act_name = "linear";
    PyObject *x_obj, *w_obj, *b_obj, *y_obj, *i_obj, *st, *dl, *pad, *pl;
    PyArrayObject *x, *w, *b, *y, *argmax;
    int dtype = -1, act;
    long long pool[2];
    struct tnn_conv2d_shape s;
    void *scratch;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOOO|s", names, &x_obj,
                                     &w_obj, &b_obj, &y_obj, &i_obj, &st, &dl,
                                     &pad, &pl, &act_name))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "w", w_obj, 4, ARG_IN, &w) ||
        check_array(fn, "b", b_obj, 1, ARG_IN | ARG_OPTIONAL, &b) ||
        check_array(fn, "y", y_obj, 4, ARG_OUT, &y) ||
        check_array(fn, "argmax", i_obj, 4, ARG_OUT | ARG_OPTIONAL, &argmax) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "w", w, &dtype, "x") ||
        (b && check_float(fn, "b", b, &dtype, "x")) ||
        check_float(fn, "y", y, &dtype, "x") ||
        conv_pool_args(fn, pl, act_name, pool, &act) ||
        conv_shape_pooled(fn, "w", w, "x", x, "y", y, st, dl, pad, pool, &s) ||
        (argmax && check_int32_like(fn, "argmax", argmax, "y", y)) ||
        conv_pool_shape_fits(fn, &s, pool))
        return NULL;
    char what[96];
    PyOS_snprintf(what, sizeof what, "y has %zd channels",
                  (Py_ssize_t)s.filters);
    PyArrayObject *outs[] = {y, argmax}, *ins[] = {x, w, b};
    const char *out_names[] = {"y", "argmax"}, *in_names[] = {"x", "w", "b"};
    if ((b && check_dim(fn, "b", b, 0, s.filters, what)) ||
        check_apart(fn, outs, out_names, 2, ins, in_names, 3, NULL) ||
        conv_pool_scratch(&s, dtype, &scratch))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_conv2d_maxpool_forward, REAL(x), REAL(w),
                     REAL_OR_NULL(b), REAL(y),
                     argmax ? (int32_t *)PyArray_DATA(argmax) : NULL, scratch,
                     &s, (ptrdiff_t)pool[0], (ptrdiff_t)pool[1], act);
    Py_RETURN_NONE;
}

static PyObject *core_conv2d_maxpool_backward(PyObject *self, PyObject *args,
                                              PyObject *kw)
{
    (void)self;
    static char *names[] = {"x",       "dy",        "y",          "argmax",
                            "dw",      "db",        "strides",    "dilation",
                            "padding", "pool_size", "activation", "accumulate",
                            NULL};
    const char *fn = "conv2d_maxpool_backward", *act_name = "linear";
    PyObject *x_obj, *dy_obj, *y_obj, *i_obj, *dw_obj, *db_obj, *st, *dl, *pad,
        *pl;
    PyArrayObject *x, *dy, *y, *argmax, *dw, *db;
    int dtype = -1, act, accumulate = 0, outside;
    long long pool[2];
    struct tnn_conv2d_shape s;
    void *scratch;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "OOOOOOOOOO|sp", names, &x_obj, &dy_obj, &y_obj, &i_obj,
            &dw_obj, &db_obj, &st, &dl, &pad, &pl, &act_name, &accumulate))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "dy", dy_obj, 4, ARG_IN, &dy) ||
        check_array(fn, "y", y_obj, 4, ARG_IN, &y) ||
        check_array(fn, "argmax", i_obj, 4, ARG_IN, &argmax) ||
        check_array(fn, "dw", dw_obj, 4, ARG_OUT, &dw) ||
        check_array(fn, "db", db_obj, 1, ARG_OUT | ARG_OPTIONAL, &db) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "dy", dy, &dtype, "x") ||
        check_float(fn, "y", y, &dtype, "x") ||
        check_float(fn, "dw", dw, &dtype, "x") ||
        (db && check_float(fn, "db", db, &dtype, "x")) ||
        conv_pool_args(fn, pl, act_name, pool, &act) ||
        conv_shape_pooled(fn, "dw", dw, "x", x, "dy", dy, st, dl, pad, pool,
                          &s) ||
        check_same_shape(fn, "y", y, "dy", dy) ||
        check_int32_like(fn, "argmax", argmax, "dy", dy) ||
        conv_pool_shape_fits(fn, &s, pool))
        return NULL;
    char what[96];
    PyOS_snprintf(what, sizeof what, "dy has %zd channels",
                  (Py_ssize_t)s.filters);
    PyArrayObject *outs[] = {dw, db}, *ins[] = {x, dy, y, argmax};
    const char *out_names[] = {"dw", "db"},
               *in_names[] = {"x", "dy", "y", "argmax"};
    if ((db && check_dim(fn, "db", db, 0, s.filters, what)) ||
        check_apart(fn, outs, out_names, 2, ins, in_names, 4, NULL) ||
        conv_pool_scratch(&s, dtype, &scratch))
        return NULL;
    CALL_KERNEL(outside, dtype, tnn_conv2d_maxpool_backward, REAL(x), REAL(dy),
                REAL(y), (const int32_t *)PyArray_DATA(argmax), REAL(dw),
                REAL_OR_NULL(db), scratch, &s, (ptrdiff_t)pool[0],
                (ptrdiff_t)pool[1], act, accumulate);
    if (outside) {
        PyErr_Format(PyExc_ValueError,
                     "%s: argmax holds an index outside its pooling window; "
                     "expected the argmax conv2d_maxpool_forward wrote",
                     fn);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* conv2d_maxpool_fits(batch, height, width, channels, kernel_h, kernel_w,
 * filters, out_h, out_w, pool_h, pool_w): whether the fused kernels take
 * this convolution (out_h, out_w: its output) and pooling. */
static PyObject *core_conv2d_maxpool_fits(PyObject *self, PyObject *args)
{
    (void)self;
    struct tnn_conv2d_shape s = {0};
    Py_ssize_t pool_h, pool_w;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnnn", &s.batch, &s.height, &s.width,
                          &s.channels, &s.kernel_h, &s.kernel_w, &s.filters,
                          &s.out_h, &s.out_w, &pool_h, &pool_w))
        return NULL;
    /* pointwise (not fused) exactly when a 1x1 kernel keeps the size */
    s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = 1;
    return PyBool_FromLong(tnn_conv2d_maxpool_fits(&s, pool_h, pool_w));
}

static PyObject *core_conv2d_panel_lines(PyObject *self, PyObject *args)
{
    (void)self;
    struct tnn_conv2d_shape s = {0};
    int itemsize;
    if (!PyArg_ParseTuple(args, "nnnnnnni", &s.batch, &s.out_h, &s.out_w,
                          &s.kernel_h, &s.kernel_w, &s.channels, &s.filters,
                          &itemsize))
        return NULL;
    s.height = s.out_h + 1; /* never pointwise */
    s.width = s.out_w;
    s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = 1;
    if (tnn_conv2d_grad_in_parts(&s))
        return PyLong_FromLong(0);
    return PyLong_FromSsize_t(tnn_conv2d_panel_lines(&s, (size_t)itemsize));
}

/* ---- module
 * -----------------------------------------------------------------------------
 */

/* ---- pooling, padding, upsampling, embedding (NHWC) ---------------------
 * Geometry is read from the arrays' shapes and the integer arguments, and
 * checked in full here: the kernels trust it (every window holds an input
 * cell, every copy stays inside both arrays, every id and argmax is in
 * range). */

/* Integer argument `name` in [low, 2^31 - 1] into *value. */
static int parse_size(const char *fn, const char *name, PyObject *obj,
                      long long low, ptrdiff_t *value)
{
    long long v;
    if (parse_int(fn, name, obj, low, INT_MAX, &v))
        return -1;
    *value = (ptrdiff_t)v;
    return 0;
}

/* Sizes of an NHWC array: each of height, width and channels >= 1. */
static int check_nhwc(const char *fn, const char *name, PyArrayObject *arr)
{
    for (int axis = 1; axis < 4; axis++)
        if (PyArray_DIM(arr, axis) < 1) {
            PyErr_Format(PyExc_ValueError,
                         "%s: %s must have height, width and channels >= 1 "
                         "(batch, height, width, channels); got size 0 along "
                         "axis %d",
                         fn, name, axis);
            return -1;
        }
    return 0;
}

/* small and big share batch and channels. */
static int check_batch_channels(const char *fn, const char *name,
                                PyArrayObject *arr, const char *ref_name,
                                PyArrayObject *ref)
{
    char what[96];
    PyOS_snprintf(what, sizeof what, "%s has batch %zd", ref_name,
                  (Py_ssize_t)PyArray_DIM(ref, 0));
    if (check_dim(fn, name, arr, 0, PyArray_DIM(ref, 0), what))
        return -1;
    PyOS_snprintf(what, sizeof what, "%s has %zd channels", ref_name,
                  (Py_ssize_t)PyArray_DIM(ref, 3));
    return check_dim(fn, name, arr, 3, PyArray_DIM(ref, 3), what);
}

/* int32 or int64 argmax indices: *type gets TNN_I32 or TNN_I64. */
static int check_index_array(const char *fn, const char *name,
                             PyArrayObject *arr, int *type)
{
    int t;
    if (check_labels(fn, name, arr, &t))
        return -1;
    if (t != TNN_I32 && t != TNN_I64) {
        PyErr_Format(PyExc_TypeError,
                     "%s: %s must have dtype int32 or int64; "
                     "got %s",
                     fn, name, PyArray_DESCR(arr)->typeobj->tp_name);
        return -1;
    }
    *type = t;
    return 0;
}

/* The window geometry of x (input) and y (output) with the six integer
 * arguments (pool_h, pool_w, stride_h, stride_w, pad_top, pad_left). */
static int pool_geometry(const char *fn, PyArrayObject *x, const char *x_name,
                         PyArrayObject *y, const char *y_name, PyObject **ints,
                         struct tnn_pool2d *g)
{
    static const char *nm[6] = {"pool_h",   "pool_w",  "stride_h",
                                "stride_w", "pad_top", "pad_left"};
    ptrdiff_t v[6];
    for (int i = 0; i < 6; i++)
        if (parse_size(fn, nm[i], ints[i], i < 4 ? 1 : 0, &v[i]))
            return -1;
    if (check_batch_channels(fn, y_name, y, x_name, x) ||
        check_nhwc(fn, x_name, x) || check_nhwc(fn, y_name, y))
        return -1;
    *g = (struct tnn_pool2d){.batch = PyArray_DIM(x, 0),
                             .height = PyArray_DIM(x, 1),
                             .width = PyArray_DIM(x, 2),
                             .channels = PyArray_DIM(x, 3),
                             .out_height = PyArray_DIM(y, 1),
                             .out_width = PyArray_DIM(y, 2),
                             .pool_h = v[0],
                             .pool_w = v[1],
                             .stride_h = v[2],
                             .stride_w = v[3],
                             .pad_top = v[4],
                             .pad_left = v[5]};
    if (g->pad_top >= g->pool_h || g->pad_left >= g->pool_w) {
        PyErr_Format(PyExc_ValueError,
                     "%s: pad_top and pad_left must be smaller than the pool "
                     "(%zd, %zd); got (%zd, %zd)",
                     fn, (Py_ssize_t)g->pool_h, (Py_ssize_t)g->pool_w,
                     (Py_ssize_t)g->pad_top, (Py_ssize_t)g->pad_left);
        return -1;
    }
    /* The last window must start inside the input:
     * (out - 1) stride - pad < size. */
    if (g->out_height - 1 > (g->height - 1 + g->pad_top) / g->stride_h ||
        g->out_width - 1 > (g->width - 1 + g->pad_left) / g->stride_w) {
        PyErr_Format(
            PyExc_ValueError,
            "%s: %s has %zd x %zd outputs but windows of stride "
            "(%zd, %zd) from padding (%zd, %zd) leave the %zd x %zd "
            "input %s before the last one; expected at most %zd x %zd",
            fn, y_name, (Py_ssize_t)g->out_height, (Py_ssize_t)g->out_width,
            (Py_ssize_t)g->stride_h, (Py_ssize_t)g->stride_w,
            (Py_ssize_t)g->pad_top, (Py_ssize_t)g->pad_left,
            (Py_ssize_t)g->height, (Py_ssize_t)g->width, x_name,
            (Py_ssize_t)((g->height - 1 + g->pad_top) / g->stride_h + 1),
            (Py_ssize_t)((g->width - 1 + g->pad_left) / g->stride_w + 1));
        return -1;
    }
    return 0;
}

static PyObject *core_max_pool2d_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "max_pool2d_forward";
    PyObject *x_obj, *y_obj, *i_obj, *ints[6];
    PyArrayObject *x, *y, *argmax;
    int dtype = -1, index_type = TNN_I64;
    struct tnn_pool2d g;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &x_obj, &y_obj, &i_obj, &ints[0],
                          &ints[1], &ints[2], &ints[3], &ints[4], &ints[5]))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "y", y_obj, 4, ARG_OUT, &y) ||
        check_array(fn, "argmax", i_obj, 4, ARG_OUT | ARG_OPTIONAL, &argmax) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "y", y, &dtype, "x") ||
        (argmax && check_index_array(fn, "argmax", argmax, &index_type)) ||
        pool_geometry(fn, x, "x", y, "y", ints, &g) ||
        (argmax && check_same_shape(fn, "argmax", argmax, "y", y)) ||
        check_no_overlap(fn, "y", y, "x", x, 0) ||
        check_no_overlap(fn, "argmax", argmax, "x", x, 0) ||
        check_no_overlap(fn, "argmax", argmax, "y", y, 0))
        return NULL;
    /* The float32 kernel tracks indices in int32 lanes (as wide as its
     * values), and an int32 argmax holds no more. */
    if (argmax && (index_type == TNN_I32 || dtype == NPY_FLOAT32) &&
        (double)g.height * g.width > (double)INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "%s: x has %zd x %zd cells per channel; an int32 argmax "
                     "or a float32 x allows at most 2^31 - 1 (use float64 "
                     "and an int64 argmax)",
                     fn, (Py_ssize_t)g.height, (Py_ssize_t)g.width);
        return NULL;
    }
    CALL_KERNEL_VOID(dtype, tnn_max_pool2d_forward, REAL(x), REAL(y),
                     argmax ? PyArray_DATA(argmax) : NULL, index_type, &g);
    Py_RETURN_NONE;
}

/* The flat position of the first index outside [0, cells), or -1: one
 * branch-free pass the compiler vectorizes, then a search only if one is. */
static npy_intp first_index_outside(const void *at, int type, npy_intp count,
                                    int64_t cells)
{
    int any = 0;
    if (type == TNN_I32) {
        /* negative values wrap to >= 2^31, never below the limit */
        uint32_t limit =
            cells > INT32_MAX ? (uint32_t)INT32_MAX + 1 : (uint32_t)cells;
        const int32_t *a = at;
        for (npy_intp i = 0; i < count; i++)
            any |= (uint32_t)a[i] >= limit;
    } else {
        const int64_t *a = at;
        for (npy_intp i = 0; i < count; i++)
            any |= (uint64_t)a[i] >= (uint64_t)cells;
    }
    if (!any)
        return -1;
    for (npy_intp i = 0; i < count; i++) {
        int64_t v = tnn_label_at(at, type, i);
        if (v < 0 || v >= cells)
            return i;
    }
    return -1;
}

static PyObject *core_max_pool2d_backward(PyObject *self, PyObject *args,
                                          PyObject *kw)
{
    (void)self;
    static char *names[] = {"dy",       "argmax",   "dx",       "pool_h",
                            "pool_w",   "stride_h", "stride_w", "pad_top",
                            "pad_left", "gate",     NULL};
    const char *fn = "max_pool2d_backward";
    PyObject *dy_obj, *i_obj, *dx_obj, *ints[6] = {NULL}, *gate_obj = Py_None;
    PyArrayObject *dy, *argmax, *dx, *gate = NULL;
    int dtype = -1, index_type;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "OOO|OOOOOO$O", names, &dy_obj, &i_obj, &dx_obj, &ints[0],
            &ints[1], &ints[2], &ints[3], &ints[4], &ints[5], &gate_obj))
        return NULL;
    int windows = ints[0] != NULL;
    if (windows && !ints[5]) {
        PyErr_Format(PyExc_TypeError,
                     "%s: the window is six integers (pool_h, pool_w, "
                     "stride_h, stride_w, pad_top, pad_left) or none; got %zd",
                     fn, PyTuple_GET_SIZE(args) - 3);
        return NULL;
    }
    if (check_array(fn, "dy", dy_obj, 4, ARG_IN, &dy) ||
        check_array(fn, "argmax", i_obj, 4, ARG_IN, &argmax) ||
        check_array(fn, "dx", dx_obj, 4, ARG_OUT, &dx) ||
        check_float(fn, "dy", dy, &dtype, "") ||
        check_index_array(fn, "argmax", argmax, &index_type) ||
        check_float(fn, "dx", dx, &dtype, "dy") ||
        check_same_shape(fn, "argmax", argmax, "dy", dy) ||
        check_batch_channels(fn, "dy", dy, "dx", dx) ||
        check_nhwc(fn, "dx", dx) || check_nhwc(fn, "dy", dy) ||
        check_no_overlap(fn, "dx", dx, "dy", dy, 0) ||
        check_no_overlap(fn, "dx", dx, "argmax", argmax, 0))
        return NULL;
    if (gate_obj != Py_None &&
        (check_array(fn, "gate", gate_obj, 4, ARG_IN, &gate) ||
         check_float(fn, "gate", gate, &dtype, "dy") ||
         check_same_shape(fn, "gate", gate, "dy", dy) ||
         check_no_overlap(fn, "dx", dx, "gate", gate, 0)))
        return NULL;
    struct tnn_pool2d g = {.batch = PyArray_DIM(dx, 0),
                           .height = PyArray_DIM(dx, 1),
                           .width = PyArray_DIM(dx, 2),
                           .channels = PyArray_DIM(dx, 3),
                           .out_height = PyArray_DIM(dy, 1),
                           .out_width = PyArray_DIM(dy, 2)};
    const void *at = PyArray_DATA(argmax);
    if (windows) {
        /* With the window: one pass writing each dx value once when the
         * windows do not overlap and every argmax is in its window (the
         * kernel checks both before writing); else the general path. */
        if (pool_geometry(fn, dx, "dx", dy, "dy", ints, &g))
            return NULL;
        int fallback;
        CALL_KERNEL(fallback, dtype, tnn_max_pool2d_backward_windows, REAL(dy),
                    REAL_OR_NULL(gate), at, index_type, REAL(dx), &g);
        if (!fallback)
            Py_RETURN_NONE;
    }
    /* Every index is checked before any memory is written. */
    int64_t cells = (int64_t)g.height * g.width;
    npy_intp bad =
        first_index_outside(at, index_type, PyArray_SIZE(argmax), cells);
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: argmax holds %lld at flat position %zd; expected "
                     "a spatial index in [0, %lld) (dx is %zd x %zd)",
                     fn, (long long)tnn_label_at(at, index_type, bad),
                     (Py_ssize_t)bad, (long long)cells, (Py_ssize_t)g.height,
                     (Py_ssize_t)g.width);
        return NULL;
    }
    CALL_KERNEL_VOID(dtype, tnn_max_pool2d_backward, REAL(dy),
                     REAL_OR_NULL(gate), at, index_type, REAL(dx), &g);
    Py_RETURN_NONE;
}

static PyObject *core_avg_pool2d_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "avg_pool2d_forward";
    PyObject *x_obj, *y_obj, *ints[6];
    PyArrayObject *x, *y;
    int dtype = -1;
    struct tnn_pool2d g;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &x_obj, &y_obj, &ints[0], &ints[1],
                          &ints[2], &ints[3], &ints[4], &ints[5]))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "y", y_obj, 4, ARG_OUT, &y) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "y", y, &dtype, "x") ||
        pool_geometry(fn, x, "x", y, "y", ints, &g) ||
        check_no_overlap(fn, "y", y, "x", x, 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_avg_pool2d_forward, REAL(x), REAL(y), &g);
    Py_RETURN_NONE;
}

static PyObject *core_avg_pool2d_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "avg_pool2d_backward";
    PyObject *dy_obj, *dx_obj, *ints[6];
    PyArrayObject *dy, *dx;
    int dtype = -1;
    struct tnn_pool2d g;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &dy_obj, &dx_obj, &ints[0],
                          &ints[1], &ints[2], &ints[3], &ints[4], &ints[5]))
        return NULL;
    if (check_array(fn, "dy", dy_obj, 4, ARG_IN, &dy) ||
        check_array(fn, "dx", dx_obj, 4, ARG_OUT, &dx) ||
        check_float(fn, "dy", dy, &dtype, "") ||
        check_float(fn, "dx", dx, &dtype, "dy") ||
        pool_geometry(fn, dx, "dx", dy, "dy", ints, &g) ||
        check_no_overlap(fn, "dx", dx, "dy", dy, 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_avg_pool2d_backward, REAL(dy), REAL(dx), &g);
    Py_RETURN_NONE;
}

/* x (batch, steps, channels) and y (batch, channels), steps >= 1. */
static int global_shapes(const char *fn, PyArrayObject *x, const char *x_name,
                         PyArrayObject *y, const char *y_name)
{
    char what[96];
    PyOS_snprintf(what, sizeof what, "%s has batch %zd", x_name,
                  (Py_ssize_t)PyArray_DIM(x, 0));
    if (check_dim(fn, y_name, y, 0, PyArray_DIM(x, 0), what))
        return -1;
    PyOS_snprintf(what, sizeof what, "%s has %zd channels", x_name,
                  (Py_ssize_t)PyArray_DIM(x, 2));
    if (check_dim(fn, y_name, y, 1, PyArray_DIM(x, 2), what))
        return -1;
    if (PyArray_DIM(x, 1) < 1) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must have at least one step (axis 1) to pool; "
                     "got 0",
                     fn, x_name);
        return -1;
    }
    return 0;
}

static PyObject *core_global_pool_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "global_pool_forward";
    PyObject *x_obj, *y_obj;
    PyArrayObject *x, *y;
    int dtype = -1, maximum;
    if (!PyArg_ParseTuple(args, "OOp", &x_obj, &y_obj, &maximum))
        return NULL;
    if (check_array(fn, "x", x_obj, 3, ARG_IN, &x) ||
        check_array(fn, "y", y_obj, 2, ARG_OUT, &y) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "y", y, &dtype, "x") ||
        global_shapes(fn, x, "x", y, "y") ||
        check_no_overlap(fn, "y", y, "x", x, 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_global_pool_forward, REAL(x), REAL(y),
                     PyArray_DIM(x, 0), PyArray_DIM(x, 1), PyArray_DIM(x, 2),
                     maximum);
    Py_RETURN_NONE;
}

static PyObject *core_global_avg_pool_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "global_avg_pool_backward";
    PyObject *dy_obj, *dx_obj;
    PyArrayObject *dy, *dx;
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OO", &dy_obj, &dx_obj))
        return NULL;
    if (check_array(fn, "dy", dy_obj, 2, ARG_IN, &dy) ||
        check_array(fn, "dx", dx_obj, 3, ARG_OUT, &dx) ||
        check_float(fn, "dy", dy, &dtype, "") ||
        check_float(fn, "dx", dx, &dtype, "dy") ||
        global_shapes(fn, dx, "dx", dy, "dy") ||
        check_no_overlap(fn, "dx", dx, "dy", dy, 0))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_global_avg_pool_backward, REAL(dy), REAL(dx),
                     PyArray_DIM(dx, 0), PyArray_DIM(dx, 1),
                     PyArray_DIM(dx, 2));
    Py_RETURN_NONE;
}

static PyObject *core_global_max_pool_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "global_max_pool_backward";
    PyObject *o[4];
    PyArrayObject *a[4];
    const char *nm[4] = {"x", "y", "dy", "dx"};
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (check_array(fn, nm[i], o[i], i == 0 || i == 3 ? 3 : 2,
                        i == 3 ? ARG_OUT : ARG_IN, &a[i]) ||
            check_float(fn, nm[i], a[i], &dtype, "x"))
            return NULL;
    if (global_shapes(fn, a[0], "x", a[1], "y") ||
        check_same_shape(fn, "dy", a[2], "y", a[1]) ||
        check_same_shape(fn, "dx", a[3], "x", a[0]) ||
        check_apart(fn, a + 3, nm + 3, 1, a, nm, 3, NULL))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_global_max_pool_backward, REAL(a[0]),
                     REAL(a[1]), REAL(a[2]), REAL(a[3]), PyArray_DIM(a[0], 0),
                     PyArray_DIM(a[0], 1), PyArray_DIM(a[0], 2));
    Py_RETURN_NONE;
}

/* pad2d (pad = 1) and crop2d (pad = 0): a (batch, h, w, c) window at
 * (top, left) of a large array; `small` and `big` name the two. */
static PyObject *window_copy(const char *fn, int pad, PyObject *args)
{
    PyObject *x_obj, *y_obj, *top_obj, *left_obj;
    PyArrayObject *x, *y;
    ptrdiff_t top, left;
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OOOO", &x_obj, &y_obj, &top_obj, &left_obj))
        return NULL;
    if (check_array(fn, "x", x_obj, 4, ARG_IN, &x) ||
        check_array(fn, "y", y_obj, 4, ARG_OUT, &y) ||
        check_float(fn, "x", x, &dtype, "") ||
        check_float(fn, "y", y, &dtype, "x") ||
        parse_size(fn, "top", top_obj, 0, &top) ||
        parse_size(fn, "left", left_obj, 0, &left) ||
        check_batch_channels(fn, "y", y, "x", x) ||
        check_no_overlap(fn, "y", y, "x", x, 0))
        return NULL;
    PyArrayObject *small = pad ? x : y, *big = pad ? y : x;
    const char *small_name = pad ? "x" : "y", *big_name = pad ? "y" : "x";
    npy_intp h = PyArray_DIM(small, 1), w = PyArray_DIM(small, 2);
    npy_intp H = PyArray_DIM(big, 1), W = PyArray_DIM(big, 2);
    if (top + h > H || left + w > W) {
        PyErr_Format(PyExc_ValueError,
                     "%s: the %zd x %zd %s at (top, left) = (%zd, %zd) does "
                     "not fit in the %zd x %zd %s; expected top + %zd <= %zd "
                     "and left + %zd <= %zd",
                     fn, (Py_ssize_t)h, (Py_ssize_t)w, small_name,
                     (Py_ssize_t)top, (Py_ssize_t)left, (Py_ssize_t)H,
                     (Py_ssize_t)W, big_name, (Py_ssize_t)h, (Py_ssize_t)H,
                     (Py_ssize_t)w, (Py_ssize_t)W);
        return NULL;
    }
    if (pad)
        CALL_KERNEL_VOID(dtype, tnn_pad2d, REAL(x), REAL(y), PyArray_DIM(x, 0),
                         h, w, PyArray_DIM(x, 3), H, W, top, left);
    else
        CALL_KERNEL_VOID(dtype, tnn_crop2d, REAL(x), REAL(y), PyArray_DIM(x, 0),
                         H, W, PyArray_DIM(x, 3), h, w, top, left);
    Py_RETURN_NONE;
}

static PyObject *core_pad2d(PyObject *self, PyObject *args)
{
    (void)self;
    return window_copy("pad2d", 1, args);
}

static PyObject *core_crop2d(PyObject *self, PyObject *args)
{
    (void)self;
    return window_copy("crop2d", 0, args);
}

/* Nearest upsampling: the small array (x, or dx) and the large one (y, or
 * dy), whose height and width are whole multiples of the small one's. */
static PyObject *upsample_call(const char *fn, int backward, PyObject *args)
{
    PyObject *in_obj, *out_obj;
    PyArrayObject *in, *out;
    const char *in_name = backward ? "dy" : "x";
    const char *out_name = backward ? "dx" : "y";
    int dtype = -1;
    if (!PyArg_ParseTuple(args, "OO", &in_obj, &out_obj))
        return NULL;
    if (check_array(fn, in_name, in_obj, 4, ARG_IN, &in) ||
        check_array(fn, out_name, out_obj, 4, ARG_OUT, &out) ||
        check_float(fn, in_name, in, &dtype, "") ||
        check_float(fn, out_name, out, &dtype, in_name) ||
        check_batch_channels(fn, out_name, out, in_name, in) ||
        check_no_overlap(fn, out_name, out, in_name, in, 0))
        return NULL;
    PyArrayObject *small = backward ? out : in, *big = backward ? in : out;
    const char *small_name = backward ? out_name : in_name;
    const char *big_name = backward ? in_name : out_name;
    if (check_nhwc(fn, small_name, small))
        return NULL;
    npy_intp h = PyArray_DIM(small, 1), w = PyArray_DIM(small, 2);
    npy_intp H = PyArray_DIM(big, 1), W = PyArray_DIM(big, 2);
    if (H % h || W % w || H < h || W < w) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s is %zd x %zd, not a whole multiple of %s's %zd x "
                     "%zd; expected (%zd s, %zd t) for integer scales s, t "
                     ">= 1",
                     fn, big_name, (Py_ssize_t)H, (Py_ssize_t)W, small_name,
                     (Py_ssize_t)h, (Py_ssize_t)w, (Py_ssize_t)h,
                     (Py_ssize_t)w);
        return NULL;
    }
    if (backward)
        CALL_KERNEL_VOID(dtype, tnn_upsample2d_backward, REAL(in), REAL(out),
                         PyArray_DIM(out, 0), h, w, PyArray_DIM(out, 3), H / h,
                         W / w);
    else
        CALL_KERNEL_VOID(dtype, tnn_upsample2d_forward, REAL(in), REAL(out),
                         PyArray_DIM(in, 0), h, w, PyArray_DIM(in, 3), H / h,
                         W / w);
    Py_RETURN_NONE;
}

static PyObject *core_upsample2d_forward(PyObject *self, PyObject *args)
{
    (void)self;
    return upsample_call("upsample2d_forward", 0, args);
}

static PyObject *core_upsample2d_backward(PyObject *self, PyObject *args)
{
    (void)self;
    return upsample_call("upsample2d_backward", 1, args);
}

/* ids (any integer dtype, any shape) against the (input_dim, output_dim)
 * table and the rows array `rows` of shape ids.shape + (output_dim,); then
 * every id checked in [0, input_dim), the first bad one named with its
 * position. */
static int check_embedding(const char *fn, PyArrayObject *ids, int *id_type,
                           PyArrayObject *table, const char *table_name,
                           PyArrayObject *rows, const char *rows_name)
{
    char what[128];
    int nd = PyArray_NDIM(ids);
    if (check_labels(fn, "ids", ids, id_type))
        return -1;
    if (PyArray_NDIM(rows) != nd + 1) {
        PyErr_Format(PyExc_ValueError,
                     "%s: %s must have %d dimensions (the shape of ids plus "
                     "output_dim); got %d",
                     fn, rows_name, nd + 1, PyArray_NDIM(rows));
        return -1;
    }
    for (int axis = 0; axis < nd; axis++) {
        PyOS_snprintf(what, sizeof what, "ids has %zd along axis %d",
                      (Py_ssize_t)PyArray_DIM(ids, axis), axis);
        if (check_dim(fn, rows_name, rows, axis, PyArray_DIM(ids, axis), what))
            return -1;
    }
    PyOS_snprintf(what, sizeof what, "%s has %zd columns (output_dim)",
                  table_name, (Py_ssize_t)PyArray_DIM(table, 1));
    if (check_dim(fn, rows_name, rows, nd, PyArray_DIM(table, 1), what) ||
        check_no_overlap(fn, "ids", ids, table_name, table, 0) ||
        check_no_overlap(fn, "ids", ids, rows_name, rows, 0) ||
        check_no_overlap(fn, rows_name, rows, table_name, table, 0))
        return -1;
    const void *data = PyArray_DATA(ids);
    npy_intp count = PyArray_SIZE(ids), input_dim = PyArray_DIM(table, 0);
    for (npy_intp i = 0; i < count; i++) {
        int64_t id = tnn_label_at(data, *id_type, i);
        if (id >= 0 && id < input_dim)
            continue;
        /* The position as an index of ids' shape, e.g. "[1, 4]". */
        char where[160] = "[";
        npy_intp rest = i;
        for (int axis = nd - 1; axis >= 0; axis--) {
            char part[48], tail[160];
            npy_intp dim = PyArray_DIM(ids, axis);
            PyOS_snprintf(part, sizeof part, "%zd", (Py_ssize_t)(rest % dim));
            rest /= dim;
            PyOS_snprintf(tail, sizeof tail, "%s%s%s", part,
                          axis == nd - 1 ? "" : ", ", where + 1);
            PyOS_snprintf(where, sizeof where, "[%s", tail);
        }
        PyErr_Format(PyExc_ValueError,
                     "%s: ids%s] = %lld is outside [0, %zd) (input_dim, the "
                     "rows of %s); expected ids in [0, %zd)",
                     fn, where, (long long)id, (Py_ssize_t)input_dim,
                     table_name, (Py_ssize_t)input_dim);
        return -1;
    }
    return 0;
}

static PyObject *core_embedding_forward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "embedding_forward";
    PyObject *ids_obj, *table_obj, *y_obj;
    PyArrayObject *ids, *table, *y;
    int dtype = -1, id_type;
    if (!PyArg_ParseTuple(args, "OOO", &ids_obj, &table_obj, &y_obj))
        return NULL;
    if (check_array(fn, "ids", ids_obj, -1, ARG_IN, &ids) ||
        check_array(fn, "table", table_obj, 2, ARG_IN, &table) ||
        check_array(fn, "y", y_obj, -1, ARG_OUT, &y) ||
        check_float(fn, "table", table, &dtype, "") ||
        check_float(fn, "y", y, &dtype, "table") ||
        check_embedding(fn, ids, &id_type, table, "table", y, "y"))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_embedding_forward, PyArray_DATA(ids), id_type,
                     REAL(table), REAL(y), PyArray_SIZE(ids),
                     PyArray_DIM(table, 0), PyArray_DIM(table, 1));
    Py_RETURN_NONE;
}

/* The enum tnn_source_type of a gather's source rows: float32, float64 or
 * uint8 (fit's other inputs are converted by NumPy). */
static int check_gather_source(const char *fn, PyArrayObject *source,
                               int *source_type)
{
    switch (PyArray_TYPE(source)) {
    case NPY_FLOAT32: *source_type = TNN_SOURCE_F32; return 0;
    case NPY_FLOAT64: *source_type = TNN_SOURCE_F64; return 0;
    case NPY_UINT8: *source_type = TNN_SOURCE_U8; return 0;
    }
    PyObject *name = PyObject_Str((PyObject *)PyArray_DESCR(source));
    if (name) {
        PyErr_Format(PyExc_TypeError,
                     "%s: source must be float32, float64 or uint8; got %U", fn,
                     name);
        Py_DECREF(name);
    }
    return -1;
}

static PyObject *core_gather_rows(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "gather_rows";
    PyObject *ids_obj, *source_obj, *y_obj;
    PyArrayObject *ids, *source, *y;
    int dtype = -1, id_type, source_type;
    if (!PyArg_ParseTuple(args, "OOO", &ids_obj, &source_obj, &y_obj))
        return NULL;
    if (check_array(fn, "ids", ids_obj, 1, ARG_IN, &ids) ||
        check_array(fn, "source", source_obj, 2, ARG_IN, &source) ||
        check_array(fn, "y", y_obj, 2, ARG_OUT, &y) ||
        check_gather_source(fn, source, &source_type) ||
        check_float(fn, "y", y, &dtype, "") ||
        check_embedding(fn, ids, &id_type, source, "source", y, "y"))
        return NULL;
    const void *ids_data = PyArray_DATA(ids),
               *source_data = PyArray_DATA(source);
    CALL_KERNEL_VOID(dtype, tnn_gather_rows, ids_data, id_type, source_data,
                     source_type, REAL(y), PyArray_SIZE(ids),
                     PyArray_DIM(source, 1));
    Py_RETURN_NONE;
}

static PyObject *core_embedding_backward(PyObject *self, PyObject *args)
{
    (void)self;
    const char *fn = "embedding_backward";
    PyObject *ids_obj, *dy_obj, *dtable_obj;
    PyArrayObject *ids, *dy, *dtable;
    int dtype = -1, id_type;
    if (!PyArg_ParseTuple(args, "OOO", &ids_obj, &dy_obj, &dtable_obj))
        return NULL;
    if (check_array(fn, "ids", ids_obj, -1, ARG_IN, &ids) ||
        check_array(fn, "dy", dy_obj, -1, ARG_IN, &dy) ||
        check_array(fn, "dtable", dtable_obj, 2, ARG_OUT, &dtable) ||
        check_float(fn, "dy", dy, &dtype, "") ||
        check_float(fn, "dtable", dtable, &dtype, "dy") ||
        check_embedding(fn, ids, &id_type, dtable, "dtable", dy, "dy"))
        return NULL;
    CALL_KERNEL_VOID(dtype, tnn_embedding_backward, PyArray_DATA(ids), id_type,
                     REAL(dy), REAL(dtable), PyArray_SIZE(ids),
                     PyArray_DIM(dtable, 0), PyArray_DIM(dtable, 1));
    Py_RETURN_NONE;
}

#define ARGS(name, doc) {#name, (PyCFunction)core_##name, METH_VARARGS, doc}
#define KWARGS(name, doc)                                                      \
    {#name, (PyCFunction)(void (*)(void))core_##name,                          \
     METH_VARARGS | METH_KEYWORDS, doc}
#define ACT(name)                                                              \
    ARGS(name##_forward,                                                       \
         #name "_forward(x, y): y = " #name "(x); y may be x"),                \
        ARGS(name##_backward, #name "_backward(y, dy, dx): gradient from the " \
                                    "forward output y; dx may be dy")
#define ACT_ALPHA(name, deflt)                                                 \
    ARGS(name##_forward, #name "_forward(x, y, alpha=" deflt "): y = " #name   \
                               "(x); y may be x; alpha >= 0"),                 \
        ARGS(name##_backward,                                                  \
             #name "_backward(y, dy, dx, alpha=" deflt "): gradient from the " \
                   "forward output y; dx may be dy")
#define ACT_FROM_X(name)                                                       \
    ARGS(name##_forward,                                                       \
         #name "_forward(x, y): y = " #name "(x); y may be x"),                \
        ARGS(name##_backward, #name "_backward(x, dy, dx): gradient from the " \
                                    "forward INPUT x; dx may be dy")

static PyMethodDef core_methods[] = {
    {"simd", core_simd, METH_NOARGS, "simd() -> the SIMD path in use"},
    {"available_simd", core_available_simd, METH_NOARGS,
     "available_simd() -> the paths this CPU supports"},
    {"set_simd", core_set_simd, METH_O, "set_simd(name): force a SIMD path"},
    {"simd_paths", core_simd_paths, METH_NOARGS,
     "simd_paths() -> every compiled path: name, built (its instructions "
     "were really emitted), cpu (this CPU runs it), micro-tiles"},
    {"default_num_threads", core_default_num_threads, METH_NOARGS,
     "default_num_threads() -> TINYNN_NUM_THREADS, else the CPUs this "
     "process may use (affinity, cgroup quota)"},
    {"_parse_cpu_max", core_parse_cpu_max, METH_O,
     "_parse_cpu_max(text) -> CPUs a cgroup v2 cpu.max line allows (0: no "
     "limit); exposed for tests"},
    {"get_num_threads", core_get_num_threads, METH_NOARGS,
     "get_num_threads() -> threads used by the kernels"},
    {"set_num_threads", core_set_num_threads, METH_O,
     "set_num_threads(n): threads used by the kernels"},
    KWARGS(first_nonfinite,
           "first_nonfinite(a, as_float32=False) -> the flat index of a's "
           "first NaN or infinite value (as float32: a float64 beyond its "
           "range counts), or -1"),
    KWARGS(gemm, "gemm(a, b, c, trans_a=False, trans_b=False, "
                 "accumulate=False): c (+)= op(a) @ op(b)"),
    KWARGS(dense_forward, "dense_forward(x, w, b, y, activation='linear'): "
                          "y = act(x @ w + b); b may be None"),
    KWARGS(dense_backward, "dense_backward(x, w, dy, dx, dw, db, "
                           "accumulate=False, *, gate=None): dx = dy @ w.T "
                           "(0 where gate <= 0), dw (+)= x.T @ dy, db (+)= "
                           "dy.sum(0); dx, db may be None"),
    KWARGS(dense_backward_adam,
           "dense_backward_adam(x, w, b, dy, dx, dw, db, m_w, v_w, vhat_w, "
           "m_b, v_b, vhat_b, learning_rate, beta_1, beta_2, epsilon, step, "
           "weight_decay=0, *, keep_dw=True, gate=None): dense_backward, then "
           "adamw_update's step on w and b, taken on each block of dw as it "
           "is final; dx, b/db and their moments, vhat_w/vhat_b may be "
           "None; keep_dw=False: dw is working space (the gradient may stay "
           "in cache only)"),
    KWARGS(conv2d_forward,
           "conv2d_forward(x, w, b, y, strides, dilation, padding, "
           "activation='linear'): y = act(conv(x, w) + b), NHWC, w (kh, kw, "
           "in, out), padding (top, left, bottom, right); b may be None"),
    KWARGS(conv2d_backward,
           "conv2d_backward(x, w, dy, dx, dw, db, strides, dilation, padding, "
           "accumulate=False): dx = conv input gradient, dw (+)= kernel "
           "gradient, db (+)= dy summed per filter; dx, db may be None"),
    KWARGS(conv2d_transpose_forward,
           "conv2d_transpose_forward(x, w, b, y, strides, dilation, padding, "
           "activation='linear'): y = act(conv^T(x, w) + b): x shaped like "
           "the convolution's output, y like its input; b may be None"),
    KWARGS(conv2d_transpose_backward,
           "conv2d_transpose_backward(x, w, dy, dx, dw, db, strides, "
           "dilation, padding, accumulate=False): dx = conv(dy, w), dw (+)= "
           "kernel gradient, db (+)= dy summed per channel"),
    KWARGS(conv2d_maxpool_forward,
           "conv2d_maxpool_forward(x, w, b, y, argmax, strides, dilation, "
           "padding, pool_size, activation='linear'): the max pooling of a "
           "convolution, its output never stored (tinynn.h)"),
    KWARGS(conv2d_maxpool_backward,
           "conv2d_maxpool_backward(x, dy, y, argmax, dw, db, strides, "
           "dilation, padding, pool_size, activation='linear', "
           "accumulate=False): its kernel and bias gradients"),
    ARGS(conv2d_maxpool_fits,
         "conv2d_maxpool_fits(batch, height, width, channels, kernel_h, "
         "kernel_w, filters, out_h, out_w, pool_h, pool_w) -> bool"),
    ARGS(conv2d_panel_lines,
         "conv2d_panel_lines(batch, out_h, out_w, kernel_h, kernel_w, "
         "channels, filters, itemsize) -> output lines per im2col panel of "
         "the kernel gradient, 0 when it is summed in parts (for tests)"),
    KWARGS(batchnorm_forward,
           "batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, "
           "y, mean, inv_std, momentum, epsilon, training): Keras 2's "
           "batch normalization over the rows of x; gamma, beta may be None"),
    KWARGS(batchnorm_backward,
           "batchnorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, dbeta, "
           "training): its gradients; dx may be None or dy"),
    KWARGS(layernorm_forward,
           "layernorm_forward(x, gamma, beta, y, mean, inv_std, epsilon): "
           "Keras's layer normalization over each row of x; gamma, beta may "
           "be None"),
    KWARGS(layernorm_backward,
           "layernorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, "
           "dbeta): its gradients; dx may be None or dy"),
    ARGS(prelu_forward, "prelu_forward(x, alpha, y): x (outer, channels, "
                        "inner), y = x if x > 0 else alpha[c] x; y may be x"),
    ARGS(prelu_backward, "prelu_backward(x, alpha, dy, dx, dalpha): its "
                         "gradients; dx may be None or dy"),
    ACT(linear),
    ACT(relu),
    ACT(sigmoid),
    ACT(tanh),
    ACT(softmax),
    ACT_ALPHA(elu, "1.0"),
    ACT(selu),
    ACT(softplus),
    ACT_ALPHA(leaky_relu, "0.2"),
    ACT_FROM_X(swish),
    ACT_FROM_X(gelu),
    ACT_FROM_X(gelu_tanh),
    KWARGS(relu_clip_forward,
           "relu_clip_forward(x, y, max_value=None, negative_slope=0.0, "
           "threshold=0.0): Keras's ReLU layer; y may be x"),
    KWARGS(relu_clip_backward,
           "relu_clip_backward(x, dy, dx, max_value=None, negative_slope=0.0, "
           "threshold=0.0): its gradient from the forward INPUT x; dx may be "
           "dy"),
    ARGS(rescale_forward, "rescale_forward(x, scale, offset, y): y = x * "
                          "scale + offset per column; y may be x"),
    ARGS(rescale_backward, "rescale_backward(dy, scale, dx): dx = dy * scale "
                           "per column; dx may be dy"),
    KWARGS(merge_add, "merge_add(inputs, out, accumulate=False): out = "
                      "inputs[0] + inputs[1] + ... left to right; accumulate: "
                      "out += that sum; out may be an input"),
    ARGS(merge_subtract, "merge_subtract(x0, x1, out): out = x0 - x1"),
    ARGS(merge_subtract_backward, "merge_subtract_backward(dy, dx0, dx1): "
                                  "dx0 = dy, dx1 = -dy; either may be None"),
    KWARGS(merge_multiply, "merge_multiply(inputs, out): out = the product "
                           "of the inputs, left to right"),
    ARGS(merge_multiply_backward,
         "merge_multiply_backward(inputs, dy, dxs): dxs[k] = dy * the "
         "product of the other inputs; dxs entries may be None"),
    KWARGS(merge_average, "merge_average(inputs, out): out = (sum of the "
                          "inputs, left to right) / len(inputs)"),
    ARGS(merge_average_backward, "merge_average_backward(dy, dxs): dxs[k] = "
                                 "dy / len(dxs); entries may be None"),
    KWARGS(merge_maximum, "merge_maximum(inputs, out): element-wise maximum, "
                          "a left fold; NaN propagates"),
    ARGS(merge_maximum_backward,
         "merge_maximum_backward(inputs, dy, dxs): dy to the one input "
         "TensorFlow's gradient picks (ties: the first)"),
    KWARGS(merge_minimum, "merge_minimum(inputs, out): element-wise minimum, "
                          "a left fold; NaN propagates"),
    ARGS(merge_minimum_backward,
         "merge_minimum_backward(inputs, dy, dxs): dy to the one input "
         "TensorFlow's gradient picks (ties: the first)"),
    ARGS(scale, "scale(x, out, alpha): out = alpha * x; out may be x"),
    ARGS(concatenate, "concatenate(inputs, out, axis): out = the inputs "
                      "joined along axis"),
    ARGS(concatenate_backward,
         "concatenate_backward(inputs, dy, dxs, axis): dxs[k] = dy's slice "
         "of inputs[k] (shapes only read); entries may be None"),
    KWARGS(dot, "dot(x0, x1, out, normalize=False, epsilon=1e-12): Keras's "
                "Dot(axes=1) on (batch, d); out (batch, 1)"),
    KWARGS(dot_backward, "dot_backward(x0, x1, dy, dx0, dx1, normalize=False, "
                         "epsilon=1e-12): its gradients; dx0, dx1 may be None"),
    KWARGS(batch_dot, "batch_dot(x0, x1, out, axes=2): Keras's Dot on 3-D "
                      "inputs, summed over axes (an int or a pair of 1/2)"),
    KWARGS(batch_dot_backward, "batch_dot_backward(x0, x1, dy, dx0, dx1, "
                               "axes=2): its gradients; dx0, dx1 may be None"),
    ARGS(softmax_xent, "softmax_xent(logits, labels, dlogits) -> (mean loss, "
                       "correct); dlogits = (softmax - onehot) / batch"),
    ARGS(softmax_xent_dense, "softmax_xent_dense(logits, targets, dlogits) -> "
                             "(mean loss, correct)"),
    ARGS(mse, "mse(pred, target, dpred) -> mean squared error"),
    ARGS(bce, "bce(pred, target, dpred) -> binary cross-entropy "
              "(probabilities)"),
    ARGS(sigmoid_bce, "sigmoid_bce(logits, target, dlogits) -> binary "
                      "cross-entropy from logits"),
    ARGS(huber, "huber(pred, target, dpred, delta=1.0) -> mean Huber loss "
                "(Keras's formula)"),
    ARGS(sgd_update, "sgd_update(w, g, velocity, learning_rate, momentum, "
                     "nesterov)"),
    ARGS(rmsprop_update, "rmsprop_update(w, g, s, velocity, learning_rate, "
                         "rho, momentum, epsilon)"),
    ARGS(adagrad_update, "adagrad_update(w, g, accumulator, learning_rate, "
                         "epsilon): Keras 2's Adagrad step, in place"),
    ARGS(adam_update, "adam_update(w, g, m, v, vhat, learning_rate, beta_1, "
                      "beta_2, epsilon, step)"),
    ARGS(adamw_update, "adamw_update(w, g, m, v, vhat, learning_rate, beta_1, "
                       "beta_2, epsilon, step, weight_decay): Adam after "
                       "w -= w learning_rate weight_decay"),
    ARGS(adadelta_update, "adadelta_update(w, g, accumulated_grad, "
                          "accumulated_delta, learning_rate, rho, epsilon)"),
    ARGS(adamax_update, "adamax_update(w, g, m, u, learning_rate, beta_1, "
                        "beta_2, epsilon, step)"),
    ARGS(nadam_update, "nadam_update(w, g, m, v, learning_rate, beta_1, "
                       "beta_2, epsilon, step, u_product): u_product = "
                       "u_1 ... u_step of Keras's momentum schedule"),
    ARGS(dropout_forward,
         "dropout_forward(mask, x, out, rate): mask (holding uniform draws "
         "in [0, 1)) = 1 / (1 - rate) where the draw is >= rate, else 0; "
         "out = x mask"),
    ARGS(uniform_pcg64,
         "uniform_pcg64(out, state_hi, state_lo, inc_hi, inc_lo, has_uint32, "
         "uinteger) -> (state_hi, state_lo, has_uint32, uinteger): out = "
         "numpy.random.Generator(PCG64).random(out.size, out.dtype) from "
         "that bit generator state, and the state after it"),
    ARGS(dropout_pcg64,
         "dropout_pcg64(mask, x, out, rate, state_hi, state_lo, inc_hi, "
         "inc_lo, has_uint32, uinteger) -> (state_hi, state_lo, has_uint32, "
         "uinteger): uniform_pcg64(mask, ...) then dropout_forward(mask, x, "
         "out, rate), each chunk of draws masked while in cache"),
    ARGS(max_pool2d_forward,
         "max_pool2d_forward(x, y, argmax, pool_h, pool_w, stride_h, "
         "stride_w, pad_top, pad_left): NHWC max pooling, the first maximum "
         "of each window; argmax (int32/int64 or None) gets its spatial "
         "index"),
    KWARGS(max_pool2d_backward,
           "max_pool2d_backward(dy, argmax, dx[, pool_h, pool_w, stride_h, "
           "stride_w, pad_top, pad_left], *, gate=None): dx = 0, then dy "
           "added at each stored argmax (with gate, an array shaped as dy: "
           "only where gate > 0, relu's backward folded in); with the "
           "window, each dx value is written once when windows do not "
           "overlap"),
    ARGS(avg_pool2d_forward,
         "avg_pool2d_forward(x, y, pool_h, pool_w, stride_h, stride_w, "
         "pad_top, pad_left): NHWC average over the input cells of each "
         "window"),
    ARGS(avg_pool2d_backward,
         "avg_pool2d_backward(dy, dx, pool_h, pool_w, stride_h, stride_w, "
         "pad_top, pad_left): its gradient"),
    ARGS(global_pool_forward, "global_pool_forward(x, y, maximum): y = mean "
                              "(or max) of x (batch, steps, channels) over "
                              "the steps"),
    ARGS(global_avg_pool_backward, "global_avg_pool_backward(dy, dx): dx = "
                                   "dy / steps on every step"),
    ARGS(global_max_pool_backward,
         "global_max_pool_backward(x, y, dy, dx): dy shared by the steps "
         "holding the maximum y"),
    ARGS(pad2d, "pad2d(x, y, top, left): y = 0 with x copied at (top, left)"),
    ARGS(crop2d, "crop2d(x, y, top, left): y = the window of x at (top, "
                 "left)"),
    ARGS(upsample2d_forward, "upsample2d_forward(x, y): nearest upsampling by "
                             "y's size over x's (whole multiples)"),
    ARGS(upsample2d_backward, "upsample2d_backward(dy, dx): each dx cell = "
                              "the sum of its block of dy"),
    ARGS(embedding_forward, "embedding_forward(ids, table, y): y = "
                            "table[ids]; ids of any integer dtype"),
    ARGS(gather_rows, "gather_rows(ids, source, y): y = source[ids] (2-D "
                      "rows) converted to y's float dtype; source float32, "
                      "float64 or uint8"),
    ARGS(embedding_backward, "embedding_backward(ids, dy, dtable): dtable = "
                             "0, then dy rows added at their ids in order"),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "tinynn._core",
    "tinynn's C kernels, called in place on float32/float64 numpy arrays.",
    -1,
    core_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    return PyModule_Create(&core_module);
}
