/* safegate.gate._fastblock: the gate's answer to a memo miss of a name that an enabled
 * block list covers (its own entry, or a listed parent's in a suffix list), in C.
 *
 * gate/fastblock.py builds one Table per compiled profile and its time-dependent state
 * (policy/timestate.py's Live), only when policy/decide.py's ``list_blocks_decide`` says
 * that for such a name ``decide`` can only return the list's block (or the guard's allow).
 * ``Table.answer(data, ip)`` then, for a name none of whose suffixes the profile's rules
 * claim (``claimed``), does what ``Gate.answer_now`` and ``Gate._blocked`` do for
 * it: parse the query, probe the domain index for the name and then its parents up to its
 * registrable domain (the Public Suffix List's rules, as DomainIndex.lookup walks), check
 * the never-block guard, build the block
 * answer, count it, add the query-log record to the batch and memoise the answer.
 *
 * It answers only what it is sure of and returns None for everything else (an unusual
 * packet, a name no enabled list covers, a guarded name, an answer that
 * would need truncating...), leaving the query to the Python pipeline, which decides
 * every case. It returns False when the profile's time-dependent state was recomputed since
 * the table was built (the table must be built again). tests/gate/test_fastblock.py checks
 * that its answers, memo entries, log records and counters are the Python pipeline's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_NAME 255
#define QUESTION_NAME_END (MAX_NAME + 12)
#define TYPE_A 1
#define TYPE_AAAA 28
#define TYPE_OPT 41
#define OPTION_EDE 15
#define EDE_FILTERED 17
#define EDE_TEXT_MAX 200

typedef struct {
    PyObject_HEAD
    Py_buffer starts;  /* uint32: where each bucket of hashes starts */
    Py_buffer hashes;  /* int64, sorted */
    Py_buffer combos;  /* uint16 or uint32, parallel to hashes */
    int shift;
    long long offset;
    Py_buffer blocks;  /* int32 by combo: the list whose exact entry blocks, or -1 */
    Py_buffer parent_blocks; /* int32 by combo: the suffix list that blocks subdomains, or -1 */
    PyObject *psl_rules, *psl_wildcards, *psl_exceptions; /* the Public Suffix List's sets */
    PyObject *lists;   /* tuple by list id: (reason prefix, category, guarded) or None */
    PyObject *guard;   /* frozenset: never-block names */
    PyObject *special; /* frozenset: names the Python pipeline answers */
    PyObject *claimed; /* frozenset: names the profile's rules claim with their subdomains */
    PyObject *live;    /* the profile's Live */
    double valid_from; /* live.valid_from when the table was built */
    double valid_until;
    int enabled;
    PyObject *bodies;  /* ((rcode, body, an, ns) for A, AAAA, any other type) */
    PyObject *memo;    /* the profile's OrderedDict of finished answers */
    Py_ssize_t memo_limit;
    double memo_seconds;
    PyObject *batch;   /* the query log's batch (list) */
    PyObject *profile_id;
    PyObject *level;   /* the profile's log level, or None: nothing logged */
    PyObject *stats;   /* GateStats */
    PyObject *by_category;
    PyObject *fixed;   /* the FixedMemo type */
    int udp_payload;   /* the payload size our OPT record announces */
    Py_ssize_t max_size; /* larger answers are left to the pipeline (it may truncate) */
} Table;

static PyObject *s_valid_from, *s_slow_path, *s_blocked, *s_popitem, *s_block, *one;

/* Octets that may appear in a label of a name the parser's fast path accepts: printable
 * ASCII except '"().;\@$' (wire.py's _PLAIN; the dot is the separator). */
static unsigned char plain[256];

static void init_plain(void) {
    const char *special = "\"().;\\@$";
    for (int c = 0x21; c < 0x7F; c++)
        plain[c] = strchr(special, c) == NULL;
}

static double clock_of(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void Table_dealloc(Table *self) {
    PyBuffer_Release(&self->starts);
    PyBuffer_Release(&self->hashes);
    PyBuffer_Release(&self->combos);
    PyBuffer_Release(&self->blocks);
    PyBuffer_Release(&self->parent_blocks);
    Py_XDECREF(self->psl_rules);
    Py_XDECREF(self->psl_wildcards);
    Py_XDECREF(self->psl_exceptions);
    Py_XDECREF(self->lists);
    Py_XDECREF(self->guard);
    Py_XDECREF(self->special);
    Py_XDECREF(self->claimed);
    Py_XDECREF(self->live);
    Py_XDECREF(self->bodies);
    Py_XDECREF(self->memo);
    Py_XDECREF(self->batch);
    Py_XDECREF(self->profile_id);
    Py_XDECREF(self->level);
    Py_XDECREF(self->stats);
    Py_XDECREF(self->by_category);
    Py_XDECREF(self->fixed);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Table_init(Table *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"starts", "hashes", "combos", "shift", "offset", "blocks",
                         "parent_blocks", "psl_rules", "psl_wildcards", "psl_exceptions",
                         "lists",
                         "guard", "special", "claimed", "live", "valid_from", "valid_until",
                         "enabled", "bodies", "memo", "memo_limit", "batch", "memo_seconds",
                         "profile_id", "level", "stats", "by_category", "fixed",
                         "udp_payload", "max_size", NULL};
    int shift, enabled, udp_payload;
    long long offset;
    Py_ssize_t memo_limit, max_size;
    double valid_from, valid_until, memo_seconds;
    PyObject *lists, *guard, *special, *claimed, *live, *bodies, *memo, *batch, *profile_id,
        *level, *stats, *by_category, *fixed, *psl_rules, *psl_wildcards, *psl_exceptions;
    if (self->starts.obj != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Table is built once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "$y*y*y*iLy*y*O!O!O!O!O!O!O!OddpO!OnO!dOOOO!Oin", kw, &self->starts,
            &self->hashes, &self->combos, &shift, &offset, &self->blocks, &self->parent_blocks,
            &PyFrozenSet_Type, &psl_rules, &PyFrozenSet_Type, &psl_wildcards,
            &PyFrozenSet_Type, &psl_exceptions, &PyTuple_Type,
            &lists, &PyFrozenSet_Type, &guard, &PyFrozenSet_Type, &special,
            &PyFrozenSet_Type, &claimed, &live,
            &valid_from, &valid_until, &enabled, &PyTuple_Type, &bodies, &memo, &memo_limit,
            &PyList_Type, &batch, &memo_seconds, &profile_id, &level, &stats,
            &PyDict_Type, &by_category, &fixed, &udp_payload, &max_size))
        return -1;
    if (self->starts.itemsize != 4 || self->hashes.itemsize != 8 ||
        (self->combos.itemsize != 2 && self->combos.itemsize != 4) ||
        self->blocks.itemsize != 4 || self->parent_blocks.itemsize != 4 ||
        self->combos.len / self->combos.itemsize !=
        self->hashes.len / 8 || shift < 1 || shift > 63 || memo_limit < 1) {
        PyErr_SetString(PyExc_ValueError, "Table: arrays or sizes do not fit together");
        return -1;
    }
    if (!PyType_Check(fixed) || !PyType_IsSubtype((PyTypeObject *)fixed, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "Table: fixed must be a tuple type (FixedMemo)");
        return -1;
    }
    if (PyTuple_GET_SIZE(bodies) != 3) {
        PyErr_SetString(PyExc_ValueError, "Table: bodies are three (A, AAAA, other)");
        return -1;
    }
    for (Py_ssize_t i = 0; i < 3; i++) {
        PyObject *b = PyTuple_GET_ITEM(bodies, i);
        if (!PyTuple_Check(b) || PyTuple_GET_SIZE(b) != 4 ||
            !PyLong_Check(PyTuple_GET_ITEM(b, 0)) || !PyBytes_Check(PyTuple_GET_ITEM(b, 1)) ||
            !PyLong_Check(PyTuple_GET_ITEM(b, 2)) || !PyLong_Check(PyTuple_GET_ITEM(b, 3))) {
            PyErr_SetString(PyExc_ValueError, "Table: a body is (rcode, bytes, an, ns)");
            return -1;
        }
    }
    self->shift = shift;
    self->offset = offset;
    self->valid_from = valid_from;
    self->valid_until = valid_until;
    self->enabled = enabled;
    self->memo_limit = memo_limit;
    self->memo_seconds = memo_seconds;
    self->udp_payload = udp_payload;
    self->max_size = max_size;
#define KEEP(field) Py_INCREF(field); self->field = field
    KEEP(psl_rules); KEEP(psl_wildcards); KEEP(psl_exceptions);
    KEEP(lists); KEEP(guard); KEEP(special); KEEP(claimed); KEEP(live); KEEP(bodies); KEEP(memo);
    KEEP(batch); KEEP(profile_id); KEEP(level); KEEP(stats); KEEP(by_category); KEEP(fixed);
#undef KEEP
    return 0;
}

/* The index position of hash h, or -1. */
static Py_ssize_t probe(Table *t, long long h) {
    const uint32_t *starts = (const uint32_t *)t->starts.buf;
    const long long *hashes = (const long long *)t->hashes.buf;
    long long bucket = (h >> t->shift) + t->offset;
    Py_ssize_t nstarts = t->starts.len / 4;
    if (bucket < 0 || bucket + 1 >= nstarts)
        return -1;
    Py_ssize_t lo = starts[bucket], hi = starts[bucket + 1];
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (hashes[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < (Py_ssize_t)starts[bucket + 1] && hashes[lo] == h)
        return lo;
    return -1;
}

/* The list (by id) that by_combo (int32 by combo) gives the index entry at position at, or
 * -1. */
static int verdict_at(Table *t, Py_buffer *by_combo, Py_ssize_t at) {
    Py_ssize_t combo = t->combos.itemsize == 2 ? ((const uint16_t *)t->combos.buf)[at]
                                               : ((const uint32_t *)t->combos.buf)[at];
    if (combo >= by_combo->len / 4)
        return -1;
    return ((const int32_t *)by_combo->buf)[combo];
}

/* How many trailing labels of the name whose suffixes (longest first) are cands[0..n) form
 * its public suffix (at least 1): lists/psl.py's _suffix_count. -1 on error. */
static Py_ssize_t suffix_count(Table *t, PyObject **cands, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        int hit = PySet_Contains(t->psl_exceptions, cands[i]);
        if (hit != 0)
            return hit < 0 ? -1 : n - i - 1;
        hit = PySet_Contains(t->psl_rules, cands[i]);
        if (hit == 0 && i + 1 < n)
            hit = PySet_Contains(t->psl_wildcards, cands[i + 1]);
        if (hit != 0)
            return hit < 0 ? -1 : n - i;
    }
    return 1;
}

/* The position in text of the nearest parent of the name (text, len) whose index entry
 * blocks it by a suffix list, with *list_id set; -1 when none does. No object is made: an
 * ASCII str hashes as its bytes (_Py_HashBytes), so most names that no list covers (the
 * allowed names of a memo miss) cost a few probes here. */
static Py_ssize_t listed_parent(Table *t, const char *text, Py_ssize_t len, int *list_id) {
    for (Py_ssize_t i = 0; i < len; i++) {
        if (text[i] != '.')
            continue;
        Py_ssize_t at = probe(t, (long long)_Py_HashBytes(text + i + 1, len - i - 1));
        int id = at < 0 ? -1 : verdict_at(t, &t->parent_blocks, at);
        if (id >= 0) {
            *list_id = id;
            return i + 1;
        }
    }
    return -1;
}

/* 1 when the parent of the name (text, len) that starts at offset from lies at or below
 * the name's registrable domain (DomainIndex.lookup walks no further: a list entry that is
 * a public suffix, or above one, matches only itself), 0 when it does not, -1 on error. */
static int below_public_suffix(Table *t, const char *text, Py_ssize_t len, Py_ssize_t from) {
    PyObject *cands[MAX_NAME / 2 + 2];
    Py_ssize_t n = 0, depth = 0;  /* depth: which suffix the parent at from is */
    int result = -1;
    for (Py_ssize_t i = -1; i < len; i++) {
        if (i >= 0 && text[i] != '.')
            continue;
        if (i + 1 == from)
            depth = n;
        PyObject *suffix = PyUnicode_FromStringAndSize(text + i + 1, len - i - 1);
        if (suffix == NULL)
            goto done;
        cands[n++] = suffix;
    }
    Py_ssize_t public_labels = suffix_count(t, cands, n);
    if (public_labels >= 0) {
        Py_ssize_t registrable = n > public_labels ? public_labels + 1 : 0;
        Py_ssize_t last = registrable ? n - registrable : 0;
        result = depth >= 1 && depth <= last;
    }
done:
    for (Py_ssize_t i = 0; i < n; i++)
        Py_DECREF(cands[i]);
    return result;
}

/* 1 when name or a parent is in names, -1 on error. With last_label 0, the last label
 * alone is not checked (the guard's rule), and a single-label name not at all. */
static int suffix_in(PyObject *names, PyObject *name, const char *text, Py_ssize_t len,
                     int last_label) {
    Py_ssize_t end = len;  /* parents start after a dot before this */
    if (!last_label) {
        while (end > 0 && text[end - 1] != '.')
            end--;
        if (end == 0)
            return 0;
        end--;  /* the last dot itself */
    }
    if (PySet_GET_SIZE(names) == 0)
        return 0;
    int hit = PySet_Contains(names, name);
    for (Py_ssize_t i = 0; hit == 0 && i < end; i++) {
        if (text[i] != '.')
            continue;
        PyObject *parent = PyUnicode_FromStringAndSize(text + i + 1, len - i - 1);
        if (parent == NULL)
            return -1;
        hit = PySet_Contains(names, parent);
        Py_DECREF(parent);
    }
    return hit;
}

static PyObject *add_one(PyObject *obj, PyObject *attr) {
    PyObject *value = PyObject_GetAttr(obj, attr);
    if (value == NULL)
        return NULL;
    PyObject *more = PyNumber_Add(value, one);
    Py_DECREF(value);
    if (more == NULL)
        return NULL;
    int failed = PyObject_SetAttr(obj, attr, more);
    Py_DECREF(more);
    return failed ? NULL : Py_None;
}

static PyObject *Table_answer(Table *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "answer(data: bytes, ip: str)");
        return NULL;
    }
    PyObject *data = args[0], *ip = args[1];

    /* The state the table was built for must still be the profile's. */
    double wall = clock_of(CLOCK_REALTIME);
    PyObject *vf = PyObject_GetAttr(self->live, s_valid_from);
    if (vf == NULL)
        return NULL;
    double valid_from = PyFloat_AsDouble(vf);
    Py_DECREF(vf);
    if (valid_from == -1.0 && PyErr_Occurred())
        return NULL;
    if (valid_from != self->valid_from || !(valid_from <= wall && wall < self->valid_until))
        Py_RETURN_FALSE;
    if (!self->enabled)
        Py_RETURN_NONE;

    /* The header: one question, no records but at most one (an OPT). */
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    if (n < 17)
        Py_RETURN_NONE;
    unsigned qflags = (unsigned)d[2] << 8 | d[3];
    if (qflags & 0xF800 || d[4] != 0 || d[5] != 1 || d[6] || d[7] || d[8] || d[9] ||
        d[10] || d[11] > 1)
        Py_RETURN_NONE;

    /* The question name: plain labels only, lowercased, dotted. */
    char text[MAX_NAME + 1];
    Py_ssize_t len = 0, pos = 12;
    for (;;) {
        if (pos >= n || pos >= QUESTION_NAME_END)
            Py_RETURN_NONE;
        unsigned label = d[pos];
        if (label == 0)
            break;
        if (label > 63 || pos + 1 + (Py_ssize_t)label >= n ||
            pos + 1 + (Py_ssize_t)label >= QUESTION_NAME_END)
            Py_RETURN_NONE;
        if (len)
            text[len++] = '.';
        for (unsigned i = 1; i <= label; i++) {
            unsigned char c = d[pos + i];
            if (!plain[c])
                Py_RETURN_NONE;
            text[len++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
        }
        pos += 1 + label;
    }
    if (len == 0)
        Py_RETURN_NONE;
    Py_ssize_t qend = pos + 5;
    if (qend > n)
        Py_RETURN_NONE;
    unsigned qtype = (unsigned)d[pos + 1] << 8 | d[pos + 2];

    /* EDNS: one well-formed OPT record of version 0 in the additional section. */
    int edns = d[11] == 1, dnssec_ok = 0;
    if (edns) {
        Py_ssize_t p = qend;
        if (p + 11 > n || d[p] != 0 || ((unsigned)d[p + 1] << 8 | d[p + 2]) != TYPE_OPT ||
            d[p + 6] != 0)
            Py_RETURN_NONE;
        dnssec_ok = (d[p + 7] & 0x80) != 0;
        Py_ssize_t rdlen = (Py_ssize_t)d[p + 9] << 8 | d[p + 10];
        Py_ssize_t o = p + 11, end = o + rdlen;
        if (end > n)
            Py_RETURN_NONE;
        while (o < end) {
            if (o + 4 > end)
                Py_RETURN_NONE;
            o += 4 + ((Py_ssize_t)d[o + 2] << 8 | d[o + 3]);
            if (o > end)
                Py_RETURN_NONE;
        }
    }

    /* Names with rules of their own (the bypass canaries, the local zone). */
    static const char zone[] = "resolver.arpa";
    Py_ssize_t zlen = sizeof zone - 1;
    if (len >= zlen && memcmp(text + len - zlen, zone, zlen) == 0 &&
        (len == zlen || text[len - zlen - 1] == '.'))
        Py_RETURN_NONE;
    /* The index first (no object made for a name no list covers): the name itself, blocked
     * by an enabled list, or else its nearest listed parent up to the registrable domain. */
    Py_ssize_t at = probe(self, (long long)_Py_HashBytes(text, len));
    int list_id = at < 0 ? -1 : verdict_at(self, &self->blocks, at);
    Py_ssize_t from = 0;  /* where the entry that blocks starts in text */
    if (list_id < 0) {
        from = listed_parent(self, text, len, &list_id);
        if (from < 0)
            Py_RETURN_NONE;
        int below = below_public_suffix(self, text, len, from);
        if (below <= 0)
            return below < 0 ? NULL : Py_NewRef(Py_None);
    }
    PyObject *name = PyUnicode_New(len, 127);
    if (name == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(name), text, len);
    PyObject *result = NULL, *response = NULL, *reason = NULL, *record = NULL, *entry = NULL;
    entry = from ? PyUnicode_FromStringAndSize(text + from, len - from) : Py_NewRef(name);
    if (entry == NULL)
        goto done;
    int special = PySet_Contains(self->special, name);
    if (special == 0)
        special = suffix_in(self->claimed, name, text, len, 1);
    if (special != 0) {
        result = special < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    if (list_id >= PyTuple_GET_SIZE(self->lists) ||
        PyTuple_GET_ITEM(self->lists, list_id) == Py_None) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *info = PyTuple_GET_ITEM(self->lists, list_id);
    PyObject *prefix = PyTuple_GET_ITEM(info, 0), *category = PyTuple_GET_ITEM(info, 1);
    if (PyObject_IsTrue(PyTuple_GET_ITEM(info, 2))) {
        int g = suffix_in(self->guard, name, text, len, 0);
        if (g != 0) {
            result = g < 0 ? NULL : Py_NewRef(Py_None);
            goto done;
        }
    }

    /* The block answer: header, the client's question, the body, our OPT with the EDE. */
    reason = PyUnicode_Concat(prefix, entry);
    if (reason == NULL)
        goto done;
    PyObject *body = PyTuple_GET_ITEM(self->bodies,
                                      qtype == TYPE_A ? 0 : qtype == TYPE_AAAA ? 1 : 2);
    long rcode = PyLong_AsLong(PyTuple_GET_ITEM(body, 0));
    long an = PyLong_AsLong(PyTuple_GET_ITEM(body, 2));
    long ns = PyLong_AsLong(PyTuple_GET_ITEM(body, 3));
    PyObject *records = PyTuple_GET_ITEM(body, 1);
    Py_ssize_t why_len = 0;
    const char *why = NULL;
    if (edns) {
        why = PyUnicode_AsUTF8AndSize(reason, &why_len);
        if (why == NULL)
            goto done;
        if (why_len > EDE_TEXT_MAX)
            why_len = EDE_TEXT_MAX;
    }
    Py_ssize_t size = qend + PyBytes_GET_SIZE(records) + (edns ? 11 + 6 + why_len : 0);
    if (size > self->max_size) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    response = PyBytes_FromStringAndSize(NULL, size);
    if (response == NULL)
        goto done;
    unsigned char *r = (unsigned char *)PyBytes_AS_STRING(response);
    unsigned flags = 0x8000 | 0x0080 | (qflags & (0x7800 | 0x0100 | 0x0010)) | (rcode & 0xF);
    r[0] = d[0]; r[1] = d[1];
    r[2] = flags >> 8; r[3] = flags & 0xFF;
    r[4] = 0; r[5] = 1;
    r[6] = an >> 8; r[7] = an & 0xFF;
    r[8] = ns >> 8; r[9] = ns & 0xFF;
    r[10] = 0; r[11] = edns;
    memcpy(r + 12, d + 12, qend - 12);
    memcpy(r + qend, PyBytes_AS_STRING(records), PyBytes_GET_SIZE(records));
    if (edns) {
        unsigned char *o = r + qend + PyBytes_GET_SIZE(records);
        unsigned long ttl = ((unsigned long)((rcode >> 4) & 0xFF) << 24) |
                            (dnssec_ok ? 0x8000u : 0);
        Py_ssize_t rdlen = 4 + 2 + why_len;
        o[0] = 0;
        o[1] = 0; o[2] = TYPE_OPT;
        o[3] = self->udp_payload >> 8; o[4] = self->udp_payload & 0xFF;
        o[5] = ttl >> 24; o[6] = (ttl >> 16) & 0xFF; o[7] = (ttl >> 8) & 0xFF; o[8] = ttl & 0xFF;
        o[9] = rdlen >> 8; o[10] = rdlen & 0xFF;
        o[11] = 0; o[12] = OPTION_EDE;
        o[13] = (2 + why_len) >> 8; o[14] = (2 + why_len) & 0xFF;
        o[15] = 0; o[16] = EDE_FILTERED;
        memcpy(o + 17, why, why_len);
    }

    /* Counted, logged and memoised as Gate._blocked does. */
    if (add_one(self->stats, s_slow_path) == NULL || add_one(self->stats, s_blocked) == NULL)
        goto done;
    PyObject *count = PyDict_GetItemWithError(self->by_category, category);
    if (count == NULL && PyErr_Occurred())
        goto done;
    PyObject *more = count == NULL ? PyLong_FromLong(1) : PyNumber_Add(count, one);
    if (more == NULL || PyDict_SetItem(self->by_category, category, more) < 0) {
        Py_XDECREF(more);
        goto done;
    }
    Py_DECREF(more);
    if (self->level != Py_None) {
        PyObject *qt = PyLong_FromUnsignedLong(qtype);
        if (qt == NULL)
            goto done;
        record = PyTuple_Pack(6, self->profile_id, name, qt, s_block, reason, self->level);
        Py_DECREF(qt);
        if (record == NULL || PyList_Append(self->batch, ip) < 0 ||
            PyList_Append(self->batch, record) < 0)
            goto done;
    }
    double now = clock_of(CLOCK_MONOTONIC);
    double expires = now + self->memo_seconds;
    if (!isinf(self->valid_until)) {
        double ends = now + (self->valid_until - wall);
        if (ends < expires)
            expires = ends;
    }
    if (expires > now) {
        Py_ssize_t held = PyObject_Length(self->memo);
        if (held < 0)
            goto done;
        for (; held >= self->memo_limit; held--) {
            PyObject *gone = PyObject_CallMethodObjArgs(self->memo, s_popitem, Py_False, NULL);
            if (gone == NULL)
                goto done;
            Py_DECREF(gone);
        }
        PyObject *key = PyBytes_FromStringAndSize((const char *)d + 2, n - 2);
        PyObject *tail = PyBytes_FromStringAndSize((const char *)r + 2, size - 2);
        PyObject *when = PyFloat_FromDouble(expires);
        /* The FixedMemo made in place (tuple.__new__ would build a tuple to copy from). */
        PyTypeObject *fixed = (PyTypeObject *)self->fixed;
        PyObject *memoised = key && tail && when ? fixed->tp_alloc(fixed, 5) : NULL;
        if (memoised != NULL) {
            PyObject *items[5] = {when, Py_None, when, tail, record ? record : Py_None};
            for (int i = 0; i < 5; i++)
                PyTuple_SET_ITEM(memoised, i, Py_NewRef(items[i]));
        }
        int failed = memoised == NULL || PyObject_SetItem(self->memo, key, memoised) < 0;
        Py_XDECREF(key); Py_XDECREF(tail); Py_XDECREF(when); Py_XDECREF(memoised);
        if (failed)
            goto done;
    }
    result = Py_NewRef(response);

done:
    Py_DECREF(name);
    Py_XDECREF(entry);
    Py_XDECREF(reason);
    Py_XDECREF(record);
    Py_XDECREF(response);
    return result;
}

static PyMethodDef Table_methods[] = {
    {"answer", (PyCFunction)(void (*)(void))Table_answer, METH_FASTCALL,
     "answer(data, ip) -> the block answer (bytes), None (the pipeline answers) or False "
     "(the profile's state changed: build the table again)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "safegate.gate._fastblock.Table",
    .tp_basicsize = sizeof(Table),
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The fast answer to memo misses of listed blocked names, for one "
              "profile and state.",
    .tp_methods = Table_methods,
    .tp_init = (initproc)Table_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastblock",
    "Block answers for listed names, in C (see gate/fastblock.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastblock(void) {
    init_plain();
    if (PyType_Ready(&TableType) < 0)
        return NULL;
    s_valid_from = PyUnicode_InternFromString("valid_from");
    s_slow_path = PyUnicode_InternFromString("slow_path");
    s_blocked = PyUnicode_InternFromString("blocked");
    s_popitem = PyUnicode_InternFromString("popitem");
    s_block = PyUnicode_InternFromString("block");
    one = PyLong_FromLong(1);
    if (!s_valid_from || !s_slow_path || !s_blocked || !s_popitem || !s_block || !one)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
