/* test_custom_type.c - a type of a program's own (mpx/type.h), served by that program.
 *
 * The manager here is examples/custom_type (mpx_server_main with its TokenBucket
 * registered), started the way every test starts mpx-manager. The bucket is created,
 * opened by name, called, pipelined and referenced by real client processes like a
 * built-in type; a take parked in one process is answered by another's done(), and by a
 * SIGKILLed holder's death (session_ended gives its slot back); a timeout answers False.
 * Registration's refusals are checked on a server in this process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/dict.h"
#include "mpx/proxy.h"
#include "mpx/type.h"

static t_manager M;

/* TokenBucket(rate, capacity, concurrency) opened as name. */
static mpx_proxy *open_bucket(mpx_client *c, const char *name, double rate, int64_t capacity,
                              int64_t concurrency)
{
    mpx_value args[3] = {mpx_value_float(rate), mpx_value_int(capacity),
                         mpx_value_int(concurrency)};
    mpx_proxy *p;
    T_OK(c, mpx_proxy_open(c, "TokenBucket", name, args, 3, &p));
    return p;
}

static mpx_value call0(mpx_proxy *p, const char *method)
{
    mpx_value r;
    T_OK(mpx_proxy_client(p), mpx_proxy_call(p, method, NULL, 0, &r));
    return r;
}

static void case_round_trip(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_proxy *p = open_bucket(c, "round", 1000, 3, 2);
    mpx_value r = call0(p, "available");
    T_CHECK(mpx_value_kind(&r) == MPX_FLOAT && mpx_value_get_float(&r) >= 2.99);
    r = call0(p, "take");
    T_REPR(&r, "True");
    r = call0(p, "in_flight");
    T_REPR(&r, "1");
    r = call0(p, "done");
    T_REPR(&r, "None");
    T_RC(c, mpx_proxy_call(p, "done", NULL, 0, &r), MPX_ERUNTIME);
    T_ERRMSG_IS(c, "done() without a slot held by this connection");
    T_RC(c, mpx_proxy_call(p, "no_such", NULL, 0, &r), MPX_ENOMETHOD);
    T_ERRMSG_IS(c, "'TokenBucket' object has no method 'no_such'");
    mpx_value extra[2] = {mpx_value_int(1), mpx_value_int(2)};
    T_RC(c, mpx_proxy_call(p, "take", extra, 2, &r), MPX_ETYPE);
    T_ERRMSG_IS(c, "take expected at most 1 argument, got 2");

    /* the same object by name, and through its token from another connection */
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_proxy_token(p, token, sizeof token));
    mpx_client *c2 = t_connect(&M, NULL);
    mpx_proxy *q;
    T_OK(c2, mpx_proxy_attach(c2, token, "TokenBucket", &q));
    T_CHECK(mpx_proxy_id(q) == mpx_proxy_id(p));
    T_EQ_STR(mpx_proxy_type(q), "TokenBucket");
    mpx_proxy_close(q);
    mpx_client_close(c2);

    /* a bad constructor is refused with the type's own message */
    mpx_value bad[2] = {mpx_value_int(0), mpx_value_int(1)};
    T_RC(c, mpx_proxy_create(c, "TokenBucket", bad, 2, &q), MPX_EVALUE);
    T_ERRMSG_HAS(c, "rate > 0");
    T_RC(c, mpx_proxy_create(c, "TokenBucket", bad, 1, &q), MPX_ETYPE);
    mpx_proxy_close(p);
    mpx_client_close(c);
}

/* A reference to the bucket kept in a dict, and calls to it pipelined. */
static void case_pipelined_and_referenced(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_proxy *p = open_bucket(c, "piped", 0.001, 100, 0); /* no refill to speak of */
    enum { CALLS = 50 };
    uint64_t ids[CALLS];
    for (int i = 0; i < CALLS; i++)
        T_OK(c, mpx_proxy_append(p, i % 2 == 0 ? "take" : "in_flight", NULL, 0, -1, &ids[i]));
    T_OK(c, mpx_client_flush(c));
    for (int i = 0; i < CALLS; i++) {
        uint64_t id;
        int status;
        mpx_value out;
        T_OK(c, mpx_client_get_reply(c, 10, &id, &status, &out));
        T_CHECK(id == ids[i] && status == MPX_OK);
        T_REPR(&out, i % 2 == 0 ? "True" : "0");
        mpx_value_free(&out);
    }
    mpx_dict *d;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    mpx_value key = t_str("limit"), ref, got;
    T_OK(c, mpx_value_ref(&ref, mpx_proxy_id(p), "TokenBucket"));
    T_OK(c, mpx_dict_setitem(d, &key, &ref));
    T_OK(c, mpx_dict_getitem(d, &key, &got));
    mpx_proxy *again;
    T_OK(c, mpx_proxy_from_ref(c, &got, &again));
    T_CHECK(mpx_proxy_id(again) == mpx_proxy_id(p));
    mpx_value left = call0(again, "available");
    T_CHECK(mpx_value_get_float(&left) >= 75 && mpx_value_get_float(&left) < 75.1); /* 25 taken */
    mpx_value_free(&key);
    mpx_value_free(&ref);
    mpx_value_free(&got);
    mpx_proxy_close(again);
    mpx_dict_close(d);
    mpx_proxy_close(p);
    mpx_client_close(c);
}

/* A child that holds the bucket's one slot until told to go on (a byte on go) or killed;
 * it writes a byte to held once it has the slot. */
static pid_t spawn_holder(const char *name, int *go_fd)
{
    int held[2], go[2];
    T_CHECK(pipe(held) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(held[0]);
        close(go[1]);
        mpx_client *c = t_connect(&M, NULL);
        mpx_proxy *p = open_bucket(c, name, 1000, 10, 1);
        mpx_value r = call0(p, "take");
        T_REPR(&r, "True");
        T_CHECK(write(held[1], "h", 1) == 1);
        char b;
        if (read(go[0], &b, 1) == 1) {
            r = call0(p, "done");
            T_REPR(&r, "None");
        }
        _exit(0);
    }
    close(held[1]);
    close(go[0]);
    char b;
    T_CHECK(read(held[0], &b, 1) == 1);
    close(held[0]);
    *go_fd = go[1];
    return pid;
}

/* A take that parks in its own process; exits 0 when it got the slot. */
static pid_t spawn_taker(const char *name)
{
    pid_t pid = fork();
    if (pid == 0) {
        mpx_client *c = t_connect_timeout(&M, NULL, 300); /* the park outlasts this */
        mpx_proxy *p = open_bucket(c, name, 1000, 10, 1);
        mpx_value r = call0(p, "take");
        T_REPR(&r, "True");
        _exit(0);
    }
    return pid;
}

static void case_parked_take_answered_by_done(void *arg)
{
    (void)arg;
    int go;
    pid_t holder = spawn_holder("handoff", &go);
    pid_t taker = spawn_taker("handoff");
    mpx_client *c = t_connect(&M, NULL);
    t_wait_parked(c, 1, 10000);
    usleep(400000); /* longer than the taker's call timeout: the row says it may wait */
    T_CHECK(write(go, "g", 1) == 1);
    T_EQ_INT(t_wait_pid(holder, 10000), 0);
    T_EQ_INT(t_wait_pid(taker, 10000), 0);
    close(go);
    mpx_client_close(c);
}

static void case_dead_holder_gives_back(void *arg)
{
    (void)arg;
    int go;
    pid_t holder = spawn_holder("dead", &go);
    pid_t taker = spawn_taker("dead");
    mpx_client *c = t_connect(&M, NULL);
    t_wait_parked(c, 1, 10000);
    kill(holder, SIGKILL);
    t_wait_pid(holder, 10000);
    T_EQ_INT(t_wait_pid(taker, 10000), 0);
    t_wait_parked(c, 0, 10000);
    mpx_proxy *p = open_bucket(c, "dead", 1000, 10, 1);
    mpx_value n = call0(p, "in_flight");
    for (int64_t until = t_now_ms() + 5000; mpx_value_get_int(&n) != 0 && t_now_ms() < until;)
        n = call0(p, "in_flight"); /* until the taker's exit reaches the manager */
    T_REPR(&n, "0"); /* the taker's slot went with its connection too */
    close(go);
    mpx_proxy_close(p);
    mpx_client_close(c);
}

static void case_timeout_answers_false(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_proxy *p = open_bucket(c, "slow", 0.01, 1, 0);
    mpx_value r = call0(p, "take");
    T_REPR(&r, "True");
    mpx_value timeout = mpx_value_float(0.2);
    int64_t start = t_now_ms();
    T_OK(c, mpx_proxy_call(p, "take", &timeout, 1, &r));
    T_REPR(&r, "False");
    T_CHECK(t_now_ms() - start >= 150);
    timeout = mpx_value_int(0);
    T_OK(c, mpx_proxy_call(p, "take", &timeout, 1, &r));
    T_REPR(&r, "False");
    mpx_proxy_close(p);
    mpx_client_close(c);
}

/* ---- registration, on a server in this process -------------------------------------- */

static int noop(mpx_call *c)
{
    (void)c;
    return MPX_OK;
}

static int noop_init(mpx_object *obj, mpx_call *c)
{
    (void)obj;
    (void)c;
    return MPX_OK;
}

static void case_registration_refusals(void *arg)
{
    (void)arg;
    mpx_server_opts o;
    mpx_server_opts_init(&o);
    o.authkey = "k";
    o.keylen = 1;
    mpx_server *s;
    T_OK(NULL, mpx_server_new(&o, &s));
    static const mpx_method rows[] = {{"m", noop, 0, 0, 0}};
    static const mpx_method bad_rows[] = {{"m", noop, 2, 1, 0}};
    mpx_type t = {.name = "Mine", .init = noop_init, .methods = rows, .nmethods = 1};
    T_OK(NULL, mpx_server_register_type(s, &t));
    T_RC(NULL, mpx_server_register_type(s, &t), MPX_EEXIST);
    mpx_type dict = t;
    dict.name = "dict";
    T_RC(NULL, mpx_server_register_type(s, &dict), MPX_EEXIST);
    mpx_type bad = t;
    bad.name = "Bad";
    bad.methods = bad_rows;
    T_RC(NULL, mpx_server_register_type(s, &bad), MPX_EINVAL);
    bad.methods = rows;
    bad.init = NULL;
    T_RC(NULL, mpx_server_register_type(s, &bad), MPX_EINVAL);
    bad.init = noop_init;
    bad.nmethods = 0;
    T_RC(NULL, mpx_server_register_type(s, &bad), MPX_EINVAL);
    mpx_server_free(s);
}

int main(void)
{
    const char *dir = getenv("MPX_EXAMPLES_DIR");
    if (dir == NULL) {
        fprintf(stderr, "test_custom_type: set MPX_EXAMPLES_DIR\n");
        return 1;
    }
    char bin[512];
    snprintf(bin, sizeof bin, "%s/custom_type", dir);
    setenv("MPX_MANAGER_BIN", bin, 1); /* the program with the type is the manager */
    t_manager_start(&M, NULL, NULL);
    T_RUN(case_round_trip, NULL);
    T_RUN(case_pipelined_and_referenced, NULL);
    T_RUN(case_parked_take_answered_by_done, NULL);
    T_RUN(case_dead_holder_gives_back, NULL);
    T_RUN(case_timeout_answers_false, NULL);
    T_RUN(case_registration_refusals, NULL);
    return t_finish_with_manager(&M);
}
