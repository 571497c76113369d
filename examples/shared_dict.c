/* shared_dict.c - the manager example from Python's multiprocessing documentation, in C.
 *
 * The Python original:                      This program:
 *   with Manager() as manager:                mpx_manager_start + mpx_manager_connect
 *       d = manager.dict()                    mpx_dict_create
 *       l = manager.list(range(10))           mpx_list_create with [0, ..., 9]
 *       p = Process(target=f, args=(d, l))    fork(); the child keeps using d and l
 *       p.start(); p.join()                   waitpid
 *       print(d); print(l)                    mpx_dict_repr, mpx_list_repr
 * The child's client notices the fork and reconnects on its first call, so the proxies
 * cross fork() as a pickled Python proxy crosses to a child process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpx.h"

/* Says which step failed and why (the manager's message when there is one). */
static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "shared_dict: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* d[key] = val, taking both values (they are freed here whatever happens). */
static int set_item(mpx_client *c, mpx_dict *d, mpx_value key, mpx_value val, const char *what)
{
    int rc = mpx_dict_setitem(d, &key, &val);
    mpx_value_free(&key);
    mpx_value_free(&val);
    return rc == MPX_OK ? MPX_OK : fail(c, rc, what);
}

/* Python's f(d, l), run in the child. 0.25 goes in first because dicts keep insertion
 * order since Python 3.7: the documentation's output {0.25: None, 1: '1', '2': 2} was
 * printed by an older Python, and setting the keys in that order reproduces it exactly. */
static int f(mpx_client *c, mpx_dict *d, mpx_list *l)
{
    mpx_value one, two;
    int rc = set_item(c, d, mpx_value_float(0.25), mpx_value_none(), "d[0.25] = None");
    if (rc != MPX_OK)
        return rc;
    if ((rc = mpx_value_str(&one, "1")) != MPX_OK)
        return fail(c, rc, "making '1'");
    if ((rc = set_item(c, d, mpx_value_int(1), one, "d[1] = '1'")) != MPX_OK)
        return rc;
    if ((rc = mpx_value_str(&two, "2")) != MPX_OK)
        return fail(c, rc, "making '2'");
    if ((rc = set_item(c, d, two, mpx_value_int(2), "d['2'] = 2")) != MPX_OK)
        return rc;
    if ((rc = mpx_list_reverse(l)) != MPX_OK)
        return fail(c, rc, "l.reverse()");
    return MPX_OK;
}

/* Forks the child that runs f and waits for it; MPX_OK when it exited with status 0. */
static int run_child(mpx_client *c, mpx_dict *d, mpx_list *l)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("shared_dict: fork");
        return MPX_EIO;
    }
    if (pid == 0) {
        int rc = f(c, d, l);
        mpx_dict_close(d);
        mpx_list_close(l);
        mpx_client_close(c);
        _exit(rc == MPX_OK ? 0 : 1); /* _exit: the parent's stdio buffers are its own */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno == EINTR)
            continue;
        perror("shared_dict: waitpid");
        return MPX_EIO;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "shared_dict: the child failed\n");
        return MPX_EIO;
    }
    return MPX_OK;
}

/* l = manager.list(range(10)) */
static int create_range_list(mpx_client *c, mpx_list **out)
{
    mpx_value items;
    int rc = mpx_value_list(&items, 10);
    for (int64_t i = 0; i < 10 && rc == MPX_OK; i++) {
        mpx_value item = mpx_value_int(i);
        rc = mpx_value_append(&items, &item);
    }
    if (rc == MPX_OK)
        rc = mpx_list_create(c, &items, out);
    mpx_value_free(&items);
    return rc == MPX_OK ? MPX_OK : fail(c, rc, "manager.list(range(10))");
}

/* print(d); print(l) */
static int print_both(mpx_client *c, mpx_dict *d, mpx_list *l)
{
    char *text;
    int rc = mpx_dict_repr(d, &text);
    if (rc != MPX_OK)
        return fail(c, rc, "repr(d)");
    printf("%s\n", text);
    free(text);
    if ((rc = mpx_list_repr(l, &text)) != MPX_OK)
        return fail(c, rc, "repr(l)");
    printf("%s\n", text);
    free(text);
    return MPX_OK;
}

int main(void)
{
    mpx_manager *m;
    int rc = mpx_manager_start(&m);
    if (rc != MPX_OK) {
        fprintf(stderr, "shared_dict: starting the manager: %s\n",
                m != NULL ? mpx_manager_errmsg(m) : mpx_strerror(rc));
        mpx_manager_shutdown(m);
        return 1;
    }
    mpx_client *c = NULL;
    mpx_dict *d = NULL;
    mpx_list *l = NULL;
    rc = mpx_manager_connect(m, &c);
    if (rc != MPX_OK)
        fail(c, rc, "connecting to the manager");
    if (rc == MPX_OK && (rc = mpx_dict_create(c, NULL, &d)) != MPX_OK)
        fail(c, rc, "manager.dict()");
    if (rc == MPX_OK)
        rc = create_range_list(c, &l);
    if (rc == MPX_OK)
        rc = run_child(c, d, l);
    if (rc == MPX_OK)
        rc = print_both(c, d, l);
    mpx_dict_close(d);
    mpx_list_close(l);
    mpx_client_close(c);
    mpx_manager_shutdown(m);
    return rc == MPX_OK ? 0 : 1;
}
