/* test_objects.c - manager/objects.c: the lives of objects, through a real server.
 *
 * A reference stored inside another object's value (a proxy in a dict) keeps its object
 * alive until the value lets go of it; a reference to no object is refused, not stored;
 * and a long chain of objects, each kept alive by the previous one, is destroyed by a
 * loop, not by a recursion one frame per link deep. The server counts what its objects
 * hold, and past max_memory refuses the calls that grow state and no other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "server_fixture.h"
#include "server_internal.h"

static mpx_value ref_to(uint64_t id, const char *type)
{
    mpx_value v;
    assert_int_equal(mpx_value_ref(&v, id, type), MPX_OK);
    return v;
}

/* setitem(dict, key, ref) */
static uint64_t send_setitem_ref(fx_client *c, uint64_t dict, const char *key, uint64_t id,
                                 const char *type)
{
    mpx_value args[2];
    assert_int_equal(mpx_value_str(&args[0], key), MPX_OK);
    args[1] = ref_to(id, type);
    uint64_t call = fx_send_values(c, dict, "__setitem__", args, 2);
    mpx_value_free(&args[0]);
    mpx_value_free(&args[1]);
    return call;
}

static void decref(mpx_server *s, fx_client *c, uint64_t id)
{
    mpx_value arg = mpx_value_int((int64_t)id);
    fx_expect(s, c, fx_send_values(c, 0, "decref", &arg, 1), 2000, "ok None");
}

static void a_stored_reference_keeps_its_object_alive(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s);
    uint64_t lst = fx_create(s, a, "list", "([1, 2],)");
    uint64_t d = fx_create(s, a, "dict", "()");
    fx_expect(s, a, send_setitem_ref(a, d, "inner", lst, "list"), 2000, "ok None");
    decref(s, a, lst); /* the only proxy is gone: the dict holds the list */
    fx_call(s, a, lst, "__len__", "()", "ok 2");
    char copy[64];
    snprintf(copy, sizeof copy, "ok {'inner': <ref list %llu>}", (unsigned long long)lst);
    fx_call(s, a, d, "copy", "()", copy); /* a copy counts too, and gives it back */
    fx_call(s, a, d, "__delitem__", "('inner',)", "ok None");
    char gone[64];
    snprintf(gone, sizeof gone, "LookupError: no object with id %llu", (unsigned long long)lst);
    fx_call(s, a, lst, "__len__", "()", gone);
    fx_free(s, &a, 1);
}

static void a_reference_to_no_object_is_refused(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s);
    uint64_t d = fx_create(s, a, "dict", "()");
    fx_expect(s, a, send_setitem_ref(a, d, "ghost", 999999, "list"), 2000,
              "LookupError: no object with id 999999 (a reference among the arguments)");
    fx_call(s, a, d, "__len__", "()", "ok 0");
    fx_free(s, &a, 1);
}

#define CHAIN 20000
#define BATCH 100 /* CHAIN is a multiple of it */

/* Each list holds a reference to the one made before it; only the last is held by the
 * session. Giving that one back frees all CHAIN, one by one, in a loop. */
static void a_long_chain_is_destroyed_by_a_loop(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s);
    size_t before = s->objects.len;
    uint64_t *ids = malloc(CHAIN * sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < CHAIN; i += BATCH) {
        uint64_t calls[BATCH];
        for (size_t j = 0; j < BATCH; j++)
            calls[j] = fx_send(a, 0, "create", "('list',)");
        for (size_t j = 0; j < BATCH; j++) {
            char *got = fx_reply(s, a, calls[j], 2000);
            unsigned long long id;
            assert_non_null(got);
            assert_int_equal(sscanf(got, "ok <ref list %llu>", &id), 1);
            ids[i + j] = id;
            free(got);
        }
    }
    for (size_t i = 1; i < CHAIN; i += BATCH) {
        uint64_t calls[BATCH];
        size_t n = 0;
        for (size_t j = i; j < i + BATCH && j < CHAIN; j++) {
            mpx_value prev = ref_to(ids[j - 1], "list");
            calls[n++] = fx_send_values(a, ids[j], "append", &prev, 1);
            mpx_value_free(&prev);
        }
        for (size_t k = 0; k < n; k++)
            fx_expect(s, a, calls[k], 2000, "ok None");
    }
    for (size_t i = 0; i + 1 < CHAIN; i += BATCH) {
        uint64_t calls[BATCH];
        size_t n = 0;
        for (size_t j = i; j < i + BATCH && j + 1 < CHAIN; j++) {
            mpx_value id = mpx_value_int((int64_t)ids[j]);
            calls[n++] = fx_send_values(a, 0, "decref", &id, 1);
        }
        for (size_t k = 0; k < n; k++)
            fx_expect(s, a, calls[k], 2000, "ok None");
    }
    assert_int_equal(s->objects.len, before + CHAIN); /* all alive, held by the chain */
    decref(s, a, ids[CHAIN - 1]);
    assert_int_equal(s->objects.len, before);
    free(ids);
    fx_free(s, &a, 1);
}

/* objects() pages through the whole table with its cursor: every object once, none
 * twice, at most limit a page; and the admin calls are refused without the right. */
static void objects_pages_through_the_table(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.allow_admin = 1;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s);
    enum { N = 250 };
    for (int i = 0; i < N; i++)
        fx_create(s, a, "list", "()");
    size_t seen = 0, pages = 0;
    int64_t cursor = 0;
    do {
        mpx_value args[2] = {mpx_value_int(cursor), mpx_value_int(100)};
        char *got = fx_reply(s, a, fx_send_values(a, 0, "objects", args, 2), 2000);
        assert_non_null(got);
        mpx_value page;
        char err[64];
        assert_int_equal(mpx_value_parse(got + 3, &page, err, sizeof err), MPX_OK);
        free(got);
        cursor = mpx_value_get_int(mpx_value_at(&page, 0));
        size_t rows = mpx_value_len(mpx_value_at(&page, 1));
        assert_true(rows <= 100);
        seen += rows;
        pages++;
        mpx_value_free(&page);
    } while (cursor != 0 && pages < 10);
    assert_int_equal(seen, N);
    assert_int_equal(pages, 3);
    fx_free(s, &a, 1);

    s = fx_server(); /* without --allow-admin or the admin key */
    a = fx_connect(s);
    fx_call(s, a, 0, "info", "()", "AuthenticationError: admin calls need the admin key "
            "(mpx_client_admin_login, mpx --admin-key-file) or a manager started with "
            "--allow-admin");
    fx_call(s, a, 0, "admin_challenge", "()", "AuthenticationError: this manager has no "
            "admin key");
    fx_call(s, a, 0, "admin_prove", "(b'x',)", "AuthenticationError: no admin challenge to "
            "answer: call admin_challenge");
    fx_free(s, &a, 1);
}

/* The reply to a call, which must start with prefix. */
static void expect_prefix(mpx_server *s, fx_client *c, uint64_t object_id, const char *method,
                          const char *args, const char *prefix)
{
    char *got = fx_reply(s, c, fx_send(c, object_id, method, args), 2000);
    assert_non_null(got);
    if (strncmp(got, prefix, strlen(prefix)) != 0)
        fail_msg("%s%s: got \"%s\", expected \"%s...\"", method, args, got, prefix);
    free(got);
}

static void the_memory_budget_refuses_growth_only(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s);
    fx_call(s, a, 0, "ping", "()", "ok 'pong'"); /* the session's buffers, as they stay */
    size_t base = s->mem.used;
    uint64_t lst = fx_create(s, a, "list", "(['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],)");
    fx_call(s, a, lst, "__imul__", "(1000,)", "ok None");
    assert_true(s->mem.used >= base + 1000 * (sizeof(mpx_value) + 40)); /* cell and block */

    const char *oom = "MemoryError: OOM command not allowed when used memory > 'max-memory'";
    s->opts.max_memory = s->mem.used / 2; /* over it now */
    expect_prefix(s, a, lst, "append", "(1,)", oom);
    expect_prefix(s, a, lst, "__setitem__", "(0, 1)", oom);
    expect_prefix(s, a, 0, "create", "('dict',)", oom);
    expect_prefix(s, a, 0, "open", "('new', 'dict')", oom);
    fx_call(s, a, lst, "__len__", "()", "ok 1000");
    expect_prefix(s, a, lst, "pop", "()", "ok 'xxx");
    fx_call(s, a, lst, "__delitem__", "(0,)", "ok None");
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");

    s->opts.max_memory = s->mem.used + (1 << 20); /* room for 1 MiB more */
    fx_call(s, a, lst, "append", "(1,)", "ok None");
    expect_prefix(s, a, lst, "__mul__", "(100,)", "MemoryError: OOM command not allowed: it "
                  "needs about"); /* about 6 MiB, known before a byte is made */
    size_t before = s->mem.used;
    expect_prefix(s, a, 0, "create", "('Array', 'b', 4194304)", "MemoryError: OOM");
    assert_true(s->mem.used < before + 4096);
    fx_call(s, a, lst, "clear", "()", "ok None");
    assert_true(s->mem.used < base + 4096);
    s->opts.max_memory = 0;
    decref(s, a, lst);
    fx_free(s, &a, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_stored_reference_keeps_its_object_alive),
        cmocka_unit_test(a_reference_to_no_object_is_refused),
        cmocka_unit_test(a_long_chain_is_destroyed_by_a_loop),
        cmocka_unit_test(objects_pages_through_the_table),
        cmocka_unit_test(the_memory_budget_refuses_growth_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
