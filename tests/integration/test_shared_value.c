/* test_shared_value.c - Value and Array across real processes.
 *
 * The Python documentation's shared-memory example runs through a forked child; 4 workers
 * each adding 1 two thousand times to a Value and to one Array item end at exactly 8,000;
 * 4 workers counting with a compare_and_swap spin loop lose no update; the manager's
 * errors (range, kind, index, typecode) arrive with their codes and messages; and another
 * process with its own connection attaches to both by token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/array.h"
#include "mpx/value_obj.h"

static t_manager M;

/* ---- the documentation's example ------------------------------------------------------- */

/* Python's f(n, a): n.value = 3.1415927; a[i] = -a[i] for every item. */
static void docs_child(mpx_client *c, mpx_value_obj *num, mpx_array *arr)
{
    size_t n;
    T_OK(c, mpx_value_obj_set_float(num, 3.1415927));
    T_OK(c, mpx_array_len(arr, &n));
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        T_OK(c, mpx_array_get_int(arr, (int64_t)i, &x));
        T_OK(c, mpx_array_set_int(arr, (int64_t)i, -x));
    }
}

static void case_docs_example(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_value_obj *num;
    mpx_array *arr;
    mpx_value zero = mpx_value_float(0.0), init = t_val("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
    T_OK(c, mpx_value_obj_create(c, 'd', &zero, &num));
    T_OK(c, mpx_array_create(c, 'i', &init, &arr));
    mpx_value_free(&init);

    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) { /* the proxies cross fork(); the client reconnects by itself */
        docs_child(c, num, arr);
        mpx_array_close(arr);
        mpx_value_obj_close(num);
        mpx_client_close(c);
        _exit(0);
    }
    T_EQ_INT(t_wait_pid(pid, 20000), 0);

    mpx_value v, all;
    char *text;
    T_OK(c, mpx_value_obj_get(num, &v));
    T_REPR(&v, "3.1415927");
    T_OK(c, mpx_array_getslice(arr, NULL, NULL, NULL, &all));
    T_REPR(&all, "[0, -1, -2, -3, -4, -5, -6, -7, -8, -9]");
    mpx_value_free(&all);
    T_OK(c, mpx_value_obj_repr(num, &text));
    T_EQ_STR(text, "Value('d', 3.1415927)");
    free(text);
    T_OK(c, mpx_array_repr(arr, &text));
    T_EQ_STR(text, "array('i', [0, -1, -2, -3, -4, -5, -6, -7, -8, -9])");
    free(text);
    mpx_array_close(arr);
    mpx_value_obj_close(num);
    mpx_client_close(c);
}

/* ---- atomic add -------------------------------------------------------------------------- */

#define WORKERS 4
#define ADDS 2000

static void add_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_value_obj *v;
    mpx_array *a;
    mpx_value size = mpx_value_int(8);
    T_OK(c, mpx_value_obj_open(c, "adds.value", 'q', NULL, &v));
    T_OK(c, mpx_array_open(c, "adds.array", 'i', &size, &a));
    for (int k = 0; k < ADDS; k++) {
        int64_t now;
        T_OK(c, mpx_value_obj_add_int(v, 1, &now));
        T_CHECK(now >= 1 && now <= WORKERS * ADDS);
        T_OK(c, mpx_array_add_int(a, 3, 1, NULL));
    }
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

static void case_add_is_atomic(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(WORKERS, add_worker, NULL, 60000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_value_obj *v;
    mpx_array *a;
    mpx_value size = mpx_value_int(8), all;
    int64_t total;
    T_OK(c, mpx_value_obj_open(c, "adds.value", 'q', NULL, &v));
    T_OK(c, mpx_array_open(c, "adds.array", 'i', &size, &a));
    T_OK(c, mpx_value_obj_get_int(v, &total));
    T_EQ_INT(total, WORKERS * ADDS);
    T_OK(c, mpx_array_tolist(a, &all));
    T_REPR(&all, "[0, 0, 0, 8000, 0, 0, 0, 0]");
    mpx_value_free(&all);
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

/* ---- compare_and_swap as a spin counter ----------------------------------------------------- */

#define SPINS 250
#define MAX_ATTEMPTS 200000

static void cas_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_value_obj *v;
    mpx_array *a;
    mpx_value size = mpx_value_int(2);
    T_OK(c, mpx_value_obj_open(c, "spin.value", 'i', NULL, &v));
    T_OK(c, mpx_array_open(c, "spin.array", 'd', &size, &a));
    int attempts = 0;
    for (int k = 0; k < SPINS; k++) {
        bool swapped = false;
        while (!swapped) {
            T_CHECK(++attempts <= MAX_ATTEMPTS);
            int64_t now;
            T_OK(c, mpx_value_obj_get_int(v, &now));
            mpx_value expected = mpx_value_int(now), desired = mpx_value_int(now + 1);
            T_OK(c, mpx_value_obj_compare_and_swap(v, &expected, &desired, &swapped));
        }
        swapped = false;
        while (!swapped) { /* a float item, compared with Python's == */
            T_CHECK(++attempts <= MAX_ATTEMPTS);
            double now;
            T_OK(c, mpx_array_get_float(a, 1, &now));
            mpx_value expected = mpx_value_float(now), desired = mpx_value_float(now + 0.5);
            T_OK(c, mpx_array_compare_and_swap(a, 1, &expected, &desired, &swapped));
        }
    }
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

static void case_compare_and_swap_counter(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(WORKERS, cas_worker, NULL, 60000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_value_obj *v;
    mpx_array *a;
    mpx_value size = mpx_value_int(2), all;
    int64_t total;
    T_OK(c, mpx_value_obj_open(c, "spin.value", 'i', NULL, &v));
    T_OK(c, mpx_array_open(c, "spin.array", 'd', &size, &a));
    T_OK(c, mpx_value_obj_get_int(v, &total));
    T_EQ_INT(total, WORKERS * SPINS);
    T_OK(c, mpx_array_tolist(a, &all));
    T_REPR(&all, "[0.0, 500.0]");
    mpx_value_free(&all);
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

/* ---- errors over the wire ------------------------------------------------------------------- */

static void case_errors(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_value_obj *v, *bad;
    mpx_array *a, *bad_array;
    mpx_value x, s = t_str("x"), size = mpx_value_int(3), wrong = t_val("[1, 2]");
    int64_t i;
    double d;
    char code;

    T_OK(c, mpx_value_obj_create(c, 'b', NULL, &v));
    T_OK(c, mpx_value_obj_typecode(v, &code));
    T_EQ_INT(code, 'b');
    T_RC(c, mpx_value_obj_set_int(v, 300), MPX_EOVERFLOW);
    T_ERRMSG_IS(c, "300 is out of range for typecode 'b' (-128..127)");
    T_OK(c, mpx_value_obj_set_int(v, 127));
    T_RC(c, mpx_value_obj_add_int(v, 1, &i), MPX_EOVERFLOW);
    T_ERRMSG_IS(c, "127 + 1 is out of range for typecode 'b' (-128..127)");
    T_RC(c, mpx_value_obj_set(v, &s), MPX_ETYPE);
    T_ERRMSG_IS(c, "integer argument expected, got str");
    T_RC(c, mpx_value_obj_set_float(v, 1.0), MPX_ETYPE);
    T_ERRMSG_IS(c, "integer argument expected, got float");
    T_RC(c, mpx_value_obj_add_float(v, 1.0, &d), MPX_ETYPE);
    T_OK(c, mpx_value_obj_get_int(v, &i));
    T_EQ_INT(i, 127); /* nothing changed */
    T_OK(c, mpx_value_obj_get_float(v, &d)); /* an int converts */
    T_CHECK(d == 127.0);

    T_RC(c, mpx_value_obj_create(c, 'x', NULL, &bad), MPX_EVALUE);
    T_ERRMSG_IS(c, "bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f, d or c)");
    T_CHECK(bad == NULL);
    T_RC(c, mpx_array_create(c, 'Z', &size, &bad_array), MPX_EVALUE);
    T_CHECK(bad_array == NULL);
    T_RC(c, mpx_array_create(c, 'i', &s, &bad_array), MPX_ETYPE);
    T_ERRMSG_IS(c, "size_or_initializer must be a list or tuple, not str");

    T_OK(c, mpx_array_create(c, 'd', &size, &a));
    T_RC(c, mpx_array_get(a, 3, &x), MPX_EINDEX);
    T_ERRMSG_IS(c, "array index out of range");
    T_CHECK(mpx_value_kind(&x) == MPX_NONE);
    T_RC(c, mpx_array_set_int(a, -4, 1), MPX_EINDEX);
    T_ERRMSG_IS(c, "array assignment index out of range");
    T_RC(c, mpx_array_set(a, 0, &s), MPX_ETYPE);
    T_ERRMSG_IS(c, "must be real number, not str");
    T_RC(c, mpx_array_setslice(a, NULL, NULL, NULL, &wrong), MPX_EVALUE);
    T_ERRMSG_IS(c, "Can only assign sequence of same size");
    T_OK(c, mpx_array_set_float(a, -1, 2.5));
    T_RC(c, mpx_array_get_int(a, -1, &i), MPX_ETYPE); /* no silent truncation */
    T_OK(c, mpx_array_get_float(a, 2, &d));
    T_CHECK(d == 2.5);

    /* a Value token is not an Array */
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_value_obj_token(v, token, sizeof token));
    T_RC(c, mpx_array_attach(c, token, &bad_array), MPX_ETYPE);
    mpx_value_free(&s);
    mpx_value_free(&wrong);
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

/* ---- attaching by token from another process ---------------------------------------------- */

typedef struct tokens {
    char value[MPX_TOKEN_MAX];
    char array[MPX_TOKEN_MAX];
} tokens;

/* A process of its own with its own connection: only the tokens cross. */
static void token_worker(int i, void *arg)
{
    (void)i;
    const tokens *t = arg;
    mpx_client *c = t_connect(&M, M.addresses[1]);
    mpx_value_obj *v;
    mpx_array *a;
    T_OK(c, mpx_value_obj_attach(c, t->value, &v));
    T_OK(c, mpx_array_attach(c, t->array, &a));
    mpx_value ch = t_str("é"), items = t_val("[1.5, -2]");
    T_OK(c, mpx_value_obj_set(v, &ch));
    int64_t one = 1;
    T_OK(c, mpx_array_setslice(a, &one, NULL, NULL, &items));
    mpx_value_free(&ch);
    mpx_value_free(&items);
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

static void case_attach_by_token(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[1]);
    mpx_value_obj *v;
    mpx_array *a;
    mpx_value size = mpx_value_int(3), got;
    static tokens t;
    T_OK(c, mpx_value_obj_create(c, 'u', NULL, &v));
    T_OK(c, mpx_array_create(c, 'f', &size, &a));
    T_OK(c, mpx_value_obj_token(v, t.value, sizeof t.value));
    T_OK(c, mpx_array_token(a, t.array, sizeof t.array));
    T_EQ_INT(t_fork_workers(1, token_worker, &t, 20000), 0);
    T_OK(c, mpx_value_obj_get(v, &got));
    T_REPR(&got, "'é'");
    mpx_value_free(&got);
    T_OK(c, mpx_array_tolist(a, &got));
    T_REPR(&got, "[0.0, 1.5, -2.0]");
    mpx_value_free(&got);
    char *text;
    T_OK(c, mpx_value_obj_repr(v, &text));
    T_EQ_STR(text, "Value('u', 'é')");
    free(text);
    mpx_array_close(a);
    mpx_value_obj_close(v);
    mpx_client_close(c);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    T_RUN(case_docs_example, NULL);
    t_run_case("case_add_is_atomic", case_add_is_atomic, NULL, 90000);
    t_run_case("case_compare_and_swap_counter", case_compare_and_swap_counter, NULL, 90000);
    T_RUN(case_errors, NULL);
    T_RUN(case_attach_by_token, NULL);
    return t_finish_with_manager(&M);
}
