/* type_harness.h - running a manager type's methods in a unit test, without a server.
 *
 * An object is built from constructor arguments written as a Python tuple literal, and
 * each call is checked against the repr of its result or "ExceptionName: message" (names
 * from mpx_err_name). With no session a call that must wait cannot park: it answers
 * "RuntimeError: this call must wait, and cannot here". Include after <cmocka.h>.
 */
#ifndef MPX_TEST_TYPE_HARNESS_H
#define MPX_TEST_TYPE_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx/error.h"
#include "mpx/value.h"
#include "object.h"

#define CANNOT_PARK "RuntimeError: this call must wait, and cannot here"

typedef struct type_fixture {
    method_index ix;
    mpx_object obj;
} type_fixture;

static inline mpx_value th_parse(const char *text)
{
    mpx_value v;
    char err[128] = "";
    if (mpx_value_parse(text, &v, err, sizeof err) != MPX_OK)
        fail_msg("cannot parse %s: %s", text, err);
    return v;
}

/* "ok", or "ExceptionName: message"; malloc'd. */
static inline char *th_outcome(int rc, const mpx_call *c)
{
    char *out;
    if (rc == MPX_OK)
        out = strdup("ok");
    else if (asprintf(&out, "%s: %s", mpx_err_name(rc), c->errmsg) < 0)
        out = NULL;
    assert_non_null(out);
    return out;
}

/* "start:stop:step" with empty parts for None, as a slice value. */
static inline mpx_value th_parse_slice(const char *spec)
{
    int64_t part[3];
    bool has[3] = {false, false, false};
    const char *p = spec;
    for (int i = 0; i < 3 && p != NULL; i++) {
        if (*p != ':' && *p != '\0') {
            part[i] = strtoll(p, NULL, 10);
            has[i] = true;
        }
        p = strchr(p, ':');
        if (p != NULL)
            p++;
    }
    mpx_value s;
    assert_int_equal(mpx_value_slice(&s, has[0] ? &part[0] : NULL, has[1] ? &part[1] : NULL,
                                     has[2] ? &part[2] : NULL),
                     MPX_OK);
    return s;
}

/* Builds f->obj of type from ctor_args (a tuple literal); returns th_outcome. */
static inline char *th_make(type_fixture *f, const mpx_type *type, const char *ctor_args)
{
    assert_int_equal(method_index_build(&f->ix, type), MPX_OK);
    memset(&f->obj, 0, sizeof f->obj);
    f->obj.type = type;
    f->obj.methods = &f->ix;
    mpx_value args = th_parse(ctor_args);
    mpx_call c = {.args = mpx_value_items(&args), .nargs = mpx_value_len(&args)};
    char *out = th_outcome(object_init(&f->obj, &c), &c);
    mpx_value_free(&args);
    return out;
}

static inline void th_make_ok(type_fixture *f, const mpx_type *type, const char *ctor_args)
{
    char *got = th_make(f, type, ctor_args);
    assert_string_equal(got, "ok");
    free(got);
}

/* The constructor must fail with want; the half-made object is cleared. */
static inline void th_make_fails(const mpx_type *type, const char *ctor_args,
                                 const char *want)
{
    type_fixture f;
    char *got = th_make(&f, type, ctor_args);
    assert_string_equal(got, want);
    free(got);
    object_clear(&f.obj);
}

/* Calls method with the arguments in a (a tuple value, consumed); checks repr(result), or
 * the error (and that a failed call left no result). */
static inline void th_check_args(type_fixture *f, const char *method, mpx_value a,
                                 const char *want)
{
    mpx_call c = {.args = mpx_value_items(&a), .nargs = mpx_value_len(&a)};
    int rc = object_invoke(&f->obj, method, &c);
    char *got;
    if (rc == MPX_OK) {
        got = mpx_value_repr(&c.result);
        assert_non_null(got);
    } else {
        assert_int_equal(mpx_value_kind(&c.result), MPX_NONE);
        got = th_outcome(rc, &c);
    }
    if (strcmp(got, want) != 0) {
        char *args = mpx_value_repr(&a);
        fail_msg("%s.%s%s: got %s, want %s", f->obj.type->name, method, args, got, want);
    }
    free(got);
    mpx_value_free(&c.result);
    mpx_value_free(&a);
}

/* th_check_args with args given as a tuple literal. */
static inline void th_check(type_fixture *f, const char *method, const char *args,
                            const char *want)
{
    th_check_args(f, method, th_parse(args), want);
}

#endif
