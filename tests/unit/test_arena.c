/* test_arena.c - util/arena.c: alignment, growth past a block, oversized requests, and
 * reuse after reset (the first block is kept, so the steady path allocates nothing). */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_alignment_and_growth(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    unsigned char *prev = NULL;
    for (int i = 0; i < 5000; i++) { /* 5000 x 24 bytes: several blocks */
        unsigned char *p = arena_alloc(&a, (size_t)(i % 3) * 8 + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
        memset(p, 0xab, (size_t)(i % 3) * 8 + 1); /* ASan: the memory is ours */
        assert_true(p != prev);
        prev = p;
    }
    unsigned char *big = arena_alloc(&a, 3 * ARENA_BLOCK);
    assert_non_null(big);
    memset(big, 1, 3 * ARENA_BLOCK);
    assert_null(arena_alloc(&a, SIZE_MAX - 4));
    arena_free(&a);
}

static void test_reset_reuses_the_first_block(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    void *first = arena_alloc(&a, 100);
    for (int round = 0; round < 100; round++) {
        arena_reset(&a);
        void *again = arena_alloc(&a, 100);
        assert_ptr_equal(again, first);
        for (int i = 0; i < 1000; i++) /* past the block; given back by the next reset */
            assert_non_null(arena_alloc(&a, 64));
    }
    /* one oversized message does not leave its block behind */
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 10 * ARENA_BLOCK));
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 1));
    arena_free(&a);
    arena_reset(&a); /* a freed arena is empty and usable */
    assert_non_null(arena_alloc(&a, 1));
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_growth),
        cmocka_unit_test(test_reset_reuses_the_first_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
