/* value_array.c - the shared Value and Array example from Python's multiprocessing
 * documentation, in C.
 *
 * The Python original:                      This program:
 *   num = Value('d', 0.0)                     mpx_value_obj_create(c, 'd', 0.0)
 *   arr = Array('i', range(10))               mpx_array_create(c, 'i', [0, ..., 9])
 *   p = Process(target=f, args=(num, arr))    fork(); the child keeps using num and arr
 *   p.start(); p.join()                       waitpid
 *   print(num.value); print(arr[:])           mpx_value_repr of get() and of arr[:]
 * Here the Value and the Array live in a private manager (mpx_manager_start) rather than
 * in shared memory, so the same code works for workers on other hosts.
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
    fprintf(stderr, "value_array: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* Python's f(n, a), run in the child: n.value = 3.1415927; a[i] = -a[i]. */
static int f(mpx_client *c, mpx_value_obj *n, mpx_array *a)
{
    size_t len;
    int rc = mpx_value_obj_set_float(n, 3.1415927);
    if (rc != MPX_OK)
        return fail(c, rc, "n.value = 3.1415927");
    if ((rc = mpx_array_len(a, &len)) != MPX_OK)
        return fail(c, rc, "len(a)");
    for (size_t i = 0; i < len; i++) {
        int64_t x;
        if ((rc = mpx_array_get_int(a, (int64_t)i, &x)) != MPX_OK ||
            (rc = mpx_array_set_int(a, (int64_t)i, -x)) != MPX_OK)
            return fail(c, rc, "a[i] = -a[i]");
    }
    return MPX_OK;
}

/* Forks the child that runs f and waits for it; MPX_OK when it exited with status 0. */
static int run_child(mpx_client *c, mpx_value_obj *num, mpx_array *arr)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("value_array: fork");
        return MPX_EIO;
    }
    if (pid == 0) { /* the client notices the fork and reconnects on its first call */
        int rc = f(c, num, arr);
        mpx_value_obj_close(num);
        mpx_array_close(arr);
        mpx_client_close(c);
        _exit(rc == MPX_OK ? 0 : 1); /* _exit: the parent's stdio buffers are its own */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno == EINTR)
            continue;
        perror("value_array: waitpid");
        return MPX_EIO;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "value_array: the child failed\n");
        return MPX_EIO;
    }
    return MPX_OK;
}

/* Prints repr(v) on a line of its own, and frees v. */
static int print_repr(mpx_value *v)
{
    char *text = mpx_value_repr(v);
    mpx_value_free(v);
    if (text == NULL)
        return fail(NULL, MPX_ENOMEM, "repr");
    printf("%s\n", text);
    free(text);
    return MPX_OK;
}

/* print(num.value); print(arr[:]) */
static int print_both(mpx_client *c, mpx_value_obj *num, mpx_array *arr)
{
    mpx_value v;
    int rc = mpx_value_obj_get(num, &v);
    if (rc != MPX_OK)
        return fail(c, rc, "num.value");
    if ((rc = print_repr(&v)) != MPX_OK)
        return rc;
    if ((rc = mpx_array_getslice(arr, NULL, NULL, NULL, &v)) != MPX_OK)
        return fail(c, rc, "arr[:]");
    return print_repr(&v);
}

/* num = Value('d', 0.0); arr = Array('i', range(10)) */
static int create_both(mpx_client *c, mpx_value_obj **num, mpx_array **arr)
{
    mpx_value zero = mpx_value_float(0.0), items;
    int rc = mpx_value_obj_create(c, 'd', &zero, num);
    if (rc != MPX_OK)
        return fail(c, rc, "Value('d', 0.0)");
    rc = mpx_value_list(&items, 10);
    for (int64_t i = 0; i < 10 && rc == MPX_OK; i++) {
        mpx_value item = mpx_value_int(i);
        rc = mpx_value_append(&items, &item);
    }
    if (rc == MPX_OK)
        rc = mpx_array_create(c, 'i', &items, arr);
    mpx_value_free(&items);
    return rc == MPX_OK ? MPX_OK : fail(c, rc, "Array('i', range(10))");
}

int main(void)
{
    mpx_manager *m;
    int rc = mpx_manager_start(&m);
    if (rc != MPX_OK) {
        fprintf(stderr, "value_array: starting the manager: %s\n",
                m != NULL ? mpx_manager_errmsg(m) : mpx_strerror(rc));
        mpx_manager_shutdown(m);
        return 1;
    }
    mpx_client *c = NULL;
    mpx_value_obj *num = NULL;
    mpx_array *arr = NULL;
    rc = mpx_manager_connect(m, &c);
    if (rc != MPX_OK)
        fail(c, rc, "connecting to the manager");
    if (rc == MPX_OK)
        rc = create_both(c, &num, &arr);
    if (rc == MPX_OK)
        rc = run_child(c, num, arr);
    if (rc == MPX_OK)
        rc = print_both(c, num, arr);
    mpx_value_obj_close(num);
    mpx_array_close(arr);
    mpx_client_close(c);
    mpx_manager_shutdown(m);
    return rc == MPX_OK ? 0 : 1;
}
