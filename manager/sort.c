/* sort.c - the stable sort of list.sort: timsort's run detection and binary insertion,
 * with plain merges (no galloping). Like CPython it only ever asks "later < earlier", so
 * equal items keep their order, and a comparison that fails (TypeError with Python's
 * message) stops it with the items in some permutation; values_sort works on a copy of
 * the cells and commits only on success.
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

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
static int less(mpx_call *c, const mpx_value *a, const mpx_value *b, bool *lt)
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
        return mpx_call_fail_nomem(c);
    unorderable_pair(&a, &b);
    return mpx_call_fail(c, MPX_ETYPE, "'<' not supported between instances of '%s' and '%s'",
                         mpx_kind_name(mpx_value_kind(a)), mpx_kind_name(mpx_value_kind(b)));
}

/* The run at the start of a[0..n): non-descending, or strictly descending and then
 * reversed in place (timsort's count_run). */
static int count_run(mpx_call *c, mpx_value *a, size_t n, size_t *run)
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
        values_reverse(a, k);
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
static int binary_sort(mpx_call *c, mpx_value *a, size_t hi, size_t start)
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
static int merge_runs(mpx_call *c, mpx_value *a, size_t na, size_t nb, mpx_value *tmp)
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

static int merge_at(mpx_call *c, mpx_value *a, run *runs, size_t *nruns, size_t i, mpx_value *tmp)
{
    int rc = merge_runs(c, a + runs[i].base, runs[i].len, runs[i + 1].len, tmp);
    runs[i].len += runs[i + 1].len;
    if (i + 2 < *nruns)
        runs[i + 1] = runs[i + 2];
    (*nruns)--;
    return rc;
}

/* Keeps run lengths growing faster than Fibonacci down the stack (timsort's invariant). */
static int merge_collapse(mpx_call *c, mpx_value *a, run *p, size_t *np, mpx_value *tmp)
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
static int timsort(mpx_call *c, mpx_value *a, size_t n, mpx_value *tmp)
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

int values_sort(mpx_call *c, mpx_value *items, size_t n, bool reverse)
{
    if (n < 2)
        return MPX_OK;
    mpx_value *work = malloc(n * sizeof *work), *tmp = malloc((n / 2 + 1) * sizeof *tmp);
    if (work == NULL || tmp == NULL) {
        free(work);
        free(tmp);
        return mpx_call_fail_nomem(c);
    }
    memcpy(work, items, n * sizeof *work);
    if (reverse)
        values_reverse(work, n);
    int rc = timsort(c, work, n, tmp);
    if (rc == MPX_OK) {
        if (reverse)
            values_reverse(work, n);
        memcpy(items, work, n * sizeof *work);
    }
    free(work);
    free(tmp);
    return rc;
}
