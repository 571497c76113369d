/* test_async.c - the libuv client (mpx/async.h) against a real manager.
 *
 * 5,000 calls made from one callback are each answered once through their own callback,
 * in order, in few writes; errors come back as statuses with the manager's message; a
 * queue get parks and is answered when another process puts; closing with calls in
 * flight fails each of them once with MPX_ECLOSED, and a dead manager fails them with
 * the connection's error; connecting with a wrong key says so, and so does the synchronous
 * client's connect with a key file that is missing.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "harness.h"
#include "mpx/async.h"
#include "mpx/queue.h"

static t_manager M;

#define CALLS 5000

typedef struct state {
    uv_loop_t loop;
    mpx_async *a;
    uint64_t dict_id;
    int answered;
    int next_expected; /* the value of the next __setitem__ callback */
    int errors;
    int closed;
    char last_message[256];
    mpx_value last;
} state;

static mpx_async *connect_async(state *st)
{
    mpx_async *a;
    int rc = mpx_async_connect(&st->loop, M.address, M.key, M.keylen, NULL, &a);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "mpx_async_connect: %s", a ? mpx_async_errmsg(a) : "");
    return a;
}

static void on_set(mpx_async *a, int status, const char *message, mpx_value *result,
                   void *data)
{
    (void)a;
    (void)message;
    (void)result;
    state *st = data;
    T_EQ_INT(status, MPX_OK);
    st->answered++;
}

static void on_record(mpx_async *a, int status, const char *message, mpx_value *result,
                      void *data)
{
    (void)a;
    state *st = data;
    st->answered++;
    if (status != MPX_OK)
        st->errors++;
    if (status == MPX_ECLOSED || status == MPX_EIO)
        st->closed++;
    snprintf(st->last_message, sizeof st->last_message, "%s", message);
    mpx_value_free(&st->last);
    mpx_value_move(&st->last, result);
}

/* The dict's ref arrives: make CALLS setitem calls at once. */
static void on_created(mpx_async *a, int status, const char *message, mpx_value *result,
                       void *data)
{
    (void)message;
    state *st = data;
    T_EQ_INT(status, MPX_OK);
    T_CHECK(mpx_value_kind(result) == MPX_REF);
    st->dict_id = mpx_value_ref_id(result);
    for (int i = 0; i < CALLS; i++) {
        mpx_value kv[2] = {mpx_value_int(i), mpx_value_int(-i)};
        T_OK(NULL, mpx_async_call(a, st->dict_id, "__setitem__", kv, 2, -1, on_set, st));
    }
    T_EQ_INT(mpx_async_pending(a), CALLS);
}

static void run_until(state *st, int answered)
{
    int64_t end = t_now_ms() + 20000;
    while (st->answered < answered && t_now_ms() < end)
        uv_run(&st->loop, UV_RUN_ONCE);
    T_EQ_INT(st->answered, answered);
}

static void case_many_calls_and_errors(void *arg)
{
    (void)arg;
    state st = {0};
    uv_loop_init(&st.loop);
    st.a = connect_async(&st);
    mpx_value type = t_str("dict");
    T_OK(NULL, mpx_async_call(st.a, 0, "create", &type, 1, -1, on_created, &st));
    mpx_value_free(&type);
    run_until(&st, CALLS);
    T_EQ_INT(mpx_async_pending(st.a), 0);

    mpx_value key = mpx_value_int(4321);
    T_OK(NULL, mpx_async_call(st.a, st.dict_id, "__getitem__", &key, 1, -1, on_record, &st));
    run_until(&st, CALLS + 1);
    T_REPR(&st.last, "-4321");
    key = mpx_value_int(-5);
    T_OK(NULL, mpx_async_call(st.a, st.dict_id, "__getitem__", &key, 1, -1, on_record, &st));
    T_OK(NULL, mpx_async_call(st.a, st.dict_id, "__len__", NULL, 0, -1, on_record, &st));
    run_until(&st, CALLS + 3);
    T_EQ_INT(st.errors, 1);
    T_REPR(&st.last, "5000");
    T_RC(NULL, mpx_async_call(st.a, st.dict_id, NULL, NULL, 0, -1, on_record, &st),
         MPX_EINVAL);

    /* closing with calls in flight: each fails once */
    T_OK(NULL, mpx_async_call(st.a, st.dict_id, "__len__", NULL, 0, -1, on_record, &st));
    T_OK(NULL, mpx_async_call(st.a, st.dict_id, "__len__", NULL, 0, -1, on_record, &st));
    mpx_async_close(st.a);
    T_EQ_INT(st.closed, 2);
    T_CHECK(strstr(st.last_message, "closed by the program") != NULL);
    uv_run(&st.loop, UV_RUN_DEFAULT); /* frees it */
    mpx_value_free(&st.last);
    T_EQ_INT(uv_loop_close(&st.loop), 0);
}

/* A get parks on the manager until another process puts. */
static void case_parked_call(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "async.q", 0, false, &q));
    state st = {0};
    uv_loop_init(&st.loop);
    st.a = connect_async(&st);
    uint64_t qid = mpx_proxy_id(mpx_queue_proxy(q));
    T_OK(NULL, mpx_async_call(st.a, qid, "get", NULL, 0, -1, on_record, &st));
    pid_t child = fork();
    if (child == 0) {
        t_wait_parked(c, 1, 10000); /* the async get has parked */
        mpx_value item = t_val("('done', 1)");
        T_OK(c, mpx_queue_put(q, &item, 10));
        mpx_value_free(&item);
        _exit(0);
    }
    run_until(&st, 1);
    T_EQ_INT(st.errors, 0);
    T_REPR(&st.last, "('done', 1)");
    T_EQ_INT(t_wait_pid(child, 10000), 0);
    mpx_async_close(st.a);
    uv_run(&st.loop, UV_RUN_DEFAULT);
    mpx_value_free(&st.last);
    uv_loop_close(&st.loop);
    mpx_queue_close(q);
    mpx_client_close(c);
}

static void case_wrong_key(void *arg)
{
    (void)arg;
    uv_loop_t loop;
    uv_loop_init(&loop);
    mpx_async *a = NULL;
    T_RC(NULL, mpx_async_connect(&loop, M.address, "wrong", 5, NULL, &a), MPX_EAUTH);
    T_CHECK(a != NULL); /* a failed handle, to say why */
    T_EQ_INT(mpx_async_errcode(a), MPX_EAUTH);
    T_CHECK(strstr(mpx_async_errmsg(a), "handshake") != NULL);
    mpx_value none = mpx_value_none();
    T_RC(NULL, mpx_async_call(a, 0, "ping", &none, 0, -1, on_record, NULL), MPX_ECLOSED);
    T_CHECK(strstr(mpx_async_errmsg(a), "handshake") != NULL); /* still says why */
    mpx_async_close(a);
    T_RC(NULL, mpx_async_connect(&loop, "tcp://nowhere:x", "k", 1, NULL, &a), MPX_EADDR);
    T_CHECK(strstr(mpx_async_errmsg(a), "bad address") != NULL);
    mpx_async_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

/* The synchronous client's key-file connect: the key file works, a missing one fails like
 * a connection, with a failed client that says why. */
static void case_connect_with_key_file(void *arg)
{
    (void)arg;
    mpx_client *c = NULL;
    T_OK(c, mpx_client_connect_keyfile(M.address, M.keyfile, NULL, &c));
    T_OK(c, mpx_client_ping(c));
    mpx_client_close(c);
    char missing[256];
    snprintf(missing, sizeof missing, "%s.missing", M.keyfile);
    T_RC(NULL, mpx_client_connect_keyfile(M.address, missing, NULL, &c), MPX_EIO);
    T_CHECK(c != NULL);
    T_EQ_INT(mpx_client_errcode(c), MPX_EIO);
    T_ERRMSG_HAS(c, "authkey: cannot open key file");
    mpx_client_close(c);
}

/* A second manager dies under a parked call: the call fails with the connection. */
static void case_manager_dies(void *arg)
{
    (void)arg;
    t_manager other;
    t_manager_start(&other, NULL, NULL);
    state st = {0};
    uv_loop_init(&st.loop);
    T_OK(NULL, mpx_async_connect(&st.loop, other.address, other.key, other.keylen, NULL,
                                 &st.a));
    mpx_value args[2] = {t_str("q"), t_str("Queue")};
    T_OK(NULL, mpx_async_call(st.a, 0, "open", args, 2, -1, on_record, &st));
    run_until(&st, 1);
    uint64_t qid = mpx_value_ref_id(&st.last);
    T_OK(NULL, mpx_async_call(st.a, qid, "get", NULL, 0, -1, on_record, &st));
    uv_run(&st.loop, UV_RUN_NOWAIT);
    t_manager_kill(&other);
    run_until(&st, 2);
    T_EQ_INT(st.closed, 1);
    T_CHECK(strstr(st.last_message, "connection to") != NULL);
    T_RC(NULL, mpx_async_call(st.a, qid, "get", NULL, 0, -1, on_record, &st), MPX_ECLOSED);
    mpx_async_close(st.a); /* already closed: nothing more */
    uv_run(&st.loop, UV_RUN_DEFAULT);
    mpx_value_free(&st.last);
    t_free_all(args, 2);
    uv_loop_close(&st.loop);
}

int main(void)
{
    t_manager_start(&M, NULL, NULL);
    T_RUN(case_many_calls_and_errors, NULL);
    T_RUN(case_parked_call, NULL);
    T_RUN(case_wrong_key, NULL);
    T_RUN(case_connect_with_key_file, NULL);
    T_RUN(case_manager_dies, NULL);
    return t_finish_with_manager(&M);
}
