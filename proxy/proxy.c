/* proxy.c - the proxy base: one reference to one shared object, and its calls.
 *
 * Every constructor ends with this session holding one reference (create and open take
 * it on the manager; attach and from_ref take it with incref), and close gives it back,
 * so the manager can free an anonymous object once no proxy anywhere holds it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_internal.h"

/* Wraps the reference *ref (this session already holds it) in a new proxy of size bytes. */
static int proxy_wrap(mpx_client *c, const mpx_value *ref, const char *type, size_t size,
                      mpx_proxy **out)
{
    *out = NULL;
    if (mpx_value_kind(ref) != MPX_REF)
        return client_fail(c, MPX_EPROTO, "the manager did not return a reference");
    const char *actual = mpx_value_ref_type(ref);
    if (type != NULL && strcmp(actual, type) != 0) {
        mpx_client_decref(c, mpx_value_ref_id(ref));
        return client_fail(c, MPX_ETYPE, "object %" PRIu64 " is a %s, not a %s",
                           mpx_value_ref_id(ref), actual, type);
    }
    mpx_proxy *p = calloc(1, size < sizeof *p ? sizeof *p : size);
    if (p == NULL) {
        mpx_client_decref(c, mpx_value_ref_id(ref));
        return client_fail(c, MPX_ENOMEM, "out of memory");
    }
    p->client = c;
    p->id = mpx_value_ref_id(ref);
    snprintf(p->type, sizeof p->type, "%s", actual);
    client_track_proxy(c, p);
    *out = p;
    return MPX_OK;
}

int proxy_open_as(mpx_client *c, const char *type, const char *name, const mpx_value *args,
                  size_t nargs, size_t size, mpx_proxy **out)
{
    mpx_value ref;
    *out = NULL;
    int rc = mpx_client_open(c, name, type, args, nargs, &ref);
    if (rc == MPX_OK)
        rc = proxy_wrap(c, &ref, type, size, out);
    mpx_value_free(&ref);
    return rc;
}

int proxy_create_as(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                    size_t size, mpx_proxy **out)
{
    mpx_value ref;
    *out = NULL;
    int rc = mpx_client_create(c, type, args, nargs, &ref);
    if (rc == MPX_OK)
        rc = proxy_wrap(c, &ref, type, size, out);
    mpx_value_free(&ref);
    return rc;
}

int proxy_from_ref_as(mpx_client *c, const mpx_value *ref, const char *type, size_t size,
                      mpx_proxy **out)
{
    *out = NULL;
    if (ref == NULL || mpx_value_kind(ref) != MPX_REF)
        return client_fail(c, MPX_ETYPE, "not an object reference");
    char *actual;
    int rc = mpx_client_incref(c, mpx_value_ref_id(ref), &actual);
    if (rc != MPX_OK)
        return rc;
    mpx_value held;
    rc = mpx_value_ref(&held, mpx_value_ref_id(ref), actual);
    free(actual);
    if (rc != MPX_OK) {
        mpx_client_decref(c, mpx_value_ref_id(ref));
        return client_fail(c, rc, "out of memory");
    }
    rc = proxy_wrap(c, &held, type, size, out);
    mpx_value_free(&held);
    return rc;
}

int proxy_accept_either(mpx_client *c, int rc, mpx_proxy **p, const char *type_a,
                        const char *type_b, const char *what)
{
    if (rc != MPX_OK || strcmp((*p)->type, type_a) == 0 || strcmp((*p)->type, type_b) == 0)
        return rc;
    char type[PROXY_TYPE_MAX];
    snprintf(type, sizeof type, "%s", (*p)->type);
    mpx_proxy_close(*p); /* a call: it clears the client's last error */
    *p = NULL;
    return client_fail(c, MPX_ETYPE, "a %s is not a %s", type, what);
}

/* Token: ADDRESS "#" TYPE "/" ID, e.g. "tcp://10.0.0.5:5000#dict/17". */
static int token_parse(const char *token, char *type, size_t typelen, uint64_t *id)
{
    const char *hash = token ? strrchr(token, '#') : NULL;
    const char *slash = hash ? strchr(hash, '/') : NULL;
    if (slash == NULL || (size_t)(slash - hash - 1) >= typelen || slash == hash + 1)
        return MPX_EINVAL;
    memcpy(type, hash + 1, (size_t)(slash - hash - 1));
    type[slash - hash - 1] = '\0';
    char *end;
    unsigned long long v = strtoull(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || v == 0)
        return MPX_EINVAL;
    *id = v;
    return MPX_OK;
}

int proxy_attach_as(mpx_client *c, const char *token, const char *type, size_t size,
                    mpx_proxy **out)
{
    char token_type[PROXY_TYPE_MAX];
    uint64_t id;
    *out = NULL;
    if (token_parse(token, token_type, sizeof token_type, &id) != MPX_OK)
        return client_fail(c, MPX_EINVAL, "'%s' is not a proxy token", token ? token : "");
    if (type != NULL && strcmp(type, token_type) != 0)
        return client_fail(c, MPX_ETYPE, "token names a %s, not a %s", token_type, type);
    mpx_value ref;
    int rc = mpx_value_ref(&ref, id, token_type);
    if (rc != MPX_OK)
        return client_fail(c, rc, "out of memory");
    rc = proxy_from_ref_as(c, &ref, type, size, out);
    mpx_value_free(&ref);
    return rc;
}

int mpx_proxy_open(mpx_client *c, const char *type, const char *name, const mpx_value *args,
                   size_t nargs, mpx_proxy **out)
{
    return proxy_open_as(c, type, name, args, nargs, sizeof(mpx_proxy), out);
}

int mpx_proxy_create(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                     mpx_proxy **out)
{
    return proxy_create_as(c, type, args, nargs, sizeof(mpx_proxy), out);
}

int mpx_proxy_attach(mpx_client *c, const char *token, const char *expect_type,
                     mpx_proxy **out)
{
    return proxy_attach_as(c, token, expect_type, sizeof(mpx_proxy), out);
}

int mpx_proxy_from_ref(mpx_client *c, const mpx_value *ref, mpx_proxy **out)
{
    return proxy_from_ref_as(c, ref, NULL, sizeof(mpx_proxy), out);
}

void mpx_proxy_close(mpx_proxy *p)
{
    if (p == NULL)
        return;
    if (p->client != NULL) {
        /* best effort: a lost connection has released the reference already */
        mpx_client_decref(p->client, p->id);
        client_untrack_proxy(p->client, p);
    }
    free(p);
}

/* The one place that decides how a call's reply is waited for: a method whose row says it
 * may wait is waited for as long as the manager takes (it answers at the call's own
 * timeout), any other for the client's call timeout. */
int mpx_proxy_call_timeout(mpx_proxy *p, const char *method, const mpx_value *args,
                           size_t nargs, double timeout, mpx_value *result)
{
    *result = mpx_value_none();
    if (p->client == NULL)
        return MPX_ECLOSED; /* its client was closed first */
    bool may_wait;
    int rc = client_method_may_wait(p->client, p->type, method, &may_wait);
    if (rc != MPX_OK)
        return rc;
    if (may_wait)
        return mpx_client_call_wait(p->client, p->id, method, args, nargs, timeout, result);
    return mpx_client_call(p->client, p->id, method, args, nargs, timeout, result);
}

int mpx_proxy_call(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                   mpx_value *result)
{
    return mpx_proxy_call_timeout(p, method, args, nargs, -1, result);
}

int mpx_proxy_append(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                     double timeout, uint64_t *call_id)
{
    if (p->client == NULL)
        return MPX_ECLOSED; /* its client was closed first */
    return mpx_client_append(p->client, p->id, method, args, nargs, timeout, call_id);
}

int proxy_call_expect(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                      mpx_kind kind, mpx_value *out)
{
    int rc = mpx_proxy_call(p, method, args, nargs, out);
    if (rc != MPX_OK || mpx_value_kind(out) == kind)
        return rc;
    mpx_kind got = mpx_value_kind(out);
    mpx_value_free(out);
    return client_fail(p->client, MPX_EPROTO, "%s.%s returned %s, expected %s", p->type,
                       method, mpx_kind_name(got), mpx_kind_name(kind));
}

int proxy_call_bool(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                    bool *out)
{
    mpx_value v;
    int rc = proxy_call_expect(p, method, args, nargs, MPX_BOOL, &v);
    if (rc == MPX_OK)
        *out = mpx_value_get_bool(&v);
    return rc;
}

int proxy_call_int(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                   int64_t *out)
{
    mpx_value v;
    int rc = proxy_call_expect(p, method, args, nargs, MPX_INT, &v);
    if (rc == MPX_OK)
        *out = mpx_value_get_int(&v);
    return rc;
}

int proxy_call_len(mpx_proxy *p, const char *method, size_t *out)
{
    int64_t n;
    int rc = proxy_call_int(p, method, NULL, 0, &n);
    if (rc != MPX_OK)
        return rc;
    if (n < 0)
        return client_fail(p->client, MPX_EPROTO, "%s.%s returned %lld", p->type, method,
                           (long long)n);
    *out = (size_t)n;
    return MPX_OK;
}

int proxy_call_timeout_void(mpx_proxy *p, const char *method, const mpx_value *args,
                            size_t nargs, double timeout)
{
    mpx_value out;
    int rc = mpx_proxy_call_timeout(p, method, args, nargs, timeout, &out);
    mpx_value_free(&out);
    return rc;
}

size_t proxy_block_args(double timeout, mpx_value args[2])
{
    args[0] = mpx_value_bool(timeout != 0);
    if (timeout <= 0)
        return 1;
    args[1] = mpx_value_float(timeout);
    return 2;
}

int proxy_call_void(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs)
{
    mpx_value result;
    int rc = mpx_proxy_call(p, method, args, nargs, &result);
    mpx_value_free(&result);
    return rc;
}

int proxy_call_repr(mpx_proxy *p, char **out)
{
    mpx_value text;
    *out = NULL;
    int rc = proxy_call_expect(p, "__repr__", NULL, 0, MPX_STR, &text);
    if (rc != MPX_OK)
        return rc;
    *out = strdup(mpx_value_str_data(&text));
    mpx_value_free(&text);
    return *out != NULL ? MPX_OK : client_fail(p->client, MPX_ENOMEM, "out of memory");
}

int mpx_proxy_token(const mpx_proxy *p, char *buf, size_t size)
{
    const char *address = p->client ? mpx_client_address(p->client) : "";
    int n = snprintf(buf, size, "%s#%s/%" PRIu64, address, p->type, p->id);
    return n < 0 || (size_t)n >= size ? MPX_EINVAL : MPX_OK;
}

int mpx_token_address(const char *token, char *buf, size_t size)
{
    const char *hash = token ? strrchr(token, '#') : NULL;
    if (hash == NULL || (size_t)(hash - token) >= size)
        return MPX_EINVAL;
    memcpy(buf, token, (size_t)(hash - token));
    buf[hash - token] = '\0';
    return MPX_OK;
}

uint64_t mpx_proxy_id(const mpx_proxy *p)
{
    return p->id;
}

const char *mpx_proxy_type(const mpx_proxy *p)
{
    return p->type;
}

mpx_client *mpx_proxy_client(const mpx_proxy *p)
{
    return p->client;
}
