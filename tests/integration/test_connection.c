/* test_connection.c - mpx/connection.h between real processes: a C listener and C clients
 * across fork over TCP and unix sockets, mpx_pipe across fork, the refusals (wrong keys on
 * either side and in either leg of the mutual handshake, oversized and malformed
 * messages, peers that die or stall mid-message), and a stock Python 3
 * multiprocessing.connection on the other side, as Client and as Listener.
 *
 * Each case runs in its own forked child (the harness); each peer it needs is a process
 * it forks (or execs: python3 from PATH) and waits for by pid, with a deadline. Sockets
 * live in a temp dir of this run, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/connection.h"

static const char KEY[] = "conn-test-key";
#define KEYLEN (sizeof KEY - 1)
static char dir[128];

/* expr must return want; the handle's message is printed when it does not. */
#define C_RC(c, expr, want)                                                               \
    do {                                                                                  \
        int c_rc_ = (expr), c_want_ = (want);                                             \
        if (c_rc_ != c_want_)                                                             \
            t_fail(__FILE__, __LINE__, "%s: got %d %s, expected %d %s (conn: \"%s\")",    \
                   #expr, c_rc_, mpx_err_name(c_rc_), c_want_, mpx_err_name(c_want_),     \
                   (c) != NULL ? mpx_conn_errmsg(c) : "");                                \
    } while (0)
#define C_OK(c, expr) C_RC(c, expr, MPX_OK)
#define L_RC(l, expr, want)                                                               \
    do {                                                                                  \
        int l_rc_ = (expr), l_want_ = (want);                                             \
        if (l_rc_ != l_want_)                                                             \
            t_fail(__FILE__, __LINE__, "%s: got %d %s, expected %d %s (listener: \"%s\")",\
                   #expr, l_rc_, mpx_err_name(l_rc_), l_want_, mpx_err_name(l_want_),     \
                   mpx_listener_errmsg(l));                                               \
    } while (0)
#define L_OK(l, expr) L_RC(l, expr, MPX_OK)
#define HAS(text, needle)                                                                 \
    do {                                                                                  \
        if (strstr((text), (needle)) == NULL)                                             \
            t_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", (text), (needle)); \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------------ */

/* "tcp" (127.0.0.1, any port) or a unix socket in the run's dir named after tag. */
static void address_for(const char *kind, const char *tag, char *buf, size_t size)
{
    if (strcmp(kind, "unix") == 0)
        snprintf(buf, size, "unix://%s/%s.sock", dir, tag);
    else
        snprintf(buf, size, "tcp://127.0.0.1:0");
}

static mpx_listener *listen_on(const char *kind, const char *tag, const void *key,
                               size_t keylen, const mpx_conn_opts *opts)
{
    char addr[256];
    address_for(kind, tag, addr, sizeof addr);
    mpx_listener *l;
    int rc = mpx_listener_open(addr, key, keylen, opts, &l);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "listen on %s: %s", addr, l ? mpx_listener_errmsg(l) : "");
    return l;
}

static mpx_conn *connect_to(const mpx_listener *l, const void *key, size_t keylen)
{
    mpx_conn *c;
    int rc = mpx_conn_connect(mpx_listener_address(l), key, keylen, NULL, &c);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "connect to %s: %s", mpx_listener_address(l),
               c ? mpx_conn_errmsg(c) : "");
    return c;
}

static mpx_conn *accept_one(mpx_listener *l)
{
    mpx_conn *c;
    L_OK(l, mpx_listener_accept(l, 10, &c));
    return c;
}

typedef void (*peer_fn)(void *arg);

/* Forks a peer running fn(arg); it exits 0 when fn returns, 1 when a check failed. */
static pid_t spawn(peer_fn fn, void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    return pid;
}

static void expect_peer_ok(pid_t pid)
{
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
}

static void send_str(mpx_conn *c, const char *s)
{
    C_OK(c, mpx_conn_send_bytes(c, s, strlen(s)));
}

static void expect_bytes(mpx_conn *c, const char *s)
{
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 10, &buf, &len));
    if (len != strlen(s) || memcmp(buf, s, len) != 0)
        t_fail(__FILE__, __LINE__, "received \"%.*s\", expected \"%s\"", (int)len, buf, s);
    free(buf);
}

static void send_literal(mpx_conn *c, const char *literal)
{
    mpx_value v = t_val(literal);
    C_OK(c, mpx_conn_send(c, &v));
    mpx_value_free(&v);
}

static void expect_value(mpx_conn *c, const char *repr)
{
    mpx_value v;
    C_OK(c, mpx_conn_recv(c, 10, &v));
    T_REPR(&v, repr);
    mpx_value_free(&v);
}

/* Writes raw bytes on the connection's socket: headers no mpx_conn would send. */
static void write_raw(mpx_conn *c, const void *buf, size_t len)
{
    T_EQ_INT(write(mpx_conn_fileno(c), buf, len), (ssize_t)len);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len);
    T_CHECK(p != NULL);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
    return p;
}

/* ---- C listener, C client ----------------------------------------------------------------- */

static const char *const VALUES[] = {
    "None", "True", "False", "0", "-1", "255", "65536", "-2147483649", "9223372036854775807",
    "-9223372036854775808", "1.5", "-0.0", "1e+300", "''", "'h\\xe9llo w\\u00f6rld \\u2603'",
    "b''", "b'\\x00\\xff\\n'", "[]", "()", "(1,)", "[1, [2, [3, []]], (4, 5)]",
    "{'k': [1, 2], 3: (None, True), (1, 'a'): b'x', 2.5: {}}", "(1, 2, 3, 4, 5)",
};
#define NVALUES (sizeof VALUES / sizeof VALUES[0])

static void echo_client(void *arg)
{
    mpx_listener *l = arg;
    mpx_conn *c = connect_to(l, KEY, KEYLEN);
    mpx_listener_close(l); /* the child's copy: the parent's socket file must stay */
    send_str(c, "hello");
    expect_bytes(c, "HELLO");
    C_OK(c, mpx_conn_send_bytes(c, "", 0));
    expect_bytes(c, "");
    for (size_t i = 0; i < NVALUES; i++) {
        send_literal(c, VALUES[i]);
        mpx_value v;
        C_OK(c, mpx_conn_recv(c, 10, &v));
        mpx_value want = t_val(VALUES[i]);
        char *got = mpx_value_repr(&v), *exp = mpx_value_repr(&want);
        T_EQ_STR(got, exp); /* and of the same kind: a tuple stays a tuple */
        T_EQ_INT(mpx_value_kind(&v), mpx_value_kind(&want));
        free(got);
        free(exp);
        mpx_value_free(&v);
        mpx_value_free(&want);
    }
    mpx_conn_close(c);
}

static void check_echo(const char *kind)
{
    mpx_listener *l = listen_on(kind, "echo", KEY, KEYLEN, NULL);
    const char *addr = mpx_listener_address(l);
    if (strcmp(kind, "tcp") == 0)
        T_CHECK(strncmp(addr, "tcp://127.0.0.1:", 16) == 0 && strcmp(addr + 16, "0") != 0);
    pid_t pid = spawn(echo_client, l);
    mpx_conn *c = accept_one(l);
    expect_bytes(c, "hello");
    send_str(c, "HELLO");
    expect_bytes(c, "");
    C_OK(c, mpx_conn_send_bytes(c, NULL, 0));
    for (size_t i = 0; i < NVALUES; i++) {
        mpx_value v;
        C_OK(c, mpx_conn_recv(c, 10, &v));
        C_OK(c, mpx_conn_send(c, &v));
        mpx_value_free(&v);
    }
    mpx_value v; /* then the client hangs up: EOF between messages */
    C_RC(c, mpx_conn_recv(c, 10, &v), MPX_ECLOSED);
    C_RC(c, mpx_conn_recv(c, 10, &v), MPX_ECLOSED);
    expect_peer_ok(pid);
    mpx_conn_close(c);
    if (strcmp(kind, "unix") == 0) {
        struct stat st;
        T_CHECK(stat(addr + strlen("unix://"), &st) == 0);
        char path[256];
        snprintf(path, sizeof path, "%s", addr + strlen("unix://"));
        mpx_listener_close(l);
        T_CHECK(stat(path, &st) != 0 && errno == ENOENT);
    } else {
        mpx_listener_close(l);
    }
}

static void case_roundtrip_tcp(void *arg)
{
    (void)arg;
    check_echo("tcp");
}

static void case_roundtrip_unix(void *arg)
{
    (void)arg;
    check_echo("unix");
}

#define BIG_BYTES ((size_t)5 << 20)
#define BIG_STR ((size_t)2 << 20)

static void big_client(void *arg)
{
    mpx_conn *c = connect_to(arg, KEY, KEYLEN);
    uint8_t *buf, *want = pattern(BIG_BYTES, 7);
    size_t len;
    C_OK(c, mpx_conn_send_bytes(c, want, BIG_BYTES));
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, BIG_BYTES);
    T_CHECK(memcmp(buf, want, len) == 0);
    free(buf);
    free(want);
    mpx_value v;
    C_OK(c, mpx_conn_recv(c, 20, &v));
    T_EQ_INT(mpx_value_kind(&v), MPX_LIST);
    mpx_value *s = mpx_value_at(&v, 0);
    T_EQ_INT(mpx_value_kind(s), MPX_STR);
    T_EQ_INT(mpx_value_str_len(s), BIG_STR);
    T_CHECK(mpx_value_str_data(s)[BIG_STR - 1] == 'z');
    C_OK(c, mpx_conn_send(c, &v));
    mpx_value_free(&v);
    mpx_conn_close(c);
}

/* Messages of MiBs both ways, bytes and a value, on TCP and on a unix socket. */
static void check_big(const char *kind)
{
    mpx_listener *l = listen_on(kind, "big", KEY, KEYLEN, NULL);
    pid_t pid = spawn(big_client, l);
    mpx_conn *c = accept_one(l);
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, BIG_BYTES);
    C_OK(c, mpx_conn_send_bytes(c, buf, len));
    free(buf);
    char *text = malloc(BIG_STR + 1);
    T_CHECK(text != NULL);
    memset(text, 'z', BIG_STR);
    text[BIG_STR] = '\0';
    mpx_value list, s;
    T_CHECK(mpx_value_list(&list, 1) == MPX_OK && mpx_value_str(&s, text) == MPX_OK);
    T_CHECK(mpx_value_append(&list, &s) == MPX_OK);
    C_OK(c, mpx_conn_send(c, &list));
    mpx_value back;
    C_OK(c, mpx_conn_recv(c, 20, &back));
    T_CHECK(mpx_value_equal(&back, &list));
    mpx_value_free(&back);
    mpx_value_free(&list);
    free(text);
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

static void case_large_messages_tcp(void *arg)
{
    (void)arg;
    check_big("tcp");
}

static void case_large_messages_unix(void *arg)
{
    (void)arg;
    check_big("unix");
}

/* A long header (-1, then 8 bytes) for a small payload is read as Python reads it. */
static void case_long_header_accepted(void *arg)
{
    (void)arg;
    mpx_conn *a, *b;
    T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
    static const uint8_t msg[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
    write_raw(a, msg, sizeof msg);
    expect_bytes(b, "abc");
    mpx_conn_close(a);
    mpx_conn_close(b);
}

static void poll_client(void *arg)
{
    mpx_conn *c = connect_to(arg, KEY, KEYLEN);
    expect_bytes(c, "go");  /* the listener has seen poll say false */
    usleep(300000);         /* while it polls with a longer timeout */
    send_str(c, "now");
    expect_bytes(c, "bye");
    mpx_conn_close(c);
}

static void case_poll(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("tcp", "poll", KEY, KEYLEN, NULL);
    pid_t pid = spawn(poll_client, l);
    mpx_conn *c = accept_one(l);
    bool ready = true;
    C_OK(c, mpx_conn_poll(c, 0, &ready));
    T_CHECK(!ready);
    int64_t t0 = t_now_ms();
    C_OK(c, mpx_conn_poll(c, 0.2, &ready));
    int64_t took = t_now_ms() - t0;
    T_CHECK(!ready);
    T_CHECK(took >= 180 && took < 3000);
    send_str(c, "go");
    t0 = t_now_ms();
    C_OK(c, mpx_conn_poll(c, 10, &ready)); /* true when "now" arrives, well before 10 s */
    T_CHECK(ready);
    T_CHECK(t_now_ms() - t0 < 8000);
    C_OK(c, mpx_conn_poll(c, 0, &ready));
    T_CHECK(ready);
    expect_bytes(c, "now");
    C_OK(c, mpx_conn_poll(c, 0, &ready)); /* exactly one message was read: nothing left */
    T_CHECK(!ready);
    send_str(c, "bye");
    C_OK(c, mpx_conn_poll(c, 10, &ready)); /* the peer's close also makes it ready */
    T_CHECK(ready);
    uint8_t *buf;
    size_t len;
    C_RC(c, mpx_conn_recv_bytes(c, 5, &buf, &len), MPX_ECLOSED);
    T_CHECK(buf == NULL && len == 0);
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

/* The fd says the same as poll: a select-style loop can wait on it. */
static void case_fileno_pollable(void *arg)
{
    (void)arg;
    mpx_conn *a, *b;
    T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
    T_CHECK(mpx_conn_fileno(a) >= 0 && mpx_conn_fileno(b) >= 0);
    send_str(a, "one");
    send_str(a, "two");
    struct pollfd p = {.fd = mpx_conn_fileno(b), .events = POLLIN};
    T_EQ_INT(poll(&p, 1, 5000), 1);
    expect_bytes(b, "one");
    T_EQ_INT(poll(&p, 1, 0), 1); /* "two" is still in the socket, not in a buffer */
    expect_bytes(b, "two");
    T_EQ_INT(poll(&p, 1, 0), 0);
    mpx_conn_close(a);
    mpx_conn_close(b);
}

/* ---- authentication -------------------------------------------------------------------- */

static void wrong_key_client(void *arg)
{
    mpx_listener *l = arg;
    mpx_conn *c;
    C_RC(c, mpx_conn_connect(mpx_listener_address(l), "wrong", 5, NULL, &c), MPX_EAUTH);
    HAS(mpx_conn_errmsg(c), "refused the key");
    T_EQ_INT(mpx_conn_fileno(c), -1);
    uint8_t *buf;
    size_t len;
    C_RC(c, mpx_conn_recv_bytes(c, 1, &buf, &len), MPX_ECLOSED); /* a failed handle */
    mpx_conn_close(c);
    c = connect_to(l, KEY, KEYLEN); /* the listener goes on */
    expect_bytes(c, "welcome");
    mpx_conn_close(c);
}

static void check_wrong_key(const char *kind)
{
    mpx_listener *l = listen_on(kind, "wrongkey", KEY, KEYLEN, NULL);
    pid_t pid = spawn(wrong_key_client, l);
    mpx_conn *c;
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_EAUTH);
    T_CHECK(c == NULL);
    HAS(mpx_listener_errmsg(l), "digest received was wrong");
    c = accept_one(l);
    send_str(c, "welcome");
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

static void case_wrong_key_tcp(void *arg)
{
    (void)arg;
    check_wrong_key("tcp");
}

static void case_wrong_key_unix(void *arg)
{
    (void)arg;
    check_wrong_key("unix");
}

/* The listener has the wrong key: the same refusal, seen from the other side. */
static void listener_wrong_key_client(void *arg)
{
    mpx_conn *c;
    C_RC(c, mpx_conn_connect(arg, KEY, KEYLEN, NULL, &c), MPX_EAUTH);
    HAS(mpx_conn_errmsg(c), "refused the key");
    mpx_conn_close(c);
}

static void case_listener_has_wrong_key(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("tcp", "lwrong", "other key", 9, NULL);
    pid_t pid = spawn(listener_wrong_key_client, (void *)mpx_listener_address(l));
    mpx_conn *c;
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_EAUTH);
    HAS(mpx_listener_errmsg(l), "handshake with 127.0.0.1:");
    expect_peer_ok(pid);
    mpx_listener_close(l);
}

/* A key on one side only: a keyless client never answers the challenge; a keyed client
 * of a keyless listener gets no challenge (and times out) or a message that is none. */
static void keyless_client(void *arg)
{
    mpx_conn *c = connect_to(arg, NULL, 0);
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 10, &buf, &len)); /* the challenge, as a message */
    T_CHECK(len > 11 && memcmp(buf, "#CHALLENGE#", 11) == 0);
    free(buf);
    send_str(c, "I have no key");
    expect_bytes(c, "#FAILURE#");
    mpx_conn_close(c);
}

static void keyed_client_of_keyless(void *arg)
{
    mpx_listener *l = arg;
    mpx_conn_opts o;
    mpx_conn_opts_init(&o);
    o.handshake_timeout_ms = 300;
    mpx_conn *c;
    C_RC(c, mpx_conn_connect(mpx_listener_address(l), KEY, KEYLEN, &o, &c), MPX_ETIMEOUT);
    HAS(mpx_conn_errmsg(c), "handshake");
    mpx_conn_close(c);
    C_RC(c, mpx_conn_connect(mpx_listener_address(l), KEY, KEYLEN, &o, &c), MPX_EAUTH);
    HAS(mpx_conn_errmsg(c), "expected a challenge");
    mpx_conn_close(c);
}

static void case_key_on_one_side(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("unix", "oneside", KEY, KEYLEN, NULL);
    pid_t pid = spawn(keyless_client, l);
    mpx_conn *c;
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_EAUTH);
    expect_peer_ok(pid);
    mpx_listener_close(l);

    l = listen_on("unix", "keyless", NULL, 0, NULL);
    pid = spawn(keyed_client_of_keyless, l);
    c = accept_one(l); /* no handshake: the client waits for a challenge that never comes */
    uint8_t *buf;
    size_t len;
    C_RC(c, mpx_conn_recv_bytes(c, 10, &buf, &len), MPX_ECLOSED);
    mpx_conn_close(c);
    c = accept_one(l);
    send_str(c, "hello, no challenge here");
    C_RC(c, mpx_conn_recv_bytes(c, 10, &buf, &len), MPX_ECLOSED);
    mpx_conn_close(c);
    expect_peer_ok(pid);
    mpx_listener_close(l);

    mpx_listener *bad; /* an empty key is neither a key nor none */
    T_EQ_INT(mpx_listener_open("tcp://127.0.0.1:0", "", 0, NULL, &bad), MPX_EINVAL);
    mpx_listener_close(bad);
}

/* The second leg: a listener that welcomes any answer but cannot answer the client's own
 * challenge (it does not know the key) is refused by the client, which says #FAILURE#. */
static void mutual_client(void *arg)
{
    mpx_conn *c;
    C_RC(c, mpx_conn_connect(arg, KEY, KEYLEN, NULL, &c), MPX_EAUTH);
    HAS(mpx_conn_errmsg(c), "does not know the key");
    mpx_conn_close(c);
}

static void case_mutual_auth_impostor_listener(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("tcp", "impostor", NULL, 0, NULL);
    pid_t pid = spawn(mutual_client, (void *)mpx_listener_address(l));
    mpx_conn *c = accept_one(l);
    char challenge[64] = "#CHALLENGE#{sha256}";
    size_t n = strlen(challenge);
    memset(challenge + n, 'r', 40);
    C_OK(c, mpx_conn_send_bytes(c, challenge, n + 40));
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 10, &buf, &len)); /* the client's answer: ignored */
    T_CHECK(len == 8 + 32 && memcmp(buf, "{sha256}", 8) == 0);
    free(buf);
    send_str(c, "#WELCOME#");
    C_OK(c, mpx_conn_recv_bytes(c, 10, &buf, &len)); /* the client's challenge */
    T_CHECK(len > 11 && memcmp(buf, "#CHALLENGE#", 11) == 0);
    free(buf);
    char forged[40] = "{sha256}"; /* 32 zero bytes for a MAC */
    C_OK(c, mpx_conn_send_bytes(c, forged, sizeof forged));
    expect_bytes(c, "#FAILURE#");
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

/* accept's timeout, a peer silent in the handshake, and the listener still accepting. */
static void silent_then_good(void *arg)
{
    mpx_listener *l = arg;
    mpx_conn *c = connect_to(l, NULL, 0); /* connects, then says nothing */
    usleep(1000000);
    mpx_conn_close(c);
    c = connect_to(l, KEY, KEYLEN);
    send_str(c, "late but right");
    mpx_conn_close(c);
}

static void case_accept_timeouts(void *arg)
{
    (void)arg;
    mpx_conn_opts o;
    mpx_conn_opts_init(&o);
    o.handshake_timeout_ms = 300;
    mpx_listener *l = listen_on("tcp", "timeouts", KEY, KEYLEN, &o);
    mpx_conn *c;
    int64_t t0 = t_now_ms();
    L_RC(l, mpx_listener_accept(l, 0.2, &c), MPX_ETIMEOUT);
    T_CHECK(t_now_ms() - t0 >= 180);
    pid_t pid = spawn(silent_then_good, l);
    t0 = t_now_ms();
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_ETIMEOUT);
    T_CHECK(t_now_ms() - t0 < 5000);
    HAS(mpx_listener_errmsg(l), "handshake");
    c = accept_one(l);
    expect_bytes(c, "late but right");
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

static void case_listener_errors(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("unix", "taken", NULL, 0, NULL), *again;
    char addr[256];
    snprintf(addr, sizeof addr, "%s", mpx_listener_address(l));
    T_EQ_INT(mpx_listener_open(addr, NULL, 0, NULL, &again), MPX_EADDR);
    HAS(mpx_listener_errmsg(again), "in use");
    T_EQ_INT(mpx_listener_fileno(again), -1);
    mpx_conn *c;
    T_EQ_INT(mpx_listener_accept(again, 0, &c), MPX_ECLOSED);
    mpx_listener_close(again);
    T_EQ_INT(mpx_listener_open("udp://x:1", NULL, 0, NULL, &again), MPX_EADDR);
    HAS(mpx_listener_errmsg(again), "unknown scheme");
    mpx_listener_close(again);
    mpx_listener_close(l);
    T_EQ_INT(mpx_conn_connect(addr, NULL, 0, NULL, &c), MPX_EIO); /* nobody there now */
    HAS(mpx_conn_errmsg(c), "cannot connect");
    mpx_conn_close(c);
}

/* ---- bounded input -------------------------------------------------------------------- */

static void oversize_client(void *arg)
{
    mpx_conn *c = connect_to(arg, KEY, KEYLEN);
    uint8_t *p = pattern(1001, 1);
    C_OK(c, mpx_conn_send_bytes(c, p, 1000)); /* at the limit: taken */
    C_OK(c, mpx_conn_send_bytes(c, p, 1001)); /* one over */
    free(p);
    expect_bytes(c, "I can still send");
    mpx_conn_close(c);
}

static void case_oversized_refused(void *arg)
{
    (void)arg;
    mpx_conn_opts o;
    mpx_conn_opts_init(&o);
    o.max_message = 1000;
    mpx_listener *l = listen_on("tcp", "oversize", KEY, KEYLEN, &o);
    pid_t pid = spawn(oversize_client, l);
    mpx_conn *c = accept_one(l);
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 10, &buf, &len));
    T_EQ_INT(len, 1000);
    free(buf);
    C_RC(c, mpx_conn_recv_bytes(c, 10, &buf, &len), MPX_ETOOBIG);
    HAS(mpx_conn_errmsg(c), "1001 bytes is over the limit of 1000");
    mpx_value v;
    C_RC(c, mpx_conn_recv(c, 1, &v), MPX_ETOOBIG); /* no resync: the framing is gone */
    HAS(mpx_conn_errmsg(c), "can no longer receive");
    bool ready;
    C_RC(c, mpx_conn_poll(c, 0, &ready), MPX_ETOOBIG);
    send_str(c, "I can still send");
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

/* Headers announcing more than the limit, up to 2^62 bytes, are refused at once, without
 * waiting for (or allocating) a payload; a negative length is a protocol error. */
static void case_bad_headers(void *arg)
{
    (void)arg;
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t over[] = {0x04, 0x00, 0x00, 0x01};     /* 64 MiB + 1 */
    static const uint8_t negative[] = {0xff, 0xff, 0xff, 0xfe}; /* -2 */
    const struct {
        const uint8_t *bytes;
        size_t len;
        int rc;
        const char *says;
    } cases[] = {
        {huge, sizeof huge, MPX_ETOOBIG, "4611686018427387904 bytes is over the limit"},
        {over, sizeof over, MPX_ETOOBIG, "67108865 bytes is over the limit of 67108864"},
        {negative, sizeof negative, MPX_EPROTO, "bad message header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mpx_conn *a, *b;
        T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
        write_raw(a, cases[i].bytes, cases[i].len);
        uint8_t *buf;
        size_t len;
        int64_t t0 = t_now_ms();
        C_RC(b, mpx_conn_recv_bytes(b, 10, &buf, &len), cases[i].rc);
        T_CHECK(t_now_ms() - t0 < 5000);
        HAS(mpx_conn_errmsg(b), cases[i].says);
        send_str(b, "still writable");
        expect_bytes(a, "still writable");
        mpx_conn_close(a);
        mpx_conn_close(b);
    }
}

/* A peer that stalls mid-message: the recv times out and keeps what came; the rest
 * completes the same message. */
static void case_stalled_message_resumes(void *arg)
{
    (void)arg;
    mpx_conn *a, *b;
    T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
    static const uint8_t head[] = {0, 0, 0, 10, 'h', 'a', 'l', 'f'};
    write_raw(a, head, 2); /* half a header */
    uint8_t *buf;
    size_t len;
    C_RC(b, mpx_conn_recv_bytes(b, 0.1, &buf, &len), MPX_ETIMEOUT);
    write_raw(a, head + 2, sizeof head - 2);
    C_RC(b, mpx_conn_recv_bytes(b, 0.1, &buf, &len), MPX_ETIMEOUT);
    HAS(mpx_conn_errmsg(b), "kept");
    write_raw(a, " done", 5);
    C_RC(b, mpx_conn_recv_bytes(b, 0, &buf, &len), MPX_ETIMEOUT); /* 9 of 10 */
    write_raw(a, "!", 1);
    send_str(a, "next");
    C_OK(b, mpx_conn_recv_bytes(b, 5, &buf, &len)); /* stops at the 10th byte */
    T_EQ_INT(len, 10);
    T_CHECK(memcmp(buf, "half done!", 10) == 0);
    free(buf);
    expect_bytes(b, "next");
    mpx_conn_close(a);
    mpx_conn_close(b);
}

typedef struct dying_peer {
    mpx_conn *end;  /* the end it writes on */
    size_t header;  /* bytes of the header to write (4: all of it) */
    size_t payload; /* payload bytes to write of the 100000 announced */
    int ready;      /* pipe: it wrote them */
} dying_peer;

static void die_mid_message(void *arg)
{
    dying_peer *d = arg;
    static uint8_t bytes[4 + 100000] = {0, 1, 0x86, 0xa0}; /* 100000 */
    write_raw(d->end, bytes, d->header + d->payload);
    T_EQ_INT(write(d->ready, "x", 1), 1);
    for (int i = 0; i < 300; i++) /* killed long before the 30 s are up */
        usleep(100000);
}

/* The peer is SIGKILLed with part of a message sent: the recv says so (MPX_EIO), and the
 * connection receives no more; mid-header too. */
static void case_peer_killed_mid_message(void *arg)
{
    (void)arg;
    const size_t shapes[][2] = {{4, 5000}, {2, 0}, {4, 0}};
    for (size_t i = 0; i < 3; i++) {
        mpx_conn *a, *b;
        T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
        int p[2];
        T_CHECK(pipe(p) == 0);
        dying_peer d = {.end = a, .header = shapes[i][0], .payload = shapes[i][1],
                        .ready = p[1]};
        pid_t pid = spawn(die_mid_message, &d);
        mpx_conn_close(a); /* the child's is the only writer left */
        char x;
        T_EQ_INT(read(p[0], &x, 1), 1);
        close(p[0]);
        close(p[1]);
        kill(pid, SIGKILL);
        T_EQ_INT(t_wait_pid(pid, 10000), -1);
        uint8_t *buf;
        size_t len;
        C_RC(b, mpx_conn_recv_bytes(b, 10, &buf, &len), MPX_EIO);
        HAS(mpx_conn_errmsg(b), "in the middle of a message");
        C_RC(b, mpx_conn_recv_bytes(b, 10, &buf, &len), MPX_EIO);
        HAS(mpx_conn_errmsg(b), "can no longer receive");
        mpx_conn_close(b);
    }
}

/* Messages that are no pickle mpx takes are refused one by one; the next one is read. */
static void case_refused_values_keep_connection(void *arg)
{
    (void)arg;
    mpx_conn *a, *b;
    T_EQ_INT(mpx_pipe(&a, &b), MPX_OK);
    send_str(a, "plain bytes");
    static const uint8_t set[] = {0x80, 0x04, 0x8f, 0x94, 0x28, 'K', 1, 0x90, '.'};
    static const uint8_t os_system[] = "\x80\x04\x95\x14\x00\x00\x00\x00\x00\x00\x00\x8c"
                                       "\x05posix\x94\x8c\x06system\x94\x93\x94.";
    static const uint8_t truncated[] = {0x80, 0x04, 0x95, 0x05, 0, 0, 0, 0, 0, 0, 0, 'K'};
    static const uint8_t big_int[] = {0x80, 0x04, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, '.'};
    C_OK(a, mpx_conn_send_bytes(a, set, sizeof set));
    C_OK(a, mpx_conn_send_bytes(a, os_system, sizeof os_system - 1));
    C_OK(a, mpx_conn_send_bytes(a, truncated, sizeof truncated));
    C_OK(a, mpx_conn_send_bytes(a, big_int, sizeof big_int));
    send_literal(a, "{'after': 'all that'}");
    mpx_value v;
    C_RC(b, mpx_conn_recv(b, 5, &v), MPX_EPROTO);
    HAS(mpx_conn_errmsg(b), "not a pickle");
    C_OK(b, mpx_conn_recv(b, 5, &v)); /* a set is data now */
    T_REPR(&v, "{1}");
    mpx_value_free(&v);
    C_RC(b, mpx_conn_recv(b, 5, &v), MPX_EVALUE);
    HAS(mpx_conn_errmsg(b), "system");
    C_RC(b, mpx_conn_recv(b, 5, &v), MPX_EPROTO);
    C_RC(b, mpx_conn_recv(b, 5, &v), MPX_EOVERFLOW);
    T_EQ_INT(mpx_value_kind(&v), MPX_NONE);
    expect_value(b, "{'after': 'all that'}");
    /* and what has no data pickle is refused on the way out, the connection unharmed */
    mpx_value ref;
    T_CHECK(mpx_value_ref(&ref, 42, "dict") == MPX_OK);
    C_RC(a, mpx_conn_send(a, &ref), MPX_EVALUE);
    HAS(mpx_conn_errmsg(a), "cannot pickle");
    mpx_value_free(&ref);
    send_literal(a, "'fine'");
    expect_value(b, "'fine'");
    mpx_conn_close(a);
    mpx_conn_close(b);
}

/* A peer that does not read: a send with a timeout gives up, and sending is over (part of
 * a message may have gone), while receiving still works. */
typedef struct unread {
    mpx_listener *l;
    int done; /* readable when the sender is through */
} unread;

static void unread_peer(void *arg)
{
    unread *u = arg;
    mpx_conn *c = connect_to(u->l, NULL, 0);
    send_str(c, "not reading");
    struct pollfd p = {.fd = u->done, .events = POLLIN};
    T_EQ_INT(poll(&p, 1, 20000), 1); /* and reads nothing meanwhile */
    mpx_conn_close(c);
}

static void case_send_timeout(void *arg)
{
    (void)arg;
    mpx_conn_opts o = {0};
    o.send_timeout_ms = 200;
    int done[2];
    T_CHECK(pipe(done) == 0);
    unread u = {listen_on("unix", "sendtimeout", NULL, 0, &o), done[0]};
    mpx_listener *l = u.l;
    pid_t pid = spawn(unread_peer, &u);
    mpx_conn *c = accept_one(l);
    expect_bytes(c, "not reading");
    uint8_t *chunk = pattern((size_t)1 << 20, 5);
    int rc = MPX_OK;
    for (int i = 0; i < 256 && rc == MPX_OK; i++) /* the socket buffers are far smaller */
        rc = mpx_conn_send_bytes(c, chunk, (size_t)1 << 20);
    free(chunk);
    C_RC(c, rc, MPX_ETIMEOUT);
    HAS(mpx_conn_errmsg(c), "timed out");
    C_RC(c, mpx_conn_send_bytes(c, "x", 1), MPX_ETIMEOUT);
    HAS(mpx_conn_errmsg(c), "can no longer send");
    T_EQ_INT(write(done[1], "x", 1), 1);
    close(done[0]);
    close(done[1]);
    expect_peer_ok(pid);
    uint8_t *buf;
    size_t len;
    /* it closed with our bytes unread: a reset (OSError in Python too), not an EOF */
    C_RC(c, mpx_conn_recv_bytes(c, 10, &buf, &len), MPX_EIO);
    HAS(mpx_conn_errmsg(c), "reset");
    mpx_conn_close(c);
    mpx_listener_close(l);
}

/* ---- mpx_pipe across fork ----------------------------------------------------------- */

typedef struct pipe_pair {
    mpx_conn *parent_end, *child_end;
} pipe_pair;

#define PIPE_BIG ((size_t)3 << 20)

static void pipe_child(void *arg)
{
    pipe_pair *pp = arg;
    mpx_conn_close(pp->parent_end);
    mpx_conn *c = pp->child_end;
    send_literal(c, "('ready', 1)"); /* child to parent first */
    mpx_value v;
    C_OK(c, mpx_conn_recv(c, 10, &v));
    T_REPR(&v, "[1, 2, 3]");
    mpx_value none = mpx_value_none();
    T_CHECK(mpx_value_append(&v, &none) == MPX_OK);
    C_OK(c, mpx_conn_send(c, &v));
    mpx_value_free(&v);
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, PIPE_BIG);
    C_OK(c, mpx_conn_send_bytes(c, buf, len)); /* back, 3 MiB: more than a socket buffer */
    free(buf);
    mpx_conn_close(c); /* then the parent sees EOF */
}

static void case_pipe_across_fork(void *arg)
{
    (void)arg;
    pipe_pair pp;
    T_EQ_INT(mpx_pipe(&pp.parent_end, &pp.child_end), MPX_OK);
    pid_t pid = spawn(pipe_child, &pp);
    mpx_conn_close(pp.child_end); /* else the parent's own copy would hide the child's EOF */
    mpx_conn *c = pp.parent_end;
    expect_value(c, "('ready', 1)");
    send_literal(c, "[1, 2, 3]");
    expect_value(c, "[1, 2, 3, None]");
    uint8_t *big = pattern(PIPE_BIG, 3), *buf;
    size_t len;
    C_OK(c, mpx_conn_send_bytes(c, big, PIPE_BIG));
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, PIPE_BIG);
    T_CHECK(memcmp(buf, big, len) == 0);
    free(buf);
    free(big);
    C_RC(c, mpx_conn_recv_bytes(c, 10, &buf, &len), MPX_ECLOSED);
    HAS(mpx_conn_errmsg(c), "peer closed");
    expect_peer_ok(pid);
    /* and a send to a peer that is gone fails, never raising SIGPIPE */
    int rc = MPX_OK;
    for (int i = 0; i < 100 && rc == MPX_OK; i++)
        rc = mpx_conn_send_bytes(c, "anyone?", 7);
    C_RC(c, rc, MPX_EIO);
    HAS(mpx_conn_errmsg(c), "peer has closed");
    mpx_conn_close(c);
}

/* ---- Python on the other side --------------------------------------------------------- */

/* The script's helpers: an mpx address as Python's, the key from argv. */
#define PY_PRELUDE                                                                         \
    "import os, sys, multiprocessing.connection as mpc\n"                                  \
    "def addr(a):\n"                                                                       \
    "    if a.startswith('unix://'): return a[7:]\n"                                       \
    "    h, _, p = a[6:].rpartition(':'); return (h, int(p))\n"                            \
    "key = sys.argv[2].encode()\n"

/* Runs python3 -c script addr key; its stdout goes to *out_fd when out_fd is not NULL. */
static pid_t spawn_python(const char *script, const char *addr, const char *key, int *out_fd)
{
    int p[2] = {-1, -1};
    if (out_fd != NULL)
        T_CHECK(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    T_CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (out_fd != NULL) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
        }
        execlp("python3", "python3", "-c", script, addr, key, (char *)NULL);
        fprintf(stderr, "exec python3: %s\n", strerror(errno));
        _exit(127);
    }
    if (out_fd != NULL) {
        close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

/* One line of the script's stdout, within 10 s. */
static void read_line(int fd, char *buf, size_t size)
{
    size_t len = 0;
    int64_t deadline = t_now_ms() + 10000;
    while (len + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - t_now_ms();
        T_CHECK(left > 0 && poll(&p, 1, (int)left) == 1);
        ssize_t n = read(fd, buf + len, 1);
        T_CHECK(n == 1);
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
}

static const char PY_CLIENT[] = PY_PRELUDE
    "c = mpc.Client(addr(sys.argv[1]), authkey=key)\n"
    "c.send_bytes(b'hello from python')\n"
    "assert c.recv_bytes() == b'hello from C'\n"
    "vals = [None, True, False, 0, -1, 2**63 - 1, -2**63, 1.5, float('inf'),\n"
    "        'h\\u00e9llo \\u2603', b'\\x00\\xff', bytearray(b'ba'), [], (),\n"
    "        [1, [2, (3,)]], (1, 'a', None, 2.5),\n"
    "        {'k': [1, 2], 3: (None,), (1, 2): b'x'}, [[0] * 3] * 2]\n"
    "for v in vals:\n"
    "    c.send(v)\n"
    "    back = c.recv()\n"
    "    want = bytes(v) if isinstance(v, bytearray) else v\n"
    "    assert back == want and type(back) is type(want), (v, back)\n"
    "assert c.recv() == {'from': 'C', 'n': [1, 2.5, None], 't': (True,), 'b': b'\\x01'}\n"
    "c.send({1, 2})\n"
    "c.send(2**64)\n"
    "c.send(os.getpid)\n"
    "assert c.recv() == 'refused 3'\n"
    "c.send_bytes(b'x' * (3 << 20))\n"
    "assert c.recv_bytes() == b'y' * (3 << 20)\n"
    "assert not c.poll(0.1)\n"
    "c.close()\n";

static void check_python_client(const char *kind)
{
    mpx_listener *l = listen_on(kind, "pyclient", KEY, KEYLEN, NULL);
    pid_t pid = spawn_python(PY_CLIENT, mpx_listener_address(l), KEY, NULL);
    mpx_conn *c = accept_one(l);
    expect_bytes(c, "hello from python");
    send_str(c, "hello from C");
    static const char *const reprs[] = {
        "None", "True", "False", "0", "-1", "9223372036854775807", "-9223372036854775808",
        "1.5", "inf", "'h\xc3\xa9llo \xe2\x98\x83'", "b'\\x00\\xff'", "b'ba'", "[]", "()",
        "[1, [2, (3,)]]", "(1, 'a', None, 2.5)", "{'k': [1, 2], 3: (None,), (1, 2): b'x'}",
        "[[0, 0, 0], [0, 0, 0]]",
    };
    for (size_t i = 0; i < sizeof reprs / sizeof reprs[0]; i++) {
        mpx_value v;
        C_OK(c, mpx_conn_recv(c, 10, &v));
        T_REPR(&v, reprs[i]);
        C_OK(c, mpx_conn_send(c, &v));
        mpx_value_free(&v);
    }
    send_literal(c, "{'from': 'C', 'n': [1, 2.5, None], 't': (True,), 'b': b'\\x01'}");
    mpx_value v;
    C_OK(c, mpx_conn_recv(c, 10, &v)); /* a set */
    T_REPR(&v, "{1, 2}");
    mpx_value_free(&v);
    C_RC(c, mpx_conn_recv(c, 10, &v), MPX_EOVERFLOW);
    C_RC(c, mpx_conn_recv(c, 10, &v), MPX_EVALUE); /* a function: a global, never imported */
    send_literal(c, "'refused 3'");
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, (size_t)3 << 20);
    T_CHECK(buf[0] == 'x' && buf[len - 1] == 'x');
    memset(buf, 'y', len);
    C_OK(c, mpx_conn_send_bytes(c, buf, len));
    free(buf);
    C_RC(c, mpx_conn_recv_bytes(c, 20, &buf, &len), MPX_ECLOSED);
    expect_peer_ok(pid);
    mpx_conn_close(c);
    mpx_listener_close(l);
}

static void case_python_client_tcp(void *arg)
{
    (void)arg;
    check_python_client("tcp");
}

static void case_python_client_unix(void *arg)
{
    (void)arg;
    check_python_client("unix");
}

static const char PY_WRONG_KEY_CLIENT[] = PY_PRELUDE
    "try:\n"
    "    mpc.Client(addr(sys.argv[1]), authkey=b'not the key')\n"
    "except mpc.AuthenticationError:\n"
    "    sys.exit(0)\n"
    "sys.exit('a wrong key was let in')\n";

/* Answers our challenge right, then refuses our answer to its own: mutual, second leg. */
static const char PY_REFUSING_CLIENT[] = PY_PRELUDE
    "import socket\n"
    "a = addr(sys.argv[1])\n"
    "s = socket.socket(socket.AF_UNIX if isinstance(a, str) else socket.AF_INET)\n"
    "s.connect(a)\n"
    "c = mpc.Connection(s.detach())\n"
    "mpc.answer_challenge(c, key)\n"
    "c.send_bytes(mpc.CHALLENGE + os.urandom(20))\n"
    "c.recv_bytes(256)\n"
    "c.send_bytes(mpc.FAILURE)\n";

static void case_python_client_refusals(void *arg)
{
    (void)arg;
    mpx_listener *l = listen_on("tcp", "pyrefuse", KEY, KEYLEN, NULL);
    mpx_conn *c;
    pid_t pid = spawn_python(PY_WRONG_KEY_CLIENT, mpx_listener_address(l), KEY, NULL);
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_EAUTH);
    HAS(mpx_listener_errmsg(l), "digest received was wrong");
    expect_peer_ok(pid);
    pid = spawn_python(PY_REFUSING_CLIENT, mpx_listener_address(l), KEY, NULL);
    L_RC(l, mpx_listener_accept(l, 10, &c), MPX_EAUTH);
    HAS(mpx_listener_errmsg(l), "the client refused our answer");
    expect_peer_ok(pid);
    mpx_listener_close(l);
}

static const char PY_LISTENER[] = PY_PRELUDE
    "a = addr(sys.argv[1])\n"
    "l = mpc.Listener(a, authkey=key)\n"
    "h = l.address\n"
    "print(('unix://' + h) if isinstance(h, str) else 'tcp://%s:%d' % h, flush=True)\n"
    "try:\n"
    "    l.accept()\n"
    "    sys.exit('a wrong key was let in')\n"
    "except mpc.AuthenticationError:\n"
    "    pass\n"
    "c = l.accept()\n"
    "assert c.recv_bytes() == b'hello from C'\n"
    "c.send_bytes(b'hello from python')\n"
    "for i in range(3):\n"
    "    c.send(c.recv())\n"
    "c.send({'from': 'python', 'n': [1, 2.5, None, -2**63], 't': (True, 'x'), 'b': b'\\x01'})\n"
    "c.send_bytes(b'z' * (2 << 20))\n"
    "assert c.recv_bytes() == b'done'\n"
    "c.close()\n"
    "l.close()\n";

static void check_python_listener(const char *kind)
{
    char addr[256];
    if (strcmp(kind, "unix") == 0)
        address_for(kind, "pylistener", addr, sizeof addr);
    else
        snprintf(addr, sizeof addr, "tcp://127.0.0.1:0");
    int out;
    pid_t pid = spawn_python(PY_LISTENER, addr, KEY, &out);
    char bound[256];
    read_line(out, bound, sizeof bound);
    close(out);
    T_CHECK(strncmp(bound, kind, strlen(kind)) == 0);
    mpx_conn *c;
    C_RC(c, mpx_conn_connect(bound, "wrong", 5, NULL, &c), MPX_EAUTH);
    HAS(mpx_conn_errmsg(c), "refused the key");
    mpx_conn_close(c);
    C_OK(c, mpx_conn_connect(bound, KEY, KEYLEN, NULL, &c));
    send_str(c, "hello from C");
    expect_bytes(c, "hello from python");
    const char *const sent[] = {"[1, (2, 'three'), {'four': 4.0}]", "-9223372036854775808",
                                "b'\\x00bytes'"};
    for (size_t i = 0; i < 3; i++) {
        send_literal(c, sent[i]);
        expect_value(c, sent[i]);
    }
    expect_value(c, "{'from': 'python', 'n': [1, 2.5, None, -9223372036854775808], "
                    "'t': (True, 'x'), 'b': b'\\x01'}");
    uint8_t *buf;
    size_t len;
    C_OK(c, mpx_conn_recv_bytes(c, 20, &buf, &len));
    T_EQ_INT(len, (size_t)2 << 20);
    T_CHECK(buf[0] == 'z' && buf[len - 1] == 'z');
    free(buf);
    send_str(c, "done");
    C_RC(c, mpx_conn_recv_bytes(c, 20, &buf, &len), MPX_ECLOSED);
    expect_peer_ok(pid);
    mpx_conn_close(c);
}

static void case_python_listener_tcp(void *arg)
{
    (void)arg;
    check_python_listener("tcp");
}

static void case_python_listener_unix(void *arg)
{
    (void)arg;
    check_python_listener("unix");
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a send must never raise it: a test would die of it */
    snprintf(dir, sizeof dir, "/tmp/mpx-conn-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(case_roundtrip_tcp, NULL);
    T_RUN(case_roundtrip_unix, NULL);
    T_RUN(case_large_messages_tcp, NULL);
    T_RUN(case_large_messages_unix, NULL);
    T_RUN(case_long_header_accepted, NULL);
    T_RUN(case_poll, NULL);
    T_RUN(case_fileno_pollable, NULL);
    T_RUN(case_wrong_key_tcp, NULL);
    T_RUN(case_wrong_key_unix, NULL);
    T_RUN(case_listener_has_wrong_key, NULL);
    T_RUN(case_key_on_one_side, NULL);
    T_RUN(case_mutual_auth_impostor_listener, NULL);
    T_RUN(case_accept_timeouts, NULL);
    T_RUN(case_listener_errors, NULL);
    T_RUN(case_oversized_refused, NULL);
    T_RUN(case_bad_headers, NULL);
    T_RUN(case_stalled_message_resumes, NULL);
    T_RUN(case_peer_killed_mid_message, NULL);
    T_RUN(case_refused_values_keep_connection, NULL);
    T_RUN(case_send_timeout, NULL);
    T_RUN(case_pipe_across_fork, NULL);
    T_RUN(case_python_client_tcp, NULL);
    T_RUN(case_python_client_unix, NULL);
    T_RUN(case_python_client_refusals, NULL);
    T_RUN(case_python_listener_tcp, NULL);
    T_RUN(case_python_listener_unix, NULL);
    /* every case closed its listeners, so the dir is empty unless one failed */
    char path[256];
    const char *left[] = {"echo", "big", "wrongkey", "oneside", "keyless", "taken",
                          "pylistener", "sendtimeout"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.sock", dir, left[i]);
        unlink(path);
    }
    rmdir(dir);
    return t_finish();
}
