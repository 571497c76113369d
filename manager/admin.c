/* admin.c - object 0's admin calls (see admin.h): the objects, a repr, a name deleted,
 * the server's figures (Redis's INFO), and a shutdown.
 *
 * Every answer is bounded: objects() pages through the table with a cursor (Redis's
 * SCAN: an object that exists for the whole scan is listed, one made or destroyed during
 * it may or may not be), at most ADMIN_PAGE_MAX rows a call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "auth.h"
#include "server_internal.h"

#define ADMIN_PAGE_DEFAULT 1000
#define ADMIN_PAGE_MAX 100000

int admin_place_counts(mpx_server *s, method_index *ix)
{
    size_t n = s->ncall_counts + ix->type->nmethods;
    uint64_t *grown = realloc(s->call_counts, (n > 0 ? n : 1) * sizeof *grown);
    if (grown == NULL)
        return MPX_ENOMEM;
    memset(grown + s->ncall_counts, 0, ix->type->nmethods * sizeof *grown);
    ix->counts_at = (uint32_t)s->ncall_counts;
    s->call_counts = grown;
    s->ncall_counts = n;
    return MPX_OK;
}

void admin_count_call(mpx_server *s, const method_index *ix, const mpx_method *m)
{
    size_t at = ix->counts_at + (size_t)(m - ix->type->methods);
    if (at < s->ncall_counts) /* an index the server did not place counts nothing */
        s->call_counts[at]++;
}

void admin_free(mpx_server *s)
{
    free(s->call_counts);
    s->call_counts = NULL;
    s->ncall_counts = 0;
}

/* ---- who may ----------------------------------------------------------------------------- */

static int allowed(mpx_call *c)
{
    if (c->srv->opts.allow_admin || (c->sess != NULL && session_admin(c->sess)))
        return MPX_OK;
    return mpx_call_fail(c, MPX_EAUTH, "admin calls need the admin key (mpx_client_admin_login, "
                         "mpx --admin-key-file) or a manager started with --allow-admin");
}

/* admin_challenge() -> bytes: a fresh challenge for this session, answered by
 * admin_prove(HMAC of it with the admin key, as the handshake's). */
int admin_challenge(mpx_call *c)
{
    if (c->sess == NULL || c->srv->opts.admin_key == NULL)
        return mpx_call_fail(c, MPX_EAUTH, "this manager has no admin key");
    uint8_t challenge[AUTH_CHALLENGE_MAX];
    size_t len;
    if (auth_challenge_make(challenge, &len) != MPX_OK)
        return mpx_call_fail(c, MPX_EIO, "no randomness for a challenge");
    session_set_admin_challenge(c->sess, challenge, len);
    return mpx_value_bytes(&c->result, challenge, len) == MPX_OK
               ? MPX_OK
               : mpx_call_fail(c, MPX_ENOMEM, "out of memory");
}

/* admin_prove(response): this session makes admin calls from now on, if response is the
 * admin key's answer to its last challenge. A challenge answers once, right or wrong. */
int admin_prove(mpx_call *c)
{
    int rc = mpx_call_expect_kind(c, 0, MPX_BYTES, "response");
    if (rc != MPX_OK)
        return rc;
    const uint8_t *challenge;
    size_t len;
    if (c->sess == NULL || !session_take_admin_challenge(c->sess, &challenge, &len))
        return mpx_call_fail(c, MPX_EAUTH, "no admin challenge to answer: call admin_challenge");
    char err[128];
    const mpx_value *r = &c->args[0];
    if (auth_response_verify(c->srv->opts.admin_key, c->srv->opts.admin_keylen, challenge,
                             len, (const uint8_t *)mpx_value_str_data(r), mpx_value_str_len(r),
                             err, sizeof err) != MPX_OK) {
        mpx_server_log(c->srv, MPX_LOG_WARN, "event=admin-refused session=%llu reason=\"%s\"",
                       (unsigned long long)session_id(c->sess), err);
        return mpx_call_fail(c, MPX_EAUTH, "wrong admin key");
    }
    session_set_admin(c->sess);
    mpx_server_log(c->srv, MPX_LOG_INFO, "event=admin session=%llu",
                   (unsigned long long)session_id(c->sess));
    return MPX_OK;
}

/* ---- the objects ------------------------------------------------------------------------- */

/* An object's size, where its type has one: len() or qsize(); None otherwise. */
static mpx_value object_size(mpx_server *s, mpx_object *obj)
{
    static const char *const sizers[] = {"__len__", "qsize"};
    for (size_t i = 0; i < 2; i++) {
        if (method_index_find(obj->methods, sizers[i], strlen(sizers[i])) == NULL)
            continue;
        mpx_call c = {.srv = s};
        if (object_invoke(obj, sizers[i], &c) == MPX_OK && mpx_value_kind(&c.result) == MPX_INT)
            return c.result;
        mpx_value_free(&c.result);
    }
    return mpx_value_none();
}

/* (id, type, name or None, refs, size or None) */
static int object_row(mpx_server *s, mpx_object *obj, mpx_value *out)
{
    mpx_value type, name = mpx_value_none();
    if (mpx_value_tuple(out, 5) != MPX_OK)
        return MPX_ENOMEM;
    if (mpx_value_str(&type, obj->type->name) != MPX_OK ||
        (obj->name != NULL && mpx_value_str(&name, obj->name) != MPX_OK)) {
        mpx_value_free(&type);
        mpx_value_free(out);
        return MPX_ENOMEM;
    }
    mpx_value fields[5] = {mpx_value_int((int64_t)obj->id), type, name,
                           mpx_value_int(obj->refs), object_size(s, obj)};
    for (size_t i = 0; i < 5; i++)
        mpx_value_append(out, &fields[i]); /* within the capacity asked for */
    return MPX_OK;
}

/* objects(cursor=0, limit=1000) -> (next cursor, [(id, type, name, refs, size), ...]);
 * the next cursor is 0 when the scan is over. */
int admin_objects(mpx_call *c)
{
    int64_t cursor = 0, limit = ADMIN_PAGE_DEFAULT;
    int rc = allowed(c);
    if (rc == MPX_OK && c->nargs > 0 && (rc = mpx_call_expect_kind(c, 0, MPX_INT, "cursor")) == 0)
        cursor = mpx_value_get_int(&c->args[0]);
    if (rc == MPX_OK && cursor < 0)
        rc = mpx_call_fail(c, MPX_EVALUE, "cursor must be >= 0");
    if (rc == MPX_OK)
        rc = mpx_call_count_arg(c, 1, "limit", ADMIN_PAGE_DEFAULT, &limit);
    if (rc == MPX_OK && limit > ADMIN_PAGE_MAX)
        limit = ADMIN_PAGE_MAX;
    if (rc != MPX_OK)
        return rc;
    mpx_value rows, next;
    if (mpx_value_list(&rows, 0) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    size_t pos = (size_t)cursor;
    uint64_t id;
    void *obj;
    bool more = true;
    while (mpx_value_len(&rows) < (size_t)limit &&
           (more = u64map_next(&c->srv->objects, &pos, &id, &obj))) {
        mpx_value row;
        if (object_row(c->srv, obj, &row) != MPX_OK || mpx_value_append(&rows, &row) != 0) {
            mpx_value_free(&rows);
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        }
    }
    if (more) /* full page: is anything left after it? */
        more = pos < c->srv->objects.cap;
    next = mpx_value_int(more ? (int64_t)pos : 0);
    if (mpx_value_tuple(&c->result, 2) != MPX_OK) {
        mpx_value_free(&rows);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    mpx_value_append(&c->result, &next);
    mpx_value_append(&c->result, &rows);
    return MPX_OK;
}

/* The object a name (str) or an id (int) stands for. */
static int object_arg(mpx_call *c, mpx_object **out)
{
    const mpx_value *v = &c->args[0];
    *out = NULL;
    if (mpx_value_kind(v) == MPX_INT) {
        int64_t id = mpx_value_get_int(v);
        *out = id > 0 ? objects_find(c->srv, (uint64_t)id) : NULL;
        return *out != NULL ? MPX_OK
                            : mpx_call_fail(c, MPX_ENOOBJECT, "no object with id %lld",
                                            (long long)id);
    }
    mpx_value *found;
    int rc = mpx_call_expect_kind(c, 0, MPX_STR, "name");
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_dict_find(&c->srv->registry, v, &found) != MPX_OK)
        return mpx_call_fail_repr(c, MPX_EKEY, v);
    *out = objects_find(c->srv, (uint64_t)mpx_value_get_int(found));
    return MPX_OK;
}

/* lookup(name) -> (id, type): what a name stands for, made by nobody on the way. */
int admin_lookup(mpx_call *c)
{
    mpx_object *obj;
    int rc = allowed(c);
    if (rc == MPX_OK)
        rc = object_arg(c, &obj);
    if (rc != MPX_OK)
        return rc;
    mpx_value type, id = mpx_value_int((int64_t)obj->id);
    if (mpx_value_tuple(&c->result, 2) != MPX_OK || mpx_value_str(&type, obj->type->name) != 0)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    mpx_value_append(&c->result, &id);
    mpx_value_append(&c->result, &type);
    return MPX_OK;
}

/* repr(name or id) -> str */
int admin_repr(mpx_call *c)
{
    mpx_object *obj;
    int rc = allowed(c);
    if (rc == MPX_OK)
        rc = object_arg(c, &obj);
    if (rc != MPX_OK)
        return rc;
    char *text = objects_repr(c->srv, obj);
    rc = text != NULL ? mpx_value_str(&c->result, text) : MPX_ENOMEM;
    free(text);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail(c, MPX_ENOMEM, "out of memory");
}

/* delete(name) -> bool: the name is gone (False: there was none). The object lives on
 * while a proxy holds it, as a Redis key's value does for whoever read it. */
int admin_delete(mpx_call *c)
{
    int rc = allowed(c);
    if (rc == MPX_OK)
        rc = mpx_call_expect_kind(c, 0, MPX_STR, "name");
    if (rc != MPX_OK)
        return rc;
    mpx_value key, id;
    if (mpx_value_dict_pop(&c->srv->registry, &c->args[0], &key, &id) != MPX_OK) {
        c->result = mpx_value_bool(false);
        return MPX_OK;
    }
    mpx_object *obj = objects_find(c->srv, (uint64_t)mpx_value_get_int(&id));
    mpx_server_log(c->srv, MPX_LOG_INFO, "event=delete name=%s object=%llu",
                   mpx_value_str_data(&key), (unsigned long long)mpx_value_get_int(&id));
    mpx_value_free(&key);
    if (obj != NULL) {
        mem_free(obj->name);
        obj->name = NULL;
        objects_release(c->srv, obj, 1); /* the registry's reference */
    }
    c->result = mpx_value_bool(true);
    return MPX_OK;
}

/* ---- the figures ------------------------------------------------------------------------- */

static int64_t resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%ld %ld", &pages, &resident);
    fclose(f);
    return n == 2 ? (int64_t)resident * sysconf(_SC_PAGESIZE) : -1;
}

static int put_field(mpx_value *dict, const char *name, mpx_value *v)
{
    mpx_value key;
    if (mpx_value_str(&key, name) != MPX_OK)
        return MPX_ENOMEM;
    int rc = mpx_value_dict_set(dict, &key, v);
    if (rc != MPX_OK) {
        mpx_value_free(&key);
        mpx_value_free(v);
    }
    return rc;
}

static int put_int(mpx_value *dict, const char *name, int64_t n)
{
    mpx_value v = mpx_value_int(n);
    return put_field(dict, name, &v);
}

/* Adds "Type.method": calls for each called method of ix to out, and to *total. */
static int index_figures(mpx_server *s, const method_index *ix, mpx_value *out, int64_t *total)
{
    for (size_t i = 0; i < ix->type->nmethods; i++) {
        uint64_t n = s->call_counts[ix->counts_at + i];
        char name[160];
        if (n == 0)
            continue;
        snprintf(name, sizeof name, "%s.%s", ix->type->name, ix->type->methods[i].name);
        *total += (int64_t)n;
        if (put_int(out, name, (int64_t)n) != MPX_OK)
            return MPX_ENOMEM;
    }
    return MPX_OK;
}

/* {"Type.method": calls, ...} and their total */
static int call_figures(mpx_server *s, mpx_value *out, int64_t *total)
{
    if (mpx_value_dict(out) != MPX_OK)
        return MPX_ENOMEM;
    *total = 0;
    int rc = index_figures(s, &s->manager_index, out, total);
    for (size_t i = 0; rc == MPX_OK && i < s->ntypes; i++)
        rc = index_figures(s, &s->types[i]->index, out, total);
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

/* info() -> {...}: the manager's figures, one dict (Redis's INFO). */
int admin_info(mpx_call *c)
{
    int rc = allowed(c);
    if (rc != MPX_OK)
        return rc;
    mpx_server *s = c->srv;
    mpx_value *d = &c->result, calls;
    int64_t total;
    if (mpx_value_dict(d) != MPX_OK || call_figures(s, &calls, &total) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    rc = put_int(d, "pid", (int64_t)getpid());
    rc |= put_int(d, "uptime_s", (int64_t)((uv_now(&s->loop) - s->started_ms) / 1000));
    rc |= put_int(d, "connections", (int64_t)s->sessions.len);
    rc |= put_int(d, "authenticated", (int64_t)s->nauthenticated);
    rc |= put_int(d, "unauthenticated", (int64_t)s->unauthenticated.len);
    rc |= put_int(d, "max_connections", s->opts.max_connections);
    rc |= put_int(d, "objects", (int64_t)s->objects.len);
    rc |= put_int(d, "named", (int64_t)mpx_value_len(&s->registry));
    rc |= put_int(d, "parked", (int64_t)s->nwaiters);
    rc |= put_int(d, "max_waiters", s->opts.max_waiters);
    rc |= put_int(d, "rss_bytes", resident_bytes());
    /* Redis's used_memory, used_memory_peak and maxmemory (0: none), in bytes */
    rc |= put_int(d, "used_memory", (int64_t)s->mem.used);
    rc |= put_int(d, "used_memory_peak", (int64_t)s->mem.peak);
    rc |= put_int(d, "max_memory", (int64_t)s->opts.max_memory);
    rc |= put_int(d, "max_message", (int64_t)s->opts.max_message);
    rc |= put_int(d, "calls_total", total);
    rc |= put_field(d, "calls", &calls);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail(c, MPX_ENOMEM, "out of memory");
}

/* shutdown(): answered, then the manager stops (its safe point writes the answer first). */
int admin_shutdown(mpx_call *c)
{
    int rc = allowed(c);
    if (rc != MPX_OK)
        return rc;
    mpx_server_log(c->srv, MPX_LOG_WARN, "event=shutdown session=%llu reason=admin",
                   c->sess != NULL ? (unsigned long long)session_id(c->sess) : 0ULL);
    mpx_server_stop(c->srv);
    return MPX_OK;
}
