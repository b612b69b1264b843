/* The flat XADD encoder in C: the same bytes as gateway/publish/flat.py, without the
 * per-field bytecode.
 *
 * encode(events, prefixes, layouts) -> bytes | None
 *
 *   events    a list (or any sequence) of event Structs
 *   prefixes  dict: topic -> the pre-encoded "XADD <topic> MAXLEN ~ <n> *" words (bytes)
 *   layouts   dict: event type -> (kind pair: bytes, ((attribute: str, head: bytes,
 *             kind: int), ...)) with kind 0 = str, 1 = int, 2 = bool
 *
 * Returns None when an event's type has no layout or its topic no prefix: the caller
 * then encodes the batch in Python (protobuf topics, Latest keys, a topic not seen yet).
 * A field whose value is None is left out. Strings are written as UTF-8 with their byte
 * length, so any text is valid here (the Python fast path needs ASCII).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_FIELDS 64

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

static int buffer_reserve(Buffer *buf, Py_ssize_t extra) {
    if (buf->len + extra <= buf->cap) return 0;
    Py_ssize_t cap = buf->cap ? buf->cap : 4096;
    while (cap < buf->len + extra) cap *= 2;
    char *data = PyMem_Realloc(buf->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

static int buffer_write(Buffer *buf, const char *src, Py_ssize_t n) {
    if (buffer_reserve(buf, n) < 0) return -1;
    memcpy(buf->data + buf->len, src, (size_t)n);
    buf->len += n;
    return 0;
}

/* The decimal digits of ``value`` at ``out``; returns how many (at most 20). */
static int write_digits(char *out, unsigned long long value) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* "$<n>\r\n<bytes>\r\n" */
static int buffer_bulk(Buffer *buf, const char *src, Py_ssize_t n) {
    if (buffer_reserve(buf, n + 26) < 0) return -1;
    buf->data[buf->len++] = '$';
    buf->len += write_digits(buf->data + buf->len, (unsigned long long)n);
    buf->data[buf->len++] = '\r';
    buf->data[buf->len++] = '\n';
    memcpy(buf->data + buf->len, src, (size_t)n);
    buf->len += n;
    buf->data[buf->len++] = '\r';
    buf->data[buf->len++] = '\n';
    return 0;
}

static PyObject *str_topic;

/* Append one field's value as a bulk string; -1 with an exception set on error. */
static int write_value(Buffer *buf, PyObject *value, long kind) {
    if (kind == 2) {
        int truth = PyObject_IsTrue(value);
        if (truth < 0) return -1;
        return truth ? buffer_bulk(buf, "true", 4) : buffer_bulk(buf, "false", 5);
    }
    if (kind == 1) {
        if (!PyLong_Check(value)) {
            PyErr_Format(PyExc_TypeError, "expected int, got %.80s", Py_TYPE(value)->tp_name);
            return -1;
        }
        int overflow = 0;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow) {
            if (number == -1 && PyErr_Occurred()) return -1;
            char digits[24];
            int n = 0;
            unsigned long long magnitude = (unsigned long long)number;
            if (number < 0) {
                digits[n++] = '-';
                magnitude = 0ULL - magnitude;
            }
            n += write_digits(digits + n, magnitude);
            return buffer_bulk(buf, digits, n);
        }
        PyObject *text = PyObject_Str(value);
        if (text == NULL) return -1;
        Py_ssize_t n;
        const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n);
        int rc = utf8 == NULL ? -1 : buffer_bulk(buf, utf8, n);
        Py_DECREF(text);
        return rc;
    }
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "expected str, got %.80s", Py_TYPE(value)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(value, &n);
    if (utf8 == NULL) return -1;
    return buffer_bulk(buf, utf8, n);
}

/* 1 written, 0 not encodable here (no layout or prefix), -1 error. */
static int encode_one(Buffer *buf, PyObject *event, PyObject *prefixes, PyObject *layouts) {
    PyObject *layout = PyDict_GetItemWithError(layouts, (PyObject *)Py_TYPE(event));
    if (layout == NULL) return PyErr_Occurred() ? -1 : 0;
    PyObject *topic = PyObject_GetAttr(event, str_topic);
    if (topic == NULL) return -1;
    PyObject *prefix = PyDict_GetItemWithError(prefixes, topic);
    Py_DECREF(topic);
    if (prefix == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(layout) || PyTuple_GET_SIZE(layout) != 2 || !PyBytes_Check(prefix)) {
        PyErr_SetString(PyExc_TypeError, "bad layout or prefix");
        return -1;
    }
    PyObject *kind_pair = PyTuple_GET_ITEM(layout, 0);
    PyObject *fields = PyTuple_GET_ITEM(layout, 1);
    Py_ssize_t count = PyTuple_GET_SIZE(fields);
    if (count > MAX_FIELDS || !PyBytes_Check(kind_pair)) {
        PyErr_SetString(PyExc_TypeError, "bad layout");
        return -1;
    }
    PyObject *values[MAX_FIELDS];
    int present = 0, rc = -1;
    Py_ssize_t got = 0;
    for (; got < count; got++) {
        PyObject *field = PyTuple_GET_ITEM(fields, got);
        values[got] = PyObject_GetAttr(event, PyTuple_GET_ITEM(field, 0));
        if (values[got] == NULL) goto done;
        if (values[got] != Py_None) present++;
    }
    char header[24];
    int n = 0;
    header[n++] = '*';
    n += write_digits(header + n, (unsigned long long)(8 + 2 * present));
    header[n++] = '\r';
    header[n++] = '\n';
    if (buffer_write(buf, header, n) < 0 ||
        buffer_write(buf, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix)) < 0 ||
        buffer_write(buf, PyBytes_AS_STRING(kind_pair), PyBytes_GET_SIZE(kind_pair)) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (values[i] == Py_None) continue;
        PyObject *field = PyTuple_GET_ITEM(fields, i);
        PyObject *head = PyTuple_GET_ITEM(field, 1);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(field, 2));
        if (buffer_write(buf, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) < 0 ||
            write_value(buf, values[i], kind) < 0)
            goto done;
    }
    rc = 1;
done:
    for (Py_ssize_t i = 0; i < got; i++) Py_XDECREF(values[i]);
    return rc;
}

static PyObject *encode(PyObject *self, PyObject *args) {
    PyObject *events, *prefixes, *layouts;
    if (!PyArg_ParseTuple(args, "OO!O!:encode", &events, &PyDict_Type, &prefixes,
                          &PyDict_Type, &layouts))
        return NULL;
    PyObject *items = PySequence_Fast(events, "events must be a sequence");
    if (items == NULL) return NULL;
    Buffer buf = {NULL, 0, 0};
    PyObject *result = NULL;
    Py_ssize_t total = PySequence_Fast_GET_SIZE(items);
    PyObject **array = PySequence_Fast_ITEMS(items);
    for (Py_ssize_t i = 0; i < total; i++) {
        int rc = encode_one(&buf, array[i], prefixes, layouts);
        if (rc < 0) goto done;
        if (rc == 0) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(buf.data ? buf.data : "", buf.len);
done:
    PyMem_Free(buf.data);
    Py_DECREF(items);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS,
     "encode(events, prefixes, layouts) -> bytes | None: flat XADD commands for a batch."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_flatc", "The flat XADD encoder in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__flatc(void) {
    str_topic = PyUnicode_InternFromString("topic");
    if (str_topic == NULL) return NULL;
    return PyModule_Create(&module);
}
