/* objects.c - the object table, the name registry, and object 0 (the manager itself).
 *
 * Every object has a 64-bit id that is never reused and a count of the references held
 * on it: one per proxy reference a session took (create, open, incref) and one for the
 * registry when it has a name. The object is destroyed when the count reaches zero, so a
 * named object lives as long as the manager; an anonymous one as long as some proxy.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "mem.h"
#include "server_internal.h"
#include "sync.h"
#include "typecode.h"

/* Registered by objects_init as any program's own types are (mpx_server_register_type). */
static const mpx_type *const builtin_types[] = {
    &type_dict, &type_list, &type_namespace, &type_lock, &type_rlock, &type_condition,
    &type_semaphore, &type_bounded_semaphore, &type_event, &type_barrier,
    &type_queue, &type_joinable_queue, &type_task_pool,
    &type_value, &type_array, &type_iterator,
};

const type_entry *objects_type_named(const mpx_server *s, const char *name)
{
    for (size_t i = 0; i < s->ntypes; i++)
        if (strcmp(s->types[i]->type->name, name) == 0)
            return s->types[i];
    return NULL;
}

mpx_object *objects_find(const mpx_server *s, uint64_t id)
{
    if (id == 0)
        return (mpx_object *)&s->manager_obj;
    return u64map_get(&s->objects, id);
}

static void object_destroy(mpx_object *obj)
{
    object_clear(obj);
    mem_free(obj->name);
    mem_free(obj);
}

void objects_release(mpx_server *s, mpx_object *obj, uint32_t n)
{
    if (obj->id == 0)
        return;
    assert(n <= obj->refs); /* every reference given back was taken */
    obj->refs = n >= obj->refs ? 0 : obj->refs - n;
    if (obj->refs > 0)
        return;
    u64map_del(&s->objects, obj->id);
    mpx_server_log(s, MPX_LOG_DEBUG, "event=destroy object=%llu type=%s",
                   (unsigned long long)obj->id, obj->type->name);
    obj->dying_next = s->dying;
    s->dying = obj;
    if (s->releasing) /* the loop below, further up the stack, destroys it */
        return;
    s->releasing = true;
    while ((obj = s->dying) != NULL) {
        s->dying = obj->dying_next;
        object_destroy(obj); /* may release what its value referred to: more dying ones */
    }
    s->releasing = false;
}

char *objects_repr(mpx_server *s, mpx_object *obj)
{
    mpx_call c = {.srv = s};
    char *text = NULL;
    if (method_index_find(obj->methods, "__repr__", 8) != NULL &&
        object_invoke(obj, "__repr__", &c) == MPX_OK && mpx_value_kind(&c.result) == MPX_STR)
        text = strdup(mpx_value_str_data(&c.result));
    else if (asprintf(&text, "<%s object, id %llx>", obj->type->name,
                      (unsigned long long)obj->id) < 0)
        text = NULL;
    mpx_value_free(&c.result);
    return text;
}

static int ref_take(void *ctx, uint64_t id)
{
    mpx_server *s = ctx;
    mpx_object *obj = id != 0 ? objects_find(s, id) : NULL;
    if (obj == NULL)
        return MPX_ENOOBJECT;
    obj->refs++;
    return MPX_OK;
}

static void ref_drop(void *ctx, uint64_t id)
{
    mpx_server *s = ctx;
    mpx_object *obj = s->tearing_down ? NULL : objects_find(s, id);
    if (obj != NULL)
        objects_release(s, obj, 1);
}

int objects_adopt_refs(mpx_server *s, mpx_value *v, uint64_t *missing)
{
    return value_refs_adopt(v, &s->ref_owner, missing);
}

const type_entry *objects_type_entry(const mpx_server *s, const mpx_type *type)
{
    for (size_t i = 0; i < s->ntypes; i++)
        if (s->types[i]->type == type)
            return s->types[i];
    return NULL;
}

int objects_create(mpx_server *s, mpx_call *c, const type_entry *te, size_t first,
                   mpx_object **out)
{
    int rc = mpx_call_reserve(c, sizeof(mpx_object)); /* making one grows, by whichever path */
    if (rc != MPX_OK)
        return rc;
    mpx_object *obj = mem_calloc(1, sizeof *obj);
    if (obj == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    obj->type = te->type;
    obj->methods = &te->index;
    mpx_call ctor = {
        .srv = s, .sess = c->sess, .args = c->args + first, .nargs = c->nargs - first};
    rc = object_init(obj, &ctor);
    if (rc != MPX_OK) {
        memcpy(c->errmsg, ctor.errmsg, sizeof c->errmsg);
        object_destroy(obj);
        return rc;
    }
    obj->id = s->next_object_id++;
    if (u64map_put(&s->objects, obj->id, obj) != MPX_OK) {
        object_destroy(obj);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    *out = obj;
    return MPX_OK;
}

/* The caller's session takes a reference on obj; the reply is a ref value. */
static int hand_out_ref(mpx_call *c, mpx_object *obj)
{
    if (c->sess != NULL && session_ref_add(c->sess, obj->id) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    obj->refs++;
    if (mpx_value_ref(&c->result, obj->id, obj->type->name) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    return MPX_OK;
}

static int arg_type(mpx_call *c, size_t i, const type_entry **te)
{
    int rc = mpx_call_expect_kind(c, i, MPX_STR, "type name");
    if (rc != MPX_OK)
        return rc;
    *te = objects_type_named(c->srv, mpx_value_str_data(&c->args[i]));
    if (*te == NULL)
        return mpx_call_fail(c, MPX_EVALUE, "unknown type '%s'", mpx_value_str_data(&c->args[i]));
    return MPX_OK;
}

int mpx_call_ref_arg(mpx_call *c, size_t i, mpx_object **out)
{
    int rc = mpx_call_expect_kind(c, i, MPX_REF, "argument");
    if (rc != MPX_OK)
        return rc;
    uint64_t id = mpx_value_ref_id(&c->args[i]);
    *out = c->srv != NULL && id != 0 ? objects_find(c->srv, id) : NULL;
    if (*out == NULL)
        return mpx_call_fail(c, MPX_ENOOBJECT, "no object with id %llu",
                             (unsigned long long)id);
    (*out)->refs++;
    return MPX_OK;
}

void mpx_object_release(mpx_server *s, mpx_object *obj)
{
    objects_release(s, obj, 1);
}

uint64_t mpx_server_next_fence(mpx_server *s)
{
    return ++s->next_fence;
}

/* create(type, *args) -> ref */
static int manager_create(mpx_call *c)
{
    const type_entry *te;
    mpx_object *obj;
    int rc = arg_type(c, 0, &te);
    if (rc == MPX_OK)
        rc = objects_create(c->srv, c, te, 1, &obj);
    if (rc != MPX_OK)
        return rc;
    mpx_server_log(c->srv, MPX_LOG_DEBUG, "event=create object=%llu type=%s",
                   (unsigned long long)obj->id, te->type->name);
    return hand_out_ref(c, obj);
}

int objects_open(mpx_server *s, mpx_call *c, const type_entry *te, const char *name,
                 size_t first, mpx_object **out)
{
    mpx_value key, id;
    mpx_value *found;
    if (mpx_value_str(&key, name) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    if (mpx_value_dict_find(&s->registry, &key, &found) == MPX_OK) {
        mpx_value_free(&key);
        mpx_object *obj = objects_find(s, (uint64_t)mpx_value_get_int(found));
        if (obj->type != te->type)
            return mpx_call_fail(c, MPX_EEXIST, "'%s' is a %s, not a %s", name, obj->type->name,
                                 te->type->name);
        *out = obj;
        return MPX_OK;
    }
    mpx_object *obj;
    int rc = objects_create(s, c, te, first, &obj);
    if (rc != MPX_OK) {
        mpx_value_free(&key);
        return rc;
    }
    id = mpx_value_int((int64_t)obj->id);
    obj->name = mem_strdup(name);
    if (obj->name == NULL || mpx_value_dict_set(&s->registry, &key, &id) != MPX_OK) {
        mpx_value_free(&key);
        objects_release(s, obj, 0);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    obj->refs = 1; /* the registry's */
    mpx_server_log(s, MPX_LOG_DEBUG, "event=create object=%llu type=%s name=%s",
                   (unsigned long long)obj->id, te->type->name, name);
    *out = obj;
    return MPX_OK;
}

/* open(name, type, *args) -> ref: the named object, created on first use. */
static int manager_open(mpx_call *c)
{
    const type_entry *te;
    mpx_object *obj;
    int rc = mpx_call_expect_kind(c, 0, MPX_STR, "name");
    if (rc == MPX_OK)
        rc = arg_type(c, 1, &te);
    if (rc == MPX_OK)
        rc = objects_open(c->srv, c, te, mpx_value_str_data(&c->args[0]), 2, &obj);
    return rc == MPX_OK ? hand_out_ref(c, obj) : rc;
}

static int arg_object(mpx_call *c, size_t i, mpx_object **out)
{
    int rc = mpx_call_expect_kind(c, i, MPX_INT, "object id");
    if (rc != MPX_OK)
        return rc;
    int64_t id = mpx_value_get_int(&c->args[i]);
    *out = id > 0 ? objects_find(c->srv, (uint64_t)id) : NULL;
    if (*out == NULL)
        return mpx_call_fail(c, MPX_ENOOBJECT, "no object with id %lld", (long long)id);
    return MPX_OK;
}

/* incref(id) -> type name: one more reference for the caller's session. */
static int manager_incref(mpx_call *c)
{
    mpx_object *obj;
    int rc = arg_object(c, 0, &obj);
    if (rc != MPX_OK)
        return rc;
    if (c->sess != NULL && session_ref_add(c->sess, obj->id) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    obj->refs++;
    if (mpx_value_str(&c->result, obj->type->name) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    return MPX_OK;
}

/* decref(id): gives back one reference the caller's session holds. */
static int manager_decref(mpx_call *c)
{
    mpx_object *obj;
    int rc = arg_object(c, 0, &obj);
    if (rc != MPX_OK)
        return rc;
    if (c->sess != NULL && session_ref_drop(c->sess, obj->id) != MPX_OK)
        return mpx_call_fail(c, MPX_EVALUE, "this session holds no reference to object %llu",
                             (unsigned long long)obj->id);
    objects_release(c->srv, obj, 1);
    return MPX_OK;
}

static int manager_ping(mpx_call *c)
{
    return mpx_value_str(&c->result, "pong") == MPX_OK ? MPX_OK
                                                       : mpx_call_fail(c, MPX_ENOMEM, "no memory");
}

/* types() -> the names of the types create and open accept */
static int manager_types(mpx_call *c)
{
    if (mpx_value_list(&c->result, c->srv->ntypes) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->srv->ntypes; i++) {
        mpx_value name;
        if (mpx_value_str(&name, c->srv->types[i]->type->name) != MPX_OK ||
            mpx_value_append(&c->result, &name) != MPX_OK)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    return MPX_OK;
}

/* parked() -> how many calls wait on the manager, all objects and sessions: the state a
 * test waits for instead of sleeping. */
static int manager_parked(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)c->srv->nwaiters);
    return MPX_OK;
}

/* One (name, min_args, max_args, flags) row as a tuple. */
static int method_row(const mpx_method *m, mpx_value *out)
{
    mpx_value name;
    if (mpx_value_tuple(out, 4) != MPX_OK)
        return MPX_ENOMEM;
    if (mpx_value_str(&name, m->name) != MPX_OK) {
        mpx_value_free(out);
        return MPX_ENOMEM;
    }
    mpx_value_append(out, &name); /* within the capacity asked for: cannot fail */
    mpx_value fields[3] = {mpx_value_int(m->min_args), mpx_value_int(m->max_args),
                           mpx_value_int(m->flags)};
    for (size_t i = 0; i < 3; i++)
        mpx_value_append(out, &fields[i]);
    return MPX_OK;
}

/* methods(type) -> [(name, min_args, max_args, flags), ...]: what a client needs to know
 * of a type's methods, flags as METHOD_* (1: may wait, so the caller waits as long as the
 * call does; 2: grows state, refused while over max_memory). Python's get_methods, with
 * the row's facts. */
static int manager_methods_of(mpx_call *c)
{
    const type_entry *te;
    int rc = arg_type(c, 0, &te);
    if (rc != MPX_OK)
        return rc;
    const mpx_type *t = te->type;
    if (mpx_value_list(&c->result, t->nmethods) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nmethods; i++) {
        mpx_value row;
        if (method_row(&t->methods[i], &row) != MPX_OK)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        mpx_value_append(&c->result, &row);
    }
    return MPX_OK;
}

static const mpx_method manager_methods[] = {
    {"create", manager_create, 1, 255, MPX_METHOD_GROWS},
    {"open", manager_open, 2, 255, 0},
    {"incref", manager_incref, 1, 1, 0},
    {"decref", manager_decref, 1, 1, 0},
    {"ping", manager_ping, 0, 0, 0},
    {"types", manager_types, 0, 0, 0},
    {"methods", manager_methods_of, 1, 1, 0},
    {"parked", manager_parked, 0, 0, 0},
    ADMIN_METHOD_ROWS,
};

static const mpx_type manager_type = {
    .name = "manager",
    .methods = manager_methods,
    .nmethods = sizeof manager_methods / sizeof manager_methods[0],
};

int objects_init(mpx_server *s)
{
    u64map_init(&s->objects);
    s->started_ms = uv_now(&s->loop);
    s->next_object_id = 1;
    s->ref_owner = (value_ref_owner){.take = ref_take, .drop = ref_drop, .ctx = s};
    if (mpx_value_dict(&s->registry) != MPX_OK)
        return MPX_ENOMEM;
    if (method_index_build(&s->manager_index, &manager_type) != MPX_OK)
        return MPX_EINVAL;
    s->manager_obj = (mpx_object){.id = 0, .type = &manager_type, .methods = &s->manager_index};
    int rc = admin_place_counts(s, &s->manager_index);
    for (size_t i = 0; rc == MPX_OK && i < sizeof builtin_types / sizeof builtin_types[0]; i++)
        rc = mpx_server_register_type(s, builtin_types[i]);
    return rc;
}

/* Whether the type can be indexed and run: what registration refuses with MPX_EINVAL. */
static bool type_well_formed(const mpx_type *t)
{
    if (t->name == NULL || t->name[0] == '\0' || t->init == NULL || t->methods == NULL ||
        t->nmethods == 0 || t->nmethods > 64 || t->min_init_args > t->max_init_args)
        return false;
    for (size_t i = 0; i < t->nmethods; i++)
        if (t->methods[i].name == NULL || t->methods[i].fn == NULL ||
            t->methods[i].min_args > t->methods[i].max_args)
            return false;
    return true;
}

int mpx_server_register_type(mpx_server *s, const mpx_type *type)
{
    if (s == NULL || type == NULL || !type_well_formed(type))
        return MPX_EINVAL;
    if (objects_type_named(s, type->name) != NULL || strcmp(type->name, "manager") == 0)
        return MPX_EEXIST;
    if (s->ntypes == SERVER_MAX_TYPES)
        return MPX_ELIMIT;
    type_entry *te = calloc(1, sizeof *te);
    if (te == NULL)
        return MPX_ENOMEM;
    te->type = type;
    int rc = method_index_build(&te->index, type);
    if (rc == MPX_OK)
        rc = py_typeid_auto(type, &te->py);
    if (rc == MPX_OK)
        rc = admin_place_counts(s, &te->index);
    if (rc != MPX_OK) {
        py_typeid_auto_free(&te->py);
        free(te);
        return rc;
    }
    s->types[s->ntypes++] = te;
    return MPX_OK;
}

int mpx_server_expose(mpx_server *s, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '='), *colon = eq != NULL ? strchr(eq, ':') : NULL;
    if (eq == NULL || colon == NULL || eq == spec || colon == eq + 1 || colon[1] == '\0') {
        snprintf(err, errlen, "'%s' is not typeid=Type:name", spec);
        return MPX_EINVAL;
    }
    char type[64];
    snprintf(type, sizeof type, "%.*s", (int)(colon - eq - 1), eq + 1);
    const type_entry *te = objects_type_named(s, type);
    if (te == NULL) {
        snprintf(err, errlen, "'%s': unknown type '%s'", spec, type);
        return MPX_EINVAL;
    }
    server_exposure *grown = realloc(s->exposures, (s->nexposures + 1) * sizeof *grown);
    if (grown == NULL)
        return MPX_ENOMEM;
    s->exposures = grown;
    server_exposure *x = &s->exposures[s->nexposures];
    x->typeid = strndup(spec, (size_t)(eq - spec));
    x->name = strdup(colon + 1);
    x->entry = te;
    if (x->typeid == NULL || x->name == NULL) {
        free(x->typeid);
        free(x->name);
        return MPX_ENOMEM;
    }
    s->nexposures++;
    return MPX_OK;
}

void objects_free(mpx_server *s)
{
    s->tearing_down = true;
    admin_free(s);
    for (size_t i = 0; i < s->nexposures; i++) {
        free(s->exposures[i].typeid);
        free(s->exposures[i].name);
    }
    free(s->exposures);
    s->exposures = NULL;
    s->nexposures = 0;
    size_t pos = 0;
    uint64_t id;
    void *obj;
    while (u64map_next(&s->objects, &pos, &id, &obj))
        object_destroy(obj);
    u64map_free(&s->objects);
    mpx_value_free(&s->registry);
    for (size_t i = 0; i < s->ntypes; i++) {
        py_typeid_auto_free(&s->types[i]->py);
        free(s->types[i]);
    }
    s->ntypes = 0;
}
