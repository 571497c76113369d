/* test_mem.c - util/mem.c: a scope counts what is allocated in it and gives back what is
 * freed, realloc moves the count, scopes nest and stay per thread, and values built and
 * freed in a scope (protocol/value*.c) bring its counter back to zero. */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "mpx/error.h"
#include "mpx/value.h"

static void test_counts_usable_sizes(void **state)
{
    (void)state;
    mem_counter c = {0};
    mem_counter *prev = mem_scope_enter(&c);
    char *a = mem_alloc(100);
    assert_non_null(a);
    assert_int_equal(c.used, malloc_usable_size(a));
    assert_true(c.used >= 100);
    int *z = mem_calloc(10, sizeof *z);
    assert_int_equal(z[9], 0);
    a = mem_realloc(a, 5000);
    assert_non_null(a);
    assert_int_equal(c.used, malloc_usable_size(z) + malloc_usable_size(a));
    char *s = mem_strdup("hello");
    assert_string_equal(s, "hello");
    mem_free(a);
    mem_free(z);
    mem_free(s);
    mem_free(NULL);
    assert_int_equal(c.used, 0);
    assert_true(c.peak >= 5000);
    mem_scope_leave(prev);
}

static void test_no_scope_counts_nothing(void **state)
{
    (void)state;
    mem_counter c = {0};
    mem_counter *prev = mem_scope_enter(&c);
    mem_counter *outer = mem_scope_enter(NULL); /* a client: no scope */
    void *p = mem_alloc(64);
    p = mem_realloc(p, 128);
    mem_free(p);
    mem_scope_leave(outer);
    assert_int_equal(c.used, 0);
    assert_int_equal(c.peak, 0);
    mem_scope_leave(prev);
}

static void test_scopes_nest(void **state)
{
    (void)state;
    mem_counter a = {0}, b = {0};
    mem_counter *prev = mem_scope_enter(&a);
    void *pa = mem_alloc(32);
    mem_counter *back = mem_scope_enter(&b);
    assert_ptr_equal(back, &a);
    void *pb = mem_alloc(4096);
    assert_true(b.used >= 4096);
    mem_free(pb);
    mem_scope_leave(back);
    assert_int_equal(b.used, 0);
    assert_true(a.used >= 32 && a.used < 4096);
    mem_free(pa);
    assert_int_equal(a.used, 0);
    mem_scope_leave(prev);
}

static void *other_thread(void *arg)
{
    void *p = mem_alloc(1 << 16); /* no scope on this thread */
    mem_free(p);
    return arg;
}

static void test_scope_is_per_thread(void **state)
{
    (void)state;
    mem_counter c = {0};
    mem_counter *prev = mem_scope_enter(&c);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_int_equal(c.peak, 0);
    mem_scope_leave(prev);
}

/* What a manager's values cost is counted, and comes back when they are freed. */
static void test_values_are_counted(void **state)
{
    (void)state;
    mem_counter c = {0};
    mem_counter *prev = mem_scope_enter(&c);
    mpx_value list, d;
    assert_int_equal(mpx_value_list(&list, 0), MPX_OK);
    for (int i = 0; i < 1000; i++) {
        mpx_value s;
        assert_int_equal(mpx_value_str(&s, "x"), MPX_OK);
        assert_int_equal(mpx_value_append(&list, &s), MPX_OK);
    }
    /* 1000 one-character strs and their cells: at least 16 + the chunk of 6 bytes each */
    assert_true(c.used >= 1000 * (sizeof(mpx_value) + 6));
    size_t with_list = c.used;
    assert_int_equal(mpx_value_dict(&d), MPX_OK);
    for (int i = 0; i < 1000; i++) {
        mpx_value k = mpx_value_int(i), v;
        assert_int_equal(mpx_value_copy(&v, &list), MPX_OK);
        assert_int_equal(mpx_value_dict_set(&d, &k, &v), MPX_OK);
        if (i % 2) {
            k = mpx_value_int(i); /* the first one was taken */
            assert_int_equal(mpx_value_dict_pop(&d, &k, NULL, NULL), MPX_OK);
        }
    }
    assert_true(c.used > 400 * with_list); /* 500 copies, each without spare room */
    mpx_value_free(&d);
    assert_int_equal(c.used, with_list);
    mpx_value_resize(&list, 10); /* shrinks the block */
    assert_true(c.used < with_list);
    mpx_value_free(&list);
    assert_int_equal(c.used, 0);
    mem_scope_leave(prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_usable_sizes),
        cmocka_unit_test(test_no_scope_counts_nothing),
        cmocka_unit_test(test_scopes_nest),
        cmocka_unit_test(test_scope_is_per_thread),
        cmocka_unit_test(test_values_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
