/* test_u64map.c - manager/u64map.c against a plain array model, through growth and
 * backward-shift deletions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mpx/error.h"
#include "u64map.h"

static void test_put_get_del(void **state)
{
    (void)state;
    u64map m;
    u64map_init(&m);
    assert_null(u64map_get(&m, 5));
    assert_null(u64map_del(&m, 5));
    assert_int_equal(u64map_put(&m, 5, (void *)50), MPX_OK);
    assert_int_equal(u64map_put(&m, 5, (void *)51), MPX_OK);
    assert_int_equal(m.len, 1);
    assert_ptr_equal(u64map_get(&m, 5), (void *)51);
    assert_ptr_equal(u64map_del(&m, 5), (void *)51);
    assert_int_equal(m.len, 0);
    u64map_free(&m);
}

/* Random inserts and deletes checked against a model array, so every probe run that a
 * deletion shifts is looked up again. */
static void test_against_model(void **state)
{
    (void)state;
    enum { N = 20000 };
    static uintptr_t model[N + 1];
    u64map m;
    u64map_init(&m);
    srand(7);
    for (int round = 0; round < 200000; round++) {
        uint64_t key = 1 + (uint64_t)(rand() % N);
        if (rand() % 3 == 0) {
            assert_ptr_equal(u64map_del(&m, key), (void *)model[key]);
            model[key] = 0;
        } else {
            model[key] = (uintptr_t)round + 1;
            assert_int_equal(u64map_put(&m, key, (void *)model[key]), MPX_OK);
        }
    }
    size_t live = 0;
    for (uint64_t k = 1; k <= N; k++) {
        assert_ptr_equal(u64map_get(&m, k), (void *)model[k]);
        live += model[k] != 0;
    }
    assert_int_equal(m.len, live);
    size_t pos = 0, seen = 0;
    uint64_t key;
    void *val;
    while (u64map_next(&m, &pos, &key, &val)) {
        assert_ptr_equal(val, (void *)model[key]);
        seen++;
    }
    assert_int_equal(seen, live);
    u64map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
        cmocka_unit_test(test_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
