/* test_concurrent.c - many processes on one manager: no lost updates, tokens travel,
 * clients survive fork().
 *
 * Workers are real processes (t_fork_workers), each with its own connection: 4 x 1,000
 * __setitem__ of distinct keys must leave exactly 4,000 right values; 4 x 1,000 appends
 * exactly 4,000 items in each worker's order; racing setdefault calls agree on one winner.
 * A token handed to a child (through a pipe, and through argv to a freshly exec'd process)
 * reaches the same object. A client inherited across fork() reconnects in the child and
 * takes its own references, while the parent's connection keeps working.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/authkey.h"
#include "mpx/dict.h"
#include "mpx/list.h"
#include "mpx/proxy.h"

#define WORKERS 4
#define PER_WORKER 1000

static t_manager M;

static void key_of(mpx_value *k, int worker, int j)
{
    char buf[32];
    snprintf(buf, sizeof buf, "w%d-%d", worker, j);
    *k = t_str(buf);
}

/* Worker i connects over TCP (even) or the unix socket (odd). */
static mpx_client *worker_client(int i)
{
    return t_connect(&M, M.addresses[i % 2]);
}

/* ---- 4 x 1,000 distinct __setitem__ ---------------------------------------------------- */

static void setitem_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = worker_client(i);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "conc-setitem", &d));
    for (int j = 0; j < PER_WORKER; j++) {
        mpx_value k, v = mpx_value_int((int64_t)i * 1000000 + j);
        key_of(&k, i, j);
        T_OK(c, mpx_dict_setitem(d, &k, &v));
        mpx_value_free(&k);
    }
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_concurrent_setitem(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "conc-setitem", &d));
    T_EQ_INT(t_fork_workers(WORKERS, setitem_worker, NULL, 60000), 0);
    size_t n = 0;
    T_OK(c, mpx_dict_len(d, &n));
    T_EQ_INT(n, WORKERS * PER_WORKER);
    mpx_value all;
    T_OK(c, mpx_dict_copy(d, &all));
    T_EQ_INT(mpx_value_len(&all), WORKERS * PER_WORKER);
    for (int i = 0; i < WORKERS; i++)
        for (int j = 0; j < PER_WORKER; j++) {
            mpx_value k, *found;
            key_of(&k, i, j);
            if (mpx_value_dict_find(&all, &k, &found) != MPX_OK)
                t_fail(__FILE__, __LINE__, "key w%d-%d missing", i, j);
            T_EQ_INT(mpx_value_kind(found), MPX_INT);
            T_EQ_INT(mpx_value_get_int(found), (int64_t)i * 1000000 + j);
            mpx_value_free(&k);
        }
    mpx_value_free(&all);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* ---- 4 x 1,000 appends to one list ------------------------------------------------------ */

static void append_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = worker_client(i);
    mpx_list *l;
    T_OK(c, mpx_list_open(c, "conc-append", &l));
    for (int j = 0; j < PER_WORKER; j++) {
        mpx_value v = mpx_value_int((int64_t)i * 1000000 + j);
        T_OK(c, mpx_list_append(l, &v));
    }
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_concurrent_append(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l;
    T_OK(c, mpx_list_open(c, "conc-append", &l));
    T_EQ_INT(t_fork_workers(WORKERS, append_worker, NULL, 60000), 0);
    size_t n = 0;
    T_OK(c, mpx_list_len(l, &n));
    T_EQ_INT(n, WORKERS * PER_WORKER);
    mpx_value all;
    T_OK(c, mpx_list_copy(l, &all));
    int next[WORKERS] = {0};
    for (size_t p = 0; p < mpx_value_len(&all); p++) {
        const mpx_value *v = mpx_value_at(&all, p);
        T_EQ_INT(mpx_value_kind(v), MPX_INT);
        int64_t x = mpx_value_get_int(v);
        int w = (int)(x / 1000000), j = (int)(x % 1000000);
        T_CHECK(w >= 0 && w < WORKERS);
        /* each worker's items arrive in its order, none lost, none twice */
        if (j != next[w])
            t_fail(__FILE__, __LINE__, "worker %d: item %d where %d was due", w, j, next[w]);
        next[w]++;
    }
    for (int w = 0; w < WORKERS; w++)
        T_EQ_INT(next[w], PER_WORKER);
    mpx_value_free(&all);
    mpx_list_close(l);
    mpx_client_close(c);
}

/* ---- racing setdefault, and setdefault + append through a shared list ----------------- */

static void setdefault_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = worker_client(i);
    mpx_dict *d;
    mpx_list *l;
    T_OK(c, mpx_dict_open(c, "conc-setdefault", &d));
    T_OK(c, mpx_list_open(c, "conc-setdefault-log", &l));
    for (int j = 0; j < PER_WORKER; j++) {
        mpx_value k = mpx_value_int(j), mine = mpx_value_int(i), got, again;
        T_OK(c, mpx_dict_setdefault(d, &k, &mine, &got));
        T_EQ_INT(mpx_value_kind(&got), MPX_INT);
        /* whoever won, the value stays: a later read agrees */
        T_OK(c, mpx_dict_getitem(d, &k, &again));
        T_EQ_INT(mpx_value_get_int(&again), mpx_value_get_int(&got));
        if (mpx_value_get_int(&got) == i) {
            /* this worker believes it won key j: log it */
            mpx_value entry = mpx_value_int((int64_t)j * 10 + i);
            T_OK(c, mpx_list_append(l, &entry));
        }
    }
    mpx_list_close(l);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_concurrent_setdefault(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    mpx_list *l;
    T_OK(c, mpx_dict_open(c, "conc-setdefault", &d));
    T_OK(c, mpx_list_open(c, "conc-setdefault-log", &l));
    T_EQ_INT(t_fork_workers(WORKERS, setdefault_worker, NULL, 60000), 0);
    size_t n = 0;
    T_OK(c, mpx_dict_len(d, &n));
    T_EQ_INT(n, PER_WORKER);
    /* exactly one winner per key, and it is the stored value */
    T_OK(c, mpx_list_len(l, &n));
    T_EQ_INT(n, PER_WORKER);
    mpx_value log, all;
    T_OK(c, mpx_list_copy(l, &log));
    T_OK(c, mpx_dict_copy(d, &all));
    char *seen = calloc(PER_WORKER, 1);
    T_CHECK(seen != NULL);
    for (size_t p = 0; p < mpx_value_len(&log); p++) {
        int64_t e = mpx_value_get_int(mpx_value_at(&log, p));
        int j = (int)(e / 10), w = (int)(e % 10);
        T_CHECK(j >= 0 && j < PER_WORKER);
        T_CHECK(!seen[j]);
        seen[j] = 1;
        mpx_value k = mpx_value_int(j), *found;
        T_OK(c, mpx_value_dict_find(&all, &k, &found));
        T_EQ_INT(mpx_value_get_int(found), w);
    }
    free(seen);
    mpx_value_free(&log);
    mpx_value_free(&all);
    mpx_list_close(l);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* ---- tokens ----------------------------------------------------------------------------- */

/* A fresh process: connect to the token's address with the key file, attach, check the
 * marker the parent set, and answer. Runs as `test_concurrent --attach-child TOKEN KEYFILE`. */
static int attach_child_main(const char *token, const char *keyfile)
{
    uint8_t *key;
    size_t keylen;
    char err[256], addr[MPX_TOKEN_MAX];
    if (mpx_authkey_load(keyfile, &key, &keylen, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "attach child: %s\n", err);
        return 1;
    }
    if (mpx_token_address(token, addr, sizeof addr) != MPX_OK) {
        fprintf(stderr, "attach child: bad token %s\n", token);
        return 1;
    }
    mpx_client *c = NULL;
    int rc = mpx_client_connect(addr, key, keylen, NULL, &c);
    free(key);
    T_OK(c, rc);
    mpx_dict *d;
    T_OK(c, mpx_dict_attach(c, token, &d));
    mpx_value k = t_str("marker"), v, out;
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_REPR(&out, "'set by the parent'");
    mpx_value_free(&out);
    mpx_value_free(&k);
    k = t_str("answer");
    v = t_str("set by the exec'd child");
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    mpx_value_free(&k);
    mpx_value_free(&v);
    mpx_dict_close(d);
    mpx_client_close(c);
    return 0;
}

static void case_token_through_pipe(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = NULL;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    mpx_value k = t_str("marker"), v = t_str("set by the parent");
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    mpx_value_free(&k);
    mpx_value_free(&v);
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_dict_token(d, token, sizeof token));

    int pfd[2];
    T_CHECK(pipe(pfd) == 0);
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        /* the child reads the token from the pipe and uses only its own new client */
        close(pfd[1]);
        char got[MPX_TOKEN_MAX + 1];
        size_t len = 0;
        ssize_t r;
        while (len < MPX_TOKEN_MAX && (r = read(pfd[0], got + len, MPX_TOKEN_MAX - len)) > 0)
            len += (size_t)r;
        got[len] = '\0';
        close(pfd[0]);
        char addr[MPX_TOKEN_MAX];
        T_OK(NULL, mpx_token_address(got, addr, sizeof addr));
        mpx_client *cc = t_connect(&M, addr);
        mpx_dict *dd;
        T_OK(cc, mpx_dict_attach(cc, got, &dd));
        mpx_value kk = t_str("marker"), out;
        T_OK(cc, mpx_dict_getitem(dd, &kk, &out));
        T_REPR(&out, "'set by the parent'");
        mpx_value_free(&out);
        mpx_value_free(&kk);
        kk = t_str("answer");
        mpx_value vv = t_str("set by the child");
        T_OK(cc, mpx_dict_setitem(dd, &kk, &vv));
        mpx_value_free(&kk);
        mpx_value_free(&vv);
        mpx_dict_close(dd);
        mpx_client_close(cc);
        exit(0);
    }
    close(pfd[0]);
    T_CHECK(write(pfd[1], token, strlen(token)) == (ssize_t)strlen(token));
    close(pfd[1]);
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    mpx_value out;
    k = t_str("answer");
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_REPR(&out, "'set by the child'");
    mpx_value_free(&out);
    mpx_value_free(&k);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_token_through_argv(void *arg)
{
    (void)arg;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    T_CHECK(n > 0);
    self[n] = '\0';
    mpx_client *c = t_connect(&M, M.addresses[1]); /* the unix socket this time */
    mpx_dict *d = NULL;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    mpx_value k = t_str("marker"), v = t_str("set by the parent");
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    mpx_value_free(&k);
    mpx_value_free(&v);
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_dict_token(d, token, sizeof token));
    T_CHECK(strncmp(token, "unix://", 7) == 0);

    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        execl(self, self, "--attach-child", token, M.keyfile, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", self, strerror(errno));
        _exit(127);
    }
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    mpx_value out;
    k = t_str("answer");
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_REPR(&out, "\"set by the exec'd child\"");
    mpx_value_free(&out);
    mpx_value_free(&k);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* ---- a client used after fork() ----------------------------------------------------------- */

static void set_str(mpx_client *c, mpx_dict *d, const char *key, const char *val)
{
    mpx_value k = t_str(key), v = t_str(val);
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    mpx_value_free(&k);
    mpx_value_free(&v);
}

static void expect_str(mpx_client *c, mpx_dict *d, const char *key, const char *want)
{
    mpx_value k = t_str(key), out;
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_STR);
    T_EQ_STR(mpx_value_str_data(&out), want);
    mpx_value_free(&out);
    mpx_value_free(&k);
}

static void case_client_after_fork(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "after-fork", &d));
    set_str(c, d, "parent", "before fork");

    int go[2], done[2];
    T_CHECK(pipe(go) == 0 && pipe(done) == 0);
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(done[0]);
        /* the inherited client and proxy: the first call reconnects */
        expect_str(c, d, "parent", "before fork");
        set_str(c, d, "child", "from the child");
        T_OK(c, mpx_client_ping(c));
        /* tell the parent, wait for it to use its connection meanwhile, go on */
        T_CHECK(write(done[1], "1", 1) == 1);
        char b;
        T_CHECK(read(go[0], &b, 1) == 1);
        expect_str(c, d, "parent", "while the child runs");
        for (int j = 0; j < 200; j++)
            set_str(c, d, "child-loop", "x");
        mpx_dict_close(d);
        mpx_client_close(c);
        exit(0);
    }
    close(go[0]);
    close(done[1]);
    char b;
    T_CHECK(read(done[0], &b, 1) == 1);
    /* the parent's own socket was not used by the child */
    expect_str(c, d, "child", "from the child");
    set_str(c, d, "parent", "while the child runs");
    T_CHECK(write(go[1], "1", 1) == 1);
    for (int j = 0; j < 200; j++)
        set_str(c, d, "parent-loop", "y");
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    /* after the child closed its client the parent's still works */
    expect_str(c, d, "child-loop", "x");
    T_OK(c, mpx_client_ping(c));
    close(go[1]);
    close(done[0]);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* The child's session takes its own reference: an anonymous dict survives the parent's
 * close as long as the child holds it. */
static void case_fork_child_holds_own_reference(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = NULL;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    set_str(c, d, "k", "v");
    uint64_t id = mpx_proxy_id(mpx_dict_proxy(d));

    int ready[2], closed[2];
    T_CHECK(pipe(ready) == 0 && pipe(closed) == 0);
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(closed[1]);
        expect_str(c, d, "k", "v"); /* reconnects, takes its references */
        T_CHECK(write(ready[1], "1", 1) == 1);
        char b;
        T_CHECK(read(closed[0], &b, 1) == 1);
        /* the parent has closed its proxy and client: the dict lives on for us */
        expect_str(c, d, "k", "v");
        set_str(c, d, "k2", "v2");
        mpx_dict_close(d);
        mpx_client_close(c);
        exit(0);
    }
    close(ready[1]);
    close(closed[0]);
    char b;
    T_CHECK(read(ready[0], &b, 1) == 1);
    mpx_dict_close(d);
    mpx_client_close(c);
    T_CHECK(write(closed[1], "1", 1) == 1);
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    close(ready[0]);
    close(closed[1]);
    /* now nobody holds it */
    mpx_client *w = t_connect(&M, NULL);
    mpx_value out;
    int rc = MPX_OK;
    for (int64_t end = t_now_ms() + 3000; t_now_ms() < end;) {
        rc = mpx_client_call(w, id, "__len__", NULL, 0, -1, &out);
        mpx_value_free(&out);
        if (rc == MPX_ENOOBJECT)
            break;
        usleep(20000);
    }
    T_RC(w, rc, MPX_ENOOBJECT);
    mpx_client_close(w);
}

/* A child that only closes the inherited client must not disturb the parent's socket. */
static void case_fork_child_closes_without_calling(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "fork-close", &d));
    set_str(c, d, "a", "1");
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        mpx_dict_close(d);
        mpx_client_close(c);
        exit(0);
    }
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    expect_str(c, d, "a", "1");
    set_str(c, d, "b", "2");
    T_OK(c, mpx_client_ping(c));
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* Several children share one inherited client object, each reconnecting on its own. */
static void inherited_worker(int i, void *arg)
{
    mpx_dict *d = arg;
    mpx_client *c = mpx_proxy_client(mpx_dict_proxy(d));
    for (int j = 0; j < 250; j++) {
        mpx_value k, v = mpx_value_int(j);
        key_of(&k, i, j);
        T_OK(c, mpx_dict_setitem(d, &k, &v));
        mpx_value_free(&k);
    }
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_many_children_inherit_one_client(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = NULL;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    set_str(c, d, "parent", "here");
    T_EQ_INT(t_fork_workers(WORKERS, inherited_worker, d, 60000), 0);
    size_t n = 0;
    T_OK(c, mpx_dict_len(d, &n));
    T_EQ_INT(n, WORKERS * 250 + 1);
    expect_str(c, d, "parent", "here");
    mpx_dict_close(d);
    mpx_client_close(c);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--attach-child") == 0)
        return attach_child_main(argv[2], argv[3]);
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    t_run_case("case_concurrent_setitem", case_concurrent_setitem, NULL, 90000);
    t_run_case("case_concurrent_append", case_concurrent_append, NULL, 90000);
    t_run_case("case_concurrent_setdefault", case_concurrent_setdefault, NULL, 90000);
    T_RUN(case_token_through_pipe, NULL);
    T_RUN(case_token_through_argv, NULL);
    T_RUN(case_client_after_fork, NULL);
    T_RUN(case_fork_child_holds_own_reference, NULL);
    T_RUN(case_fork_child_closes_without_calling, NULL);
    t_run_case("case_many_children_inherit_one_client", case_many_children_inherit_one_client,
               NULL, 90000);
    return t_finish_with_manager(&M);
}
