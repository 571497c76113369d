/* test_pipeline.c - pipelined calls on one connection (mpx_client_append / get_reply).
 *
 * 2,000 calls appended and sent in one write are each answered exactly once, matched by
 * call id, with their own outcomes (a KeyError among successes); a call that waits on the
 * manager (a queue get) is answered after a later call that unblocks it; a reply wait
 * that times out loses nothing; synchronous calls refuse while replies are unread; a
 * forked child starts with an empty pipeline of its own.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/dict.h"
#include "mpx/queue.h"

static t_manager M;

#define CALLS 2000

static void case_many_calls_matched_by_id(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    mpx_proxy *p = mpx_dict_proxy(d);
    static uint64_t ids[CALLS];
    static int seen[CALLS];
    for (int i = 0; i < CALLS; i++) {
        mpx_value kv[2] = {mpx_value_int(i), mpx_value_int(i * 10)};
        T_OK(c, mpx_proxy_append(p, "__setitem__", kv, 2, -1, &ids[i]));
    }
    T_EQ_INT(mpx_client_pending(c), CALLS);
    T_OK(c, mpx_client_flush(c));
    for (int k = 0; k < CALLS; k++) {
        uint64_t id;
        int status;
        mpx_value out;
        T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
        T_EQ_INT(status, MPX_OK);
        T_CHECK(id == ids[k]); /* calls that answer at once answer in order */
        seen[k]++;
    }
    T_EQ_INT(mpx_client_pending(c), 0);
    size_t n = 0;
    T_OK(c, mpx_dict_len(d, &n)); /* synchronous calls work again */
    T_EQ_INT(n, CALLS);

    /* each reply carries its own outcome */
    mpx_value present = mpx_value_int(7), missing = mpx_value_int(-1);
    uint64_t a, b, cc;
    T_OK(c, mpx_proxy_append(p, "__getitem__", &present, 1, -1, &a));
    T_OK(c, mpx_proxy_append(p, "__getitem__", &missing, 1, -1, &b));
    T_OK(c, mpx_proxy_append(p, "no_such_method", NULL, 0, -1, &cc));
    uint64_t id;
    int status;
    mpx_value out;
    T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
    T_CHECK(id == a && status == MPX_OK);
    T_REPR(&out, "70");
    T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
    T_CHECK(id == b && status == MPX_EKEY);
    T_ERRMSG_IS(c, "-1");
    T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
    T_CHECK(id == cc && status == MPX_ENOMETHOD);
    T_RC(c, mpx_client_get_reply(c, 0.1, &id, &status, &out), MPX_EINVAL);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* A get that parks is answered when a later put in the same pipeline arrives. */
static void case_waiting_call_answered_later(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_create(c, 0, false, &q));
    mpx_proxy *p = mpx_queue_proxy(q);
    uint64_t get_id, put_id;
    T_OK(c, mpx_proxy_append(p, "get", NULL, 0, -1, &get_id));
    mpx_value item = t_str("late");
    T_OK(c, mpx_proxy_append(p, "put", &item, 1, -1, &put_id));
    mpx_value_free(&item);
    bool got_get = false, got_put = false;
    for (int k = 0; k < 2; k++) {
        uint64_t id;
        int status;
        mpx_value out;
        T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
        T_EQ_INT(status, MPX_OK);
        if (id == get_id) {
            T_REPR(&out, "'late'");
            got_get = true;
        } else {
            T_CHECK(id == put_id);
            got_put = true;
        }
        mpx_value_free(&out);
    }
    T_CHECK(got_get && got_put);

    /* waiting for a reply can time out without losing the call */
    T_OK(c, mpx_proxy_append(p, "get", NULL, 0, -1, &get_id));
    uint64_t id;
    int status;
    mpx_value out;
    T_RC(c, mpx_client_get_reply(c, 0.2, &id, &status, &out), MPX_ETIMEOUT);
    T_EQ_INT(mpx_client_pending(c), 1);
    int64_t size;
    T_RC(c, mpx_queue_qsize(q, &size), MPX_EINVAL); /* a sync call would lose the reply */
    T_ERRMSG_HAS(c, "pipelined calls are unanswered");
    pid_t child = fork();
    if (child == 0) { /* its own connection and an empty pipeline */
        T_EQ_INT(mpx_client_pending(c), 1);
        mpx_value again = t_str("from the child");
        T_OK(c, mpx_queue_put(q, &again, 10));
        T_EQ_INT(mpx_client_pending(c), 0);
        mpx_value_free(&again);
        _exit(0);
    }
    T_EQ_INT(t_wait_pid(child, 10000), 0);
    T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
    T_CHECK(id == get_id && status == MPX_OK);
    T_REPR(&out, "'from the child'");
    mpx_value_free(&out);
    mpx_queue_close(q);
    mpx_client_close(c);
}

int main(void)
{
    t_manager_start(&M, NULL, NULL);
    T_RUN(case_many_calls_matched_by_id, NULL);
    T_RUN(case_waiting_call_answered_later, NULL);
    return t_finish_with_manager(&M);
}
