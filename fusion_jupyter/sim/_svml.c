/* numpy's float64 SIMD math routines, called without importing numpy.
 *
 * On a CPU with AVX-512 (Skylake-X and later) numpy computes float64 log, log10, exp,
 * sinh, arcsinh and arctan with Intel's SVML routines linked into its
 * _multiarray_umath extension (exported as __svml_<name>8_ha), which round some
 * inputs differently from the C library. FUSION takes its event times and GSNR terms
 * from those numpy functions, so the built-in simulator must get the same bits.
 * Importing numpy for them costs 70-130 ms of start-up, most of a small run; this
 * module opens numpy's extension as a plain shared library (its module init does not
 * run) and calls the routines directly, 8 doubles at a time, as numpy's loop does.
 *
 * Whether these routines are what numpy runs on this machine is not decided here:
 * fusion_jupyter/sim/numpy_math.py certifies that against numpy itself and keeps the
 * verdict. This module only binds and calls.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define FJ_SVML 1
#include <dlfcn.h>
#include <immintrin.h>
#else
#define FJ_SVML 0
#endif

#define MAX_ROUTINES 16
#define LANES 8

typedef struct {
    double lane[LANES];
} block8;

#if FJ_SVML
typedef __m512d (*routine8)(__m512d);
static routine8 routines[MAX_ROUTINES];
#endif
static int bound = 0;

/* The AVX-512 subsets numpy's AVX512_SKX dispatch target requires. */
static int cpu_has_avx512_skx(void) {
#if FJ_SVML
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

#if FJ_SVML
__attribute__((target("avx512f"))) static void call8(routine8 routine, block8 *block) {
    _mm512_storeu_pd(block->lane, routine(_mm512_loadu_pd(block->lane)));
}
#endif

PyDoc_STRVAR(bind_doc,
             "bind(library, symbols) -> bool\n\n"
             "Open ``library`` (numpy's _multiarray_umath extension) and bind each of\n"
             "``symbols`` (a sequence of str), in order, to the slots apply() takes.\n"
             "False where the CPU lacks AVX-512, the platform is not x86-64 Linux, or a\n"
             "symbol is missing; an error only for arguments of the wrong type.");

static PyObject *bind(PyObject *self, PyObject *args) {
    const char *library;
    PyObject *symbols;
    if (!PyArg_ParseTuple(args, "sO:bind", &library, &symbols)) return NULL;
    PyObject *names = PySequence_Fast(symbols, "bind: symbols must be a sequence of str");
    if (names == NULL) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(names);
    if (count > MAX_ROUTINES) {
        Py_DECREF(names);
        return PyErr_Format(PyExc_ValueError, "bind: at most %d symbols", MAX_ROUTINES);
    }
    bound = 0;
#if FJ_SVML
    if (!cpu_has_avx512_skx()) {
        Py_DECREF(names);
        Py_RETURN_FALSE;
    }
    /* RTLD_LAZY: the routines bound here are leaves that call nothing through the PLT,
     * and RTLD_NOW resolved every function the extension imports (from libpython,
     * OpenBLAS and the C library) first, half of the 6 ms the open took. Data
     * references are bound either way, so a library that cannot load still fails here.
     * numpy, imported later in the same process, finds this very handle loaded; its
     * calls are then bound on first use, as any lazily loaded library's. */
    void *handle = dlopen(library, RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) {
        Py_DECREF(names);
        Py_RETURN_FALSE;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const char *name = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(names, i));
        if (name == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        routines[i] = (routine8)dlsym(handle, name);
        if (routines[i] == NULL) {
            Py_DECREF(names);
            Py_RETURN_FALSE;
        }
    }
    bound = (int)count;
    Py_DECREF(names);
    Py_RETURN_TRUE;
#else
    Py_DECREF(names);
    Py_RETURN_FALSE;
#endif
}

static int check_slot(int slot) {
    if (slot < 0 || slot >= bound) {
        PyErr_Format(PyExc_ValueError, "no routine bound at slot %d (%d bound)", slot, bound);
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(apply_doc,
             "apply(slot, values) -> list[float]\n\n"
             "The routine bound at ``slot`` of each of ``values`` (a sequence of float).");

static PyObject *apply(PyObject *self, PyObject *args) {
    int slot;
    PyObject *values;
    if (!PyArg_ParseTuple(args, "iO:apply", &slot, &values)) return NULL;
    if (!check_slot(slot)) return NULL;
    PyObject *items = PySequence_Fast(values, "apply: values must be a sequence of float");
    if (items == NULL) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    block8 block;
    for (Py_ssize_t start = 0; start < count; start += LANES) {
        Py_ssize_t width = count - start < LANES ? count - start : LANES;
        for (Py_ssize_t i = 0; i < LANES; i++) {
            /* The tail's spare lanes hold 1.0, inside every routine's domain. */
            double x = 1.0;
            if (i < width) {
                x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(items, start + i));
                if (x == -1.0 && PyErr_Occurred()) {
                    Py_DECREF(items);
                    Py_DECREF(result);
                    return NULL;
                }
            }
            block.lane[i] = x;
        }
#if FJ_SVML
        call8(routines[slot], &block);
#endif
        for (Py_ssize_t i = 0; i < width; i++) {
            PyObject *y = PyFloat_FromDouble(block.lane[i]);
            if (y == NULL) {
                Py_DECREF(items);
                Py_DECREF(result);
                return NULL;
            }
            PyList_SET_ITEM(result, start + i, y);
        }
    }
    Py_DECREF(items);
    return result;
}

PyDoc_STRVAR(apply_one_doc,
             "apply_one(slot, x) -> float\n\n"
             "The routine bound at ``slot`` of one float (numpy's scalar call).");

static PyObject *apply_one(PyObject *self, PyObject *args) {
    int slot;
    double x;
    if (!PyArg_ParseTuple(args, "id:apply_one", &slot, &x)) return NULL;
    if (!check_slot(slot)) return NULL;
    block8 block;
    for (int i = 0; i < LANES; i++) block.lane[i] = 1.0;
    block.lane[0] = x;
#if FJ_SVML
    call8(routines[slot], &block);
#endif
    return PyFloat_FromDouble(block.lane[0]);
}

PyDoc_STRVAR(uniforms_doc,
             "uniforms(words) -> list[float]\n\n"
             "numpy's random_sample doubles from MT19937 output: ``words`` holds pairs\n"
             "of 32-bit outputs a, b (little-endian, a first), each pair giving\n"
             "((a >> 5) * 2**26 + (b >> 6)) / 2**53. Every step is exact.");

static PyObject *uniforms(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*:uniforms", &view)) return NULL;
    if (view.len % 8 != 0) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "uniforms: %zd bytes is not pairs of 32-bit words",
                            view.len);
    }
    Py_ssize_t count = view.len / 8;
    const unsigned char *bytes = view.buf;
    PyObject *result = PyList_New(count);
    if (result == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const unsigned char *p = bytes + 8 * i;
        uint32_t a = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                     (uint32_t)p[7] << 24;
        double value = ((double)(a >> 5) * 67108864.0 + (double)(b >> 6)) *
                       (1.0 / 9007199254740992.0);
        PyObject *item = PyFloat_FromDouble(value);
        if (item == NULL) {
            PyBuffer_Release(&view);
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, i, item);
    }
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS, bind_doc},
    {"apply", apply, METH_VARARGS, apply_doc},
    {"apply_one", apply_one, METH_VARARGS, apply_one_doc},
    {"uniforms", uniforms, METH_VARARGS, uniforms_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_svml",
    .m_doc = "numpy's float64 SIMD math routines, called without importing numpy.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__svml(void) { return PyModule_Create(&module); }
