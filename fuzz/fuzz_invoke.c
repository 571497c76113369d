/* fuzz_invoke.c - every creatable type's handlers, through object_init and object_invoke,
 * on one object, without a server (c->srv and c->sess NULL, as tests/unit/type_harness.h).
 *
 * Input: byte 0 picks the type (of the list below, which is manager/objects.c's
 * creatable_types); the rest is records, each a 2-byte big-endian length and that many
 * bytes of a protobuf Request (codec.h; a record cut by the end of the input is what is
 * left). The first record's args build the object (object_init); every later one is a
 * call (object_invoke) with its method, args and timeout. A nonzero object_id picks the
 * type's method number (object_id - 1) mod n instead of the record's name, so a fuzzer
 * reaches every method without spelling it; an id of 0 keeps the name, known or not.
 *
 * Parking: without a session mpx_call_park refuses to park (RuntimeError "this call must
 * wait, and cannot here", wait.c), so methods with MPX_METHOD_MAY_WAIT run too and answer at
 * once what does not wait, and MPX_PARKED can never come back: it aborts here. What a
 * parked call does later (re-runs, timers, wakeups) needs a loop and sessions, and is
 * left to tests/unit/test_wait.c and the integration tests.
 *
 * Checked after every call: an error carries a message and no result; a result is a value
 * the reply codec encodes and decodes to the same value (or refuses as nested too deep,
 * as the session then answers ValueError). A result that must be delivered (mpx_undelivered_fn)
 * is handed back to the type on every other call, as when its session ends before the
 * reply is written. One bound keeps runs fast, not correct: an Array built from a length
 * over ARRAY_FUZZ_MAX is not made (the manager allows 1 GiB; tolist of that is slow).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_common.h"
#include "mpx/error.h"
#include "object.h"
#include "sync.h"
#include "typecode.h"

#define ARRAY_FUZZ_MAX 4096
#define MAX_CALLS 64

static const mpx_type *const types[] = {
    &type_dict, &type_list, &type_namespace, &type_lock, &type_rlock, &type_condition,
    &type_semaphore, &type_bounded_semaphore, &type_event, &type_barrier,
    &type_queue, &type_joinable_queue, &type_task_pool,
    &type_value, &type_array,
};
#define NTYPES (sizeof types / sizeof types[0])

static method_index indexes[NTYPES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < NTYPES; i++)
        if (method_index_build(&indexes[i], types[i]) != MPX_OK)
            abort();
    return 0;
}

/* The next record of [*p, end) as a request; false at the end or for bytes that do not
 * decode (the rest of the input is then ignored). */
static bool next_request(const uint8_t **p, const uint8_t *end, mpx_request *req)
{
    if (end - *p < 2)
        return false;
    size_t n = (size_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    if (n > (size_t)(end - *p))
        n = (size_t)(end - *p);
    char err[160];
    int rc = codec_request_decode(*p, n, req, err, sizeof err);
    *p += n;
    return rc == MPX_OK;
}

static bool too_big_array(const mpx_type *t, const mpx_request *req)
{
    return t == &type_array && req->nargs == 2 && mpx_value_kind(&req->args[1]) == MPX_INT &&
           mpx_value_get_int(&req->args[1]) > ARRAY_FUZZ_MAX;
}

/* What a session would send back for this result: the same value, or a refusal. */
static void check_reply(const mpx_call *c)
{
    uint8_t *buf;
    size_t len;
    int rc = codec_reply_encode(c->call_id, MPX_OK, "", &c->result, &buf, &len);
    FUZZ_CHECK(rc == MPX_OK || rc == MPX_EVALUE);
    if (rc != MPX_OK)
        return;
    mpx_reply rep;
    char err[160];
    FUZZ_CHECK(codec_reply_decode(buf, len, &rep, err, sizeof err) == MPX_OK);
    FUZZ_CHECK(fuzz_same_value(&rep.value, &c->result));
    codec_reply_clear(&rep);
    free(buf);
}

static void check_outcome(int rc, const mpx_call *c)
{
    FUZZ_CHECK(rc != MPX_PARKED); /* no session: nothing can park */
    FUZZ_CHECK(rc <= 0 && rc > -MPX_ERR_COUNT_);
    if (rc != MPX_OK) {
        FUZZ_CHECK(c->errmsg[0] != '\0');
        FUZZ_CHECK(mpx_value_kind(&c->result) == MPX_NONE);
    }
}

static void invoke(mpx_object *obj, mpx_request *req, size_t n)
{
    const char *method = req->method;
    if (req->object_id != 0)
        method = obj->type->methods[(req->object_id - 1) % obj->type->nmethods].name;
    mpx_call c = {.call_id = n, .args = req->args, .nargs = req->nargs,
              .has_timeout = req->has_timeout, .timeout = req->timeout};
    int rc = object_invoke(obj, method, &c);
    check_outcome(rc, &c);
    if (rc == MPX_OK)
        check_reply(&c);
    if (rc == MPX_OK && c.undelivered != NULL && n % 2 == 1)
        c.undelivered(obj, &c.result);
    mpx_value_free(&c.result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t t = data[0] % NTYPES;
    const uint8_t *p = data + 1, *end = data + size;
    mpx_request req;
    if (!next_request(&p, end, &req))
        return 0;
    if (too_big_array(types[t], &req)) {
        codec_request_clear(&req);
        return 0;
    }
    mpx_object obj = {.id = 1, .type = types[t], .methods = &indexes[t], .refs = 1};
    mpx_call ctor = {.args = req.args, .nargs = req.nargs};
    int rc = object_init(&obj, &ctor);
    check_outcome(rc, &ctor);
    mpx_value_free(&ctor.result);
    codec_request_clear(&req);
    for (size_t n = 1; rc == MPX_OK && n <= MAX_CALLS && next_request(&p, end, &req); n++) {
        invoke(&obj, &req, n);
        codec_request_clear(&req);
    }
    object_clear(&obj);
    return 0;
}
