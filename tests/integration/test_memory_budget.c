/* test_memory_budget.c - mpx-manager --max-memory, Redis's maxmemory with noeviction.
 *
 * A manager with a small budget: one Array('b', 2**30) and an extend by a 4 MiB str are
 * refused at once (MemoryError) with its peak RSS unmoved; a list grown by appends reaches
 * MemoryError, and then reads, pops, deletes and another client's calls still run while
 * growing calls (append, setitem, create) are refused; once the list is cleared growth
 * works again. info() says used_memory and max_memory throughout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define BUDGET_MIB 48
#define CHUNK ((size_t)256 << 10) /* the appended strs */

static t_manager M;

/* A field of /proc/PID/status in KiB (VmHWM: the peak resident set). */
static long status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kib = atol(line + n + 1);
    if (f != NULL)
        fclose(f);
    T_CHECK(kib > 0);
    return kib;
}

/* info()[field] (the manager runs with --allow-admin). */
static int64_t info_int(mpx_client *c, const char *field)
{
    mpx_value info, key = t_str(field), *v;
    T_OK(c, mpx_client_call(c, 0, "info", NULL, 0, -1, &info));
    T_OK(NULL, mpx_value_dict_find(&info, &key, &v));
    T_CHECK(mpx_value_kind(v) == MPX_INT);
    int64_t n = mpx_value_get_int(v);
    mpx_value_free(&key);
    mpx_value_free(&info);
    return n;
}

static uint64_t create(mpx_client *c, const char *type, const mpx_value *args, size_t n)
{
    mpx_value ref;
    T_OK(c, mpx_client_create(c, type, args, n, &ref));
    uint64_t id = mpx_value_ref_id(&ref);
    mpx_value_free(&ref);
    return id;
}

/* A str of n 'x' characters. */
static mpx_value big_str(size_t n)
{
    char *text = malloc(n + 1);
    T_CHECK(text != NULL);
    memset(text, 'x', n);
    text[n] = '\0';
    mpx_value v = t_str(text);
    free(text);
    return v;
}

/* ---- growth known before it is made --------------------------------------------------- */

static void case_huge_requests_refused_at_once(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    T_EQ_INT(info_int(c, "max_memory"), (int64_t)BUDGET_MIB << 20);
    long hwm = status_kib(M.pid, "VmHWM");
    mpx_value args[2] = {t_str("b"), mpx_value_int(1 << 30)}, ref;
    for (int i = 0; i < 3; i++) { /* the three Array('b', 2**30) */
        int64_t t0 = t_now_ms();
        T_RC(c, mpx_client_create(c, "Array", args, 2, &ref), MPX_ENOMEM);
        T_ERRMSG_HAS(c, "OOM command not allowed");
        T_CHECK(t_now_ms() - t0 < 1000);
    }
    mpx_value_free(&args[0]);

    uint64_t list = create(c, "list", NULL, 0);
    mpx_value s = big_str((size_t)4 << 20), out; /* 4 Mi one-character strs: 192 MiB */
    int64_t t0 = t_now_ms();
    T_RC(c, mpx_client_call(c, list, "extend", &s, 1, -1, &out), MPX_ENOMEM);
    T_ERRMSG_HAS(c, "OOM command not allowed");
    T_CHECK(t_now_ms() - t0 < 1000);
    mpx_value_free(&s);
    T_OK(c, mpx_client_call(c, list, "__len__", NULL, 0, -1, &out));
    T_REPR(&out, "0");
    /* l * n and Array.tolist are growth known in advance too */
    mpx_value x = t_val("[1, 'ab']"), n = mpx_value_int(1 << 24);
    T_OK(c, mpx_client_call(c, list, "extend", &x, 1, -1, &out));
    T_RC(c, mpx_client_call(c, list, "__imul__", &n, 1, -1, &out), MPX_ENOMEM);
    T_RC(c, mpx_client_call(c, list, "__mul__", &n, 1, -1, &out), MPX_ENOMEM);
    mpx_value_free(&x);
    mpx_value a2[2] = {t_str("b"), mpx_value_int(16 << 20)};
    uint64_t arr = create(c, "Array", a2, 2); /* 16 MiB fits; its 16 Mi items as a list do not */
    mpx_value_free(&a2[0]);
    T_RC(c, mpx_client_call(c, arr, "tolist", NULL, 0, -1, &out), MPX_ENOMEM);
    mpx_value id = mpx_value_int((int64_t)arr);
    T_OK(c, mpx_client_call(c, 0, "decref", &id, 1, -1, &out));
    /* peak RSS: the 4 MiB request and the 16 MiB Array, not gigabytes */
    long grown = status_kib(M.pid, "VmHWM") - hwm;
    fprintf(stderr, "VmHWM grew by %ld KiB\n", grown);
    T_CHECK(grown < 40 * 1024);
    mpx_client_close(c);
}

/* ---- growth until the budget, then what still runs ------------------------------------- */

static void case_full_manager_still_reads_and_deletes(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL), *other = t_connect(&M, NULL);
    mpx_value ref, out, chunk = big_str(CHUNK);
    T_OK(c, mpx_client_open(c, "fill", "list", NULL, 0, &ref));
    uint64_t list = mpx_value_ref_id(&ref);
    mpx_value_free(&ref);
    uint64_t dict = create(c, "dict", NULL, 0);
    int rc = MPX_OK, appended = 0;
    for (; appended < 4 * (BUDGET_MIB << 20) / (int)CHUNK; appended++) { /* bounded */
        mpx_value item;
        T_OK(NULL, mpx_value_copy(&item, &chunk));
        rc = mpx_client_call(c, list, "append", &item, 1, -1, &out);
        mpx_value_free(&item);
        if (rc != MPX_OK)
            break;
    }
    T_EQ_INT(rc, MPX_ENOMEM);
    T_ERRMSG_HAS(c, "OOM command not allowed when used memory > 'max-memory'");
    T_CHECK(appended > (BUDGET_MIB / 2 << 20) / (int)CHUNK);
    int64_t used = info_int(c, "used_memory");
    fprintf(stderr, "%d appends of %zu bytes; used_memory %lld\n", appended, CHUNK,
            (long long)used);
    T_CHECK(used <= ((int64_t)BUDGET_MIB << 20) + (int64_t)CHUNK * 3);

    /* full: a call that would take it past the budget is refused, by any path (its own
     * arguments count: they are held while it runs) */
    mpx_value kv[2] = {t_str("k"), mpx_value_none()}, in_list;
    T_OK(NULL, mpx_value_copy(&kv[1], &chunk));
    T_OK(NULL, mpx_value_list(&in_list, 1));
    T_OK(NULL, mpx_value_copy(&out, &chunk));
    T_OK(NULL, mpx_value_append(&in_list, &out));
    mpx_value at0[2] = {mpx_value_int(0), chunk}, named[3] = {t_str("new-name"),
                                                              t_str("list"), in_list};
    T_RC(c, mpx_client_call(c, dict, "__setitem__", kv, 2, -1, &out), MPX_ENOMEM);
    T_RC(c, mpx_client_call(c, list, "insert", at0, 2, -1, &out), MPX_ENOMEM);
    T_RC(c, mpx_client_create(c, "list", &in_list, 1, &ref), MPX_ENOMEM);
    T_RC(other, mpx_client_call(other, 0, "open", named, 3, -1, &out), MPX_ENOMEM);
    T_ERRMSG_HAS(other, "OOM command not allowed");
    /* ...and what reads, pops or deletes runs, for this client and another */
    T_OK(other, mpx_client_ping(other));
    T_OK(other, mpx_client_open(other, "fill", "list", NULL, 0, &ref)); /* it exists */
    mpx_value_free(&ref);
    T_OK(other, mpx_client_call(other, list, "__len__", NULL, 0, -1, &out));
    T_EQ_INT(mpx_value_get_int(&out), appended);
    mpx_value zero = mpx_value_int(0);
    T_OK(other, mpx_client_call(other, list, "__getitem__", &zero, 1, -1, &out));
    T_EQ_INT(mpx_value_str_len(&out), CHUNK);
    mpx_value_free(&out);
    T_OK(c, mpx_client_call(c, list, "pop", NULL, 0, -1, &out));
    mpx_value_free(&out);
    T_OK(c, mpx_client_call(c, list, "__delitem__", &zero, 1, -1, &out));
    T_OK(c, mpx_client_call(c, dict, "get", kv, 1, -1, &out));
    T_REPR(&out, "None");

    /* deleting gives the room back: the same calls work again */
    T_OK(other, mpx_client_call(other, list, "clear", NULL, 0, -1, &out));
    T_CHECK(info_int(c, "used_memory") < used / 4);
    T_OK(c, mpx_client_call(c, dict, "__setitem__", kv, 2, -1, &out));
    T_OK(c, mpx_client_call(c, list, "insert", at0, 2, -1, &out));
    T_OK(c, mpx_client_create(c, "list", &in_list, 1, &ref));
    mpx_value_free(&ref);
    T_OK(other, mpx_client_call(other, 0, "open", named, 3, -1, &out));
    mpx_value_free(&out);
    t_free_all(kv, 2);
    t_free_all(named, 2); /* named[2] is in_list, at0[1] is chunk: freed once, below */
    mpx_value_free(&in_list);
    mpx_value_free(&chunk);
    mpx_client_close(other);
    mpx_client_close(c);
}

int main(void)
{
    char budget[32];
    snprintf(budget, sizeof budget, "%dmb", BUDGET_MIB);
    const char *extra[] = {"--max-memory", budget, "--allow-admin", NULL};
    t_manager_start(&M, NULL, extra);
    T_RUN(case_huge_requests_refused_at_once, NULL);
    T_RUN(case_full_manager_still_reads_and_deletes, NULL);
    return t_finish_with_manager(&M);
}
