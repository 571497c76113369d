/* queue_hello.c - the Queue example from Python's multiprocessing documentation, in C.
 *
 * The Python original:                      This program:
 *   q = Queue()                               mpx_queue_create on a private manager
 *   p = Process(target=f, args=(q,))          fork(); the child keeps using q
 *   p.start()                                 (f: q.put([42, None, 'hello']))
 *   print(q.get())                            mpx_queue_get, then the item's repr
 *   p.join()                                  waitpid
 * The parent's get waits on the manager until the child's put arrives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpx.h"

static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "queue_hello: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* Python's f(q): q.put([42, None, 'hello']) */
static int f(mpx_client *c, mpx_queue *q)
{
    mpx_value item, hello;
    int rc = mpx_value_list(&item, 3);
    if (rc == MPX_OK) {
        mpx_value answer = mpx_value_int(42), none = mpx_value_none();
        mpx_value_append(&item, &answer);
        mpx_value_append(&item, &none);
        rc = mpx_value_str(&hello, "hello");
        if (rc == MPX_OK)
            rc = mpx_value_append(&item, &hello);
    }
    if (rc == MPX_OK)
        rc = mpx_queue_put(q, &item, -1);
    mpx_value_free(&item);
    return rc == MPX_OK ? MPX_OK : fail(c, rc, "q.put([42, None, 'hello'])");
}

/* print(q.get()) */
static int print_one(mpx_client *c, mpx_queue *q)
{
    mpx_value item;
    int rc = mpx_queue_get(q, -1, &item);
    if (rc != MPX_OK)
        return fail(c, rc, "q.get()");
    char *text = mpx_value_repr(&item);
    mpx_value_free(&item);
    if (text == NULL)
        return fail(c, MPX_ENOMEM, "repr(item)");
    printf("%s\n", text);
    free(text);
    return MPX_OK;
}

static int join_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("queue_hello: waitpid");
            return MPX_EIO;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "queue_hello: the child failed\n");
        return MPX_EIO;
    }
    return MPX_OK;
}

int main(void)
{
    mpx_manager *m;
    int rc = mpx_manager_start(&m);
    if (rc != MPX_OK) {
        fprintf(stderr, "queue_hello: starting the manager: %s\n",
                m != NULL ? mpx_manager_errmsg(m) : mpx_strerror(rc));
        mpx_manager_shutdown(m);
        return 1;
    }
    mpx_client *c = NULL;
    mpx_queue *q = NULL;
    rc = mpx_manager_connect(m, &c);
    if (rc != MPX_OK)
        fail(c, rc, "connecting to the manager");
    if (rc == MPX_OK && (rc = mpx_queue_create(c, 0, false, &q)) != MPX_OK)
        fail(c, rc, "Queue()");
    pid_t pid = -1;
    if (rc == MPX_OK && (pid = fork()) < 0) {
        perror("queue_hello: fork");
        rc = MPX_EIO;
    }
    if (pid == 0) {
        rc = f(c, q); /* the child's client reconnects by itself on this first call */
        mpx_queue_close(q);
        mpx_client_close(c);
        _exit(rc == MPX_OK ? 0 : 1);
    }
    if (rc == MPX_OK)
        rc = print_one(c, q);
    if (pid > 0 && join_child(pid) != MPX_OK)
        rc = MPX_EIO;
    mpx_queue_close(q);
    mpx_client_close(c);
    mpx_manager_shutdown(m);
    return rc == MPX_OK ? 0 : 1;
}
