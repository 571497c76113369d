/* type_list.c - the shared list: Python's list methods, slices and a stable sort.
 *
 * obj->value is always an MPX_LIST. Items arriving in a call are moved in; items handed
 * back while the list keeps them are deep copies. Index and slice arithmetic is CPython's
 * (PySlice_AdjustIndices, list_ass_subscript); sort() is timsort's run detection and
 * binary insertion with plain merges, so it is stable and, like CPython, compares with
 * "later < earlier". A sort that fails on a TypeError leaves the list as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

/* ---- iteration (shared with type_dict.c, see types.h) -------------------------------- */

/* Length in bytes of the UTF-8 sequence a lead byte starts. */
static size_t utf8_seq_len(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

int iterable_items(call *c, mpx_value *v, mpx_value *tmp, mpx_value **items, size_t *n)
{
    *tmp = mpx_value_none();
    *items = NULL;
    *n = 0;
    mpx_kind kind = mpx_value_kind(v);
    if (kind == MPX_LIST || kind == MPX_TUPLE) {
        *n = mpx_value_len(v);
        *items = *n ? mpx_value_items(v) : NULL;
        return MPX_OK;
    }
    if (kind != MPX_STR && kind != MPX_BYTES && kind != MPX_DICT)
        return call_fail(c, MPX_ETYPE, "'%s' object is not iterable", mpx_kind_name(kind));

    size_t count = mpx_value_len(v);
    const unsigned char *s = NULL;
    if (kind != MPX_DICT)
        s = (const unsigned char *)mpx_value_str_data(v);
    if (kind == MPX_STR) { /* code points, not bytes */
        count = 0;
        for (size_t i = 0; i < mpx_value_len(v); i++)
            count += (s[i] & 0xC0) != 0x80;
    }
    if (mpx_value_list(tmp, count) != MPX_OK || mpx_value_resize(tmp, count) != MPX_OK) {
        mpx_value_free(tmp);
        return call_fail_nomem(c);
    }
    mpx_value *out = mpx_value_items(tmp);
    int rc = MPX_OK;
    if (kind == MPX_STR) {
        for (size_t i = 0, k = 0; rc == MPX_OK && k < count; k++) {
            size_t len = utf8_seq_len(s[i]);
            rc = mpx_value_strn(&out[k], (const char *)s + i, len);
            i += len;
        }
    } else if (kind == MPX_BYTES) {
        for (size_t k = 0; k < count; k++)
            out[k] = mpx_value_int(s[k]);
    } else {
        size_t pos = 0, k = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val)) /* v is only freed after this */
            mpx_value_move(&out[k++], key);
    }
    if (rc != MPX_OK) {
        mpx_value_free(tmp);
        return call_fail_nomem(c);
    }
    *items = count ? out : NULL;
    *n = count;
    return MPX_OK;
}

/* ---- indices and slices --------------------------------------------------------------- */

bool as_index(const mpx_value *v, int64_t *out)
{
    switch (mpx_value_kind(v)) {
    case MPX_INT:
        *out = mpx_value_get_int(v);
        return true;
    case MPX_BOOL:
        *out = mpx_value_get_bool(v);
        return true;
    default:
        return false;
    }
}

static int index_kind_fail(call *c, const mpx_value *v)
{
    return call_fail(c, MPX_ETYPE, "list indices must be integers or slices, not %s",
                     mpx_kind_name(mpx_value_kind(v)));
}

static int not_integer_fail(call *c, const mpx_value *v)
{
    return call_fail(c, MPX_ETYPE, "'%s' object cannot be interpreted as an integer",
                     mpx_kind_name(mpx_value_kind(v)));
}

bool item_pos(int64_t i, size_t len, size_t *pos)
{
    if (i < 0)
        i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len)
        return false;
    *pos = (size_t)i;
    return true;
}

static int64_t clamp_bound(int64_t x, int64_t len, int64_t step)
{
    if (x < 0) {
        x += len;
        if (x < 0)
            x = step < 0 ? -1 : 0;
    } else if (x >= len) {
        x = step < 0 ? len - 1 : len;
    }
    return x;
}

int slice_span(call *c, const mpx_value *slice, size_t length, span *sp)
{
    int64_t start, stop, step = 1, len = (int64_t)length;
    if (mpx_value_slice_part(slice, 2, &step)) {
        if (step == 0)
            return call_fail(c, MPX_EVALUE, "slice step cannot be zero");
        if (step < -INT64_MAX) /* so that -step cannot overflow */
            step = -INT64_MAX;
    }
    if (!mpx_value_slice_part(slice, 0, &start))
        start = step < 0 ? INT64_MAX : 0;
    if (!mpx_value_slice_part(slice, 1, &stop))
        stop = step < 0 ? INT64_MIN : INT64_MAX;
    start = clamp_bound(start, len, step);
    stop = clamp_bound(stop, len, step);
    sp->start = start;
    sp->step = step;
    if (step < 0)
        sp->len = stop < start ? (size_t)((start - stop - 1) / -step + 1) : 0;
    else
        sp->len = start < stop ? (size_t)((stop - start - 1) / step + 1) : 0;
    return MPX_OK;
}

/* Replaces items [lo, hi) of list by the n cells of src, taking them (src is left None).
 * Cells are moved bitwise; a slot is overwritten only once its old item is freed or has
 * been moved elsewhere. MPX_ENOMEM leaves everything unchanged. */
static int replace_range(mpx_value *list, size_t lo, size_t hi, mpx_value *src, size_t n)
{
    size_t len = mpx_value_len(list), k = hi - lo, tail = len - hi;
    if (n > k && mpx_value_resize(list, len + n - k) != MPX_OK)
        return MPX_ENOMEM;
    mpx_value *a = mpx_value_items(list);
    if (a == NULL)
        return MPX_OK;
    for (size_t i = lo; i < hi; i++)
        mpx_value_free(&a[i]);
    if (n != k)
        memmove(&a[lo + n], &a[hi], tail * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[lo + i] = src[i];
        src[i] = mpx_value_none();
    }
    if (n < k) {
        for (size_t i = len - (k - n); i < len; i++)
            a[i] = mpx_value_none(); /* stale copies of cells moved down */
        mpx_value_resize(list, len - (k - n));
    }
    return MPX_OK;
}

/* del list[slice]: extended slices are compacted in one pass. */
static void delete_span(mpx_value *list, span sp)
{
    if (sp.len == 0)
        return;
    if (sp.step < 0) { /* the same positions, walked upwards */
        sp.start += sp.step * (int64_t)(sp.len - 1);
        sp.step = -sp.step;
    }
    if (sp.step == 1) {
        replace_range(list, (size_t)sp.start, (size_t)sp.start + sp.len, NULL, 0);
        return;
    }
    mpx_value *a = mpx_value_items(list);
    size_t len = mpx_value_len(list), w = (size_t)sp.start, next = w, left = sp.len;
    for (size_t r = w; r < len; r++) {
        if (left > 0 && r == next) {
            mpx_value_free(&a[r]);
            next += (size_t)sp.step;
            left--;
        } else {
            a[w++] = a[r];
        }
    }
    for (size_t i = w; i < len; i++)
        a[i] = mpx_value_none();
    mpx_value_resize(list, w);
}

/* list[slice] = value: any length for step 1, exactly the slice's length otherwise. */
static int assign_span(call *c, mpx_value *list, const span *sp, mpx_value *value)
{
    mpx_value tmp, *items;
    size_t n;
    int rc = iterable_items(c, value, &tmp, &items, &n);
    if (rc == MPX_ETYPE)
        return call_fail(c, MPX_ETYPE, sp->step == 1 ? "can only assign an iterable"
                                                     : "must assign iterable to extended slice");
    if (rc != MPX_OK)
        return rc;
    if (sp->step == 1) {
        size_t lo = (size_t)sp->start;
        if (replace_range(list, lo, lo + sp->len, items, n) != MPX_OK)
            rc = call_fail_nomem(c);
    } else if (n != sp->len) {
        rc = call_fail(c, MPX_EVALUE,
                       "attempt to assign sequence of size %zu to extended slice of size %zu",
                       n, sp->len);
    } else {
        mpx_value *a = mpx_value_items(list);
        for (size_t k = 0; k < n; k++) {
            size_t pos = span_pos(sp, k);
            mpx_value_free(&a[pos]);
            a[pos] = items[k];
            items[k] = mpx_value_none();
        }
    }
    mpx_value_free(&tmp);
    return rc;
}

/* ---- sort ------------------------------------------------------------------------------ */

/* The pair Python's "<" actually fails on: list and tuple comparisons recurse into the
 * first items that differ, so (1, 'a') < (1, 2) blames str and int. */
static void unorderable_pair(const mpx_value **a, const mpx_value **b)
{
    for (;;) {
        mpx_kind k = mpx_value_kind(*a);
        if (k != mpx_value_kind(*b) || (k != MPX_LIST && k != MPX_TUPLE))
            return;
        size_t na = mpx_value_len(*a), nb = mpx_value_len(*b), i = 0;
        while (i < na && i < nb && mpx_value_equal(mpx_value_at(*a, i), mpx_value_at(*b, i)))
            i++;
        if (i == na || i == nb)
            return;
        *a = mpx_value_at(*a, i);
        *b = mpx_value_at(*b, i);
    }
}

/* *lt = a < b, as Python's sort asks it; TypeError with Python's message otherwise. */
static int less(call *c, const mpx_value *a, const mpx_value *b, bool *lt)
{
    if (mpx_value_kind(a) == MPX_INT && mpx_value_kind(b) == MPX_INT) {
        *lt = mpx_value_get_int(a) < mpx_value_get_int(b);
        return MPX_OK;
    }
    int cmp;
    int rc = mpx_value_compare(a, b, &cmp);
    if (rc == MPX_OK) {
        *lt = cmp < 0;
        return MPX_OK;
    }
    if (rc != MPX_ETYPE)
        return call_fail_nomem(c);
    unorderable_pair(&a, &b);
    return call_fail(c, MPX_ETYPE, "'<' not supported between instances of '%s' and '%s'",
                     mpx_kind_name(mpx_value_kind(a)), mpx_kind_name(mpx_value_kind(b)));
}

static void reverse_cells(mpx_value *a, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        mpx_value t = a[i];
        a[i] = a[j - 1];
        a[j - 1] = t;
    }
}

/* The run at the start of a[0..n): non-descending, or strictly descending and then
 * reversed in place (timsort's count_run). */
static int count_run(call *c, mpx_value *a, size_t n, size_t *run)
{
    bool lt;
    size_t k = 2;
    int rc;
    if (n == 1) {
        *run = 1;
        return MPX_OK;
    }
    if ((rc = less(c, &a[1], &a[0], &lt)) != MPX_OK)
        return rc;
    if (lt) {
        for (; k < n; k++) {
            if ((rc = less(c, &a[k], &a[k - 1], &lt)) != MPX_OK)
                return rc;
            if (!lt)
                break;
        }
        reverse_cells(a, k);
    } else {
        for (; k < n; k++) {
            if ((rc = less(c, &a[k], &a[k - 1], &lt)) != MPX_OK)
                return rc;
            if (lt)
                break;
        }
    }
    *run = k;
    return MPX_OK;
}

/* Binary insertion of a[start..hi) into the sorted a[0..start); equal items keep their
 * order, since a pivot goes after every item it is not less than. */
static int binary_sort(call *c, mpx_value *a, size_t hi, size_t start)
{
    for (; start < hi; start++) {
        mpx_value pivot = a[start];
        size_t l = 0, r = start;
        do {
            size_t p = l + ((r - l) >> 1);
            bool lt;
            int rc = less(c, &pivot, &a[p], &lt);
            if (rc != MPX_OK)
                return rc;
            if (lt)
                r = p;
            else
                l = p + 1;
        } while (l < r);
        memmove(&a[l + 1], &a[l], (start - l) * sizeof *a);
        a[l] = pivot;
    }
    return MPX_OK;
}

/* Merges the sorted runs a[0..na) and a[na..na+nb), copying the shorter one to tmp.
 * Ties go to the left run: an item of b moves ahead only when it is less. */
static int merge_runs(call *c, mpx_value *a, size_t na, size_t nb, mpx_value *tmp)
{
    mpx_value *b = a + na;
    bool lt;
    int rc = less(c, &b[0], &b[-1], &lt);
    if (rc != MPX_OK || !lt) /* already in order */
        return rc;
    if (na <= nb) {
        memcpy(tmp, a, na * sizeof *a);
        size_t i = 0, j = 0, d = 0;
        while (i < na && j < nb) {
            if ((rc = less(c, &b[j], &tmp[i], &lt)) != MPX_OK)
                return rc;
            a[d++] = lt ? b[j++] : tmp[i++];
        }
        memcpy(&a[d], &tmp[i], (na - i) * sizeof *a);
    } else {
        memcpy(tmp, b, nb * sizeof *a);
        size_t i = na, j = nb, d = na + nb;
        while (i > 0 && j > 0) {
            if ((rc = less(c, &tmp[j - 1], &a[i - 1], &lt)) != MPX_OK)
                return rc;
            a[--d] = lt ? a[--i] : tmp[--j];
        }
        memcpy(a, tmp, j * sizeof *a);
    }
    return MPX_OK;
}

/* Timsort's minimum run length: n itself below 64, else between 32 and 64. */
static size_t min_run(size_t n)
{
    size_t r = 0;
    while (n >= 64) {
        r |= n & 1;
        n >>= 1;
    }
    return n + r;
}

typedef struct run {
    size_t base, len;
} run;

/* Stack depth bound for timsort's run-length invariants with 64-bit sizes. */
#define MAX_RUNS 85

static int merge_at(call *c, mpx_value *a, run *runs, size_t *nruns, size_t i, mpx_value *tmp)
{
    int rc = merge_runs(c, a + runs[i].base, runs[i].len, runs[i + 1].len, tmp);
    runs[i].len += runs[i + 1].len;
    if (i + 2 < *nruns)
        runs[i + 1] = runs[i + 2];
    (*nruns)--;
    return rc;
}

/* Keeps run lengths growing faster than Fibonacci down the stack (timsort's invariant). */
static int merge_collapse(call *c, mpx_value *a, run *p, size_t *np, mpx_value *tmp)
{
    while (*np > 1) {
        size_t n = *np - 2;
        if ((n > 0 && p[n - 1].len <= p[n].len + p[n + 1].len) ||
            (n > 1 && p[n - 2].len <= p[n - 1].len + p[n].len)) {
            if (p[n - 1].len < p[n + 1].len)
                n--;
        } else if (p[n].len > p[n + 1].len) {
            break;
        }
        int rc = merge_at(c, a, p, np, n, tmp);
        if (rc != MPX_OK)
            return rc;
    }
    return MPX_OK;
}

/* Sorts a[0..n), n >= 2; tmp holds n / 2 cells. On error a is some permutation. */
static int timsort(call *c, mpx_value *a, size_t n, mpx_value *tmp)
{
    run runs[MAX_RUNS];
    size_t nruns = 0, lo = 0, minrun = min_run(n);
    int rc;
    while (lo < n) {
        size_t left = n - lo, len;
        if ((rc = count_run(c, a + lo, left, &len)) != MPX_OK)
            return rc;
        if (len < minrun) {
            size_t force = left <= minrun ? left : minrun;
            if ((rc = binary_sort(c, a + lo, force, len)) != MPX_OK)
                return rc;
            len = force;
        }
        runs[nruns++] = (run){lo, len};
        if ((rc = merge_collapse(c, a, runs, &nruns, tmp)) != MPX_OK)
            return rc;
        lo += len;
    }
    while (nruns > 1) {
        size_t i = nruns - 2;
        if (i > 0 && runs[i - 1].len < runs[i + 1].len)
            i--;
        if ((rc = merge_at(c, a, runs, &nruns, i, tmp)) != MPX_OK)
            return rc;
    }
    return MPX_OK;
}

/* sort([reverse]): sorts a copy of the item cells and commits it only on success.
 * reverse keeps stability as Python does: reverse, sort, reverse back. */
static int list_sort(call *c)
{
    bool reverse = false;
    if (c->nargs > 0) {
        int64_t r;
        if (!as_index(&c->args[0], &r))
            return not_integer_fail(c, &c->args[0]);
        reverse = r != 0;
    }
    mpx_value *list = &c->obj->value;
    size_t n = mpx_value_len(list);
    if (n < 2)
        return MPX_OK;
    mpx_value *work = malloc(n * sizeof *work), *tmp = malloc((n / 2 + 1) * sizeof *tmp);
    if (work == NULL || tmp == NULL) {
        free(work);
        free(tmp);
        return call_fail_nomem(c);
    }
    memcpy(work, mpx_value_items(list), n * sizeof *work);
    if (reverse)
        reverse_cells(work, n);
    int rc = timsort(c, work, n, tmp);
    if (rc == MPX_OK) {
        if (reverse)
            reverse_cells(work, n);
        memcpy(mpx_value_items(list), work, n * sizeof *work);
    }
    free(work);
    free(tmp);
    return rc;
}

/* ---- methods ---------------------------------------------------------------------------- */

/* list(), or list(iterable): a list argument is taken whole, other iterables item by item. */
static int list_init(object *obj, call *c)
{
    if (c->nargs == 1 && mpx_value_kind(&c->args[0]) == MPX_LIST) {
        mpx_value_move(&obj->value, &c->args[0]);
        return MPX_OK;
    }
    if (mpx_value_list(&obj->value, 0) != MPX_OK)
        return call_fail_nomem(c);
    if (c->nargs == 0)
        return MPX_OK;
    mpx_value tmp, *items;
    size_t n;
    int rc = iterable_items(c, &c->args[0], &tmp, &items, &n);
    if (rc == MPX_OK && replace_range(&obj->value, 0, 0, items, n) != MPX_OK)
        rc = call_fail_nomem(c);
    mpx_value_free(&tmp);
    return rc;
}

static int list_getitem(call *c)
{
    const mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return call_fail(c, MPX_EINDEX, "list index out of range");
        return mpx_value_copy(&c->result, mpx_value_at(list, pos)) == MPX_OK
                   ? MPX_OK
                   : call_fail_nomem(c);
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    if (rc != MPX_OK)
        return rc;
    mpx_value out;
    if (mpx_value_list(&out, sp.len) != MPX_OK || mpx_value_resize(&out, sp.len) != MPX_OK) {
        mpx_value_free(&out);
        return call_fail_nomem(c);
    }
    mpx_value *dst = mpx_value_items(&out);
    const mpx_value *src = mpx_value_items(list);
    for (size_t k = 0; k < sp.len; k++) {
        if (mpx_value_copy(&dst[k], &src[span_pos(&sp, k)]) != MPX_OK) {
            mpx_value_free(&out);
            return call_fail_nomem(c);
        }
    }
    mpx_value_move(&c->result, &out);
    return MPX_OK;
}

static int list_setitem(call *c)
{
    mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return call_fail(c, MPX_EINDEX, "list assignment index out of range");
        mpx_value *slot = mpx_value_at(list, pos);
        mpx_value_free(slot);
        mpx_value_move(slot, &c->args[1]);
        return MPX_OK;
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    return rc != MPX_OK ? rc : assign_span(c, list, &sp, &c->args[1]);
}

static int list_delitem(call *c)
{
    mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return call_fail(c, MPX_EINDEX, "list assignment index out of range");
        mpx_value_remove(list, pos, NULL);
        return MPX_OK;
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    if (rc == MPX_OK)
        delete_span(list, sp);
    return rc;
}

static int list_len(call *c)
{
    c->result = mpx_value_int((int64_t)mpx_value_len(&c->obj->value));
    return MPX_OK;
}

/* Position of the first item == x in [start, stop), or -1. */
static int64_t find_item(const mpx_value *list, const mpx_value *x, size_t start, size_t stop)
{
    const mpx_value *a = mpx_value_items(list);
    for (size_t i = start; i < stop; i++)
        if (mpx_value_equal(&a[i], x))
            return (int64_t)i;
    return -1;
}

static int list_contains(call *c)
{
    const mpx_value *list = &c->obj->value;
    c->result = mpx_value_bool(find_item(list, &c->args[0], 0, mpx_value_len(list)) >= 0);
    return MPX_OK;
}

static int list_append(call *c)
{
    if (mpx_value_append(&c->obj->value, &c->args[0]) != MPX_OK)
        return call_fail_nomem(c);
    return MPX_OK;
}

static int list_extend(call *c)
{
    mpx_value *list = &c->obj->value, tmp, *items;
    size_t n, len = mpx_value_len(list);
    int rc = iterable_items(c, &c->args[0], &tmp, &items, &n);
    if (rc == MPX_OK && replace_range(list, len, len, items, n) != MPX_OK)
        rc = call_fail_nomem(c);
    mpx_value_free(&tmp);
    return rc;
}

/* insert(i, x): i is clamped into [0, len] after counting negatives from the end. */
static int list_insert(call *c)
{
    mpx_value *list = &c->obj->value;
    int64_t i, len = (int64_t)mpx_value_len(list);
    if (!as_index(&c->args[0], &i))
        return not_integer_fail(c, &c->args[0]);
    if (i < 0) {
        i += len;
        if (i < 0)
            i = 0;
    } else if (i > len) {
        i = len;
    }
    if (mpx_value_insert(list, (size_t)i, &c->args[1]) != MPX_OK)
        return call_fail_nomem(c);
    return MPX_OK;
}

static int list_pop(call *c)
{
    mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list), pos;
    int64_t i = -1;
    if (c->nargs > 0 && !as_index(&c->args[0], &i))
        return not_integer_fail(c, &c->args[0]);
    if (len == 0)
        return call_fail(c, MPX_EINDEX, "pop from empty list");
    if (!item_pos(i, len, &pos))
        return call_fail(c, MPX_EINDEX, "pop index out of range");
    mpx_value_remove(list, pos, &c->result);
    return MPX_OK;
}

static int list_remove(call *c)
{
    mpx_value *list = &c->obj->value;
    int64_t pos = find_item(list, &c->args[0], 0, mpx_value_len(list));
    if (pos < 0)
        return call_fail(c, MPX_EVALUE, "list.remove(x): x not in list");
    mpx_value_remove(list, (size_t)pos, NULL);
    return MPX_OK;
}

/* A start or stop bound of index(): negatives count from the end, then clamp at 0. */
static size_t index_bound(int64_t i, size_t len)
{
    if (i < 0) {
        i += (int64_t)len;
        return i < 0 ? 0 : (size_t)i;
    }
    return (uint64_t)i > len ? len : (size_t)i;
}

/* index(x[, start[, stop]]) */
static int list_index(call *c)
{
    const mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list), bounds[2] = {0, len};
    for (size_t b = 0; b < 2 && b + 1 < c->nargs; b++) {
        int64_t i;
        if (!as_index(&c->args[b + 1], &i))
            return call_fail(c, MPX_ETYPE,
                             "slice indices must be integers or have an __index__ method");
        bounds[b] = index_bound(i, len);
    }
    int64_t pos = find_item(list, &c->args[0], bounds[0], bounds[1]);
    if (pos >= 0) {
        c->result = mpx_value_int(pos);
        return MPX_OK;
    }
    char *text = mpx_value_repr(&c->args[0]);
    if (text == NULL)
        return call_fail_nomem(c);
    call_fail(c, MPX_EVALUE, "%s is not in list", text);
    free(text);
    return MPX_EVALUE;
}

static int list_count(call *c)
{
    const mpx_value *list = &c->obj->value, *a = mpx_value_items(list);
    size_t len = mpx_value_len(list);
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += mpx_value_equal(&a[i], &c->args[0]);
    c->result = mpx_value_int(n);
    return MPX_OK;
}

static int list_reverse(call *c)
{
    mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list);
    if (len > 1)
        reverse_cells(mpx_value_items(list), len);
    return MPX_OK;
}

static int list_clear(call *c)
{
    mpx_value_resize(&c->obj->value, 0);
    return MPX_OK;
}

static int list_copy(call *c)
{
    if (mpx_value_copy(&c->result, &c->obj->value) != MPX_OK)
        return call_fail_nomem(c);
    return MPX_OK;
}

static int list_repr(call *c)
{
    char *text = mpx_value_repr(&c->obj->value);
    int rc = text != NULL ? mpx_value_str(&c->result, text) : MPX_ENOMEM;
    free(text);
    return rc == MPX_OK ? MPX_OK : call_fail_nomem(c);
}

static const method_def list_methods[] = {
    {"__getitem__", list_getitem, 1, 1, 0},
    {"__setitem__", list_setitem, 2, 2, 0},
    {"__delitem__", list_delitem, 1, 1, 0},
    {"__len__", list_len, 0, 0, 0},
    {"__contains__", list_contains, 1, 1, 0},
    {"append", list_append, 1, 1, 0},
    {"extend", list_extend, 1, 1, 0},
    {"insert", list_insert, 2, 2, 0},
    {"pop", list_pop, 0, 1, 0},
    {"remove", list_remove, 1, 1, 0},
    {"index", list_index, 1, 3, 0},
    {"count", list_count, 1, 1, 0},
    {"reverse", list_reverse, 0, 0, 0},
    {"sort", list_sort, 0, 1, 0},
    {"clear", list_clear, 0, 0, 0},
    {"copy", list_copy, 0, 0, 0},
    {"__repr__", list_repr, 0, 0, 0},
};

const object_type type_list = {
    .name = "list",
    .init = list_init,
    .destroy = NULL,
    .methods = list_methods,
    .nmethods = sizeof list_methods / sizeof list_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
