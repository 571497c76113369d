/* test_authkey.c - auth/authkey.c: one trailing newline stripped, insecure and empty
 * files refused with a reason, generated keys private and never overwriting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpx/authkey.h"
#include "mpx/error.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mpx-authkey-test-XXXXXX");
    return mkdtemp(dir) == NULL;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void write_file(const char *name, const char *content, mode_t mode, char *path)
{
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
}

static void test_load_strips_one_newline(void **state)
{
    (void)state;
    char path[128], err[256];
    uint8_t *key;
    size_t len;
    write_file("k1", "s3cret\n\n", 0600, path);
    assert_int_equal(mpx_authkey_load(path, &key, &len, err, sizeof err), MPX_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(key, "s3cret\n", 7);
    free(key);
    write_file("k2", "plain", 0400, path);
    assert_int_equal(mpx_authkey_load(path, &key, &len, err, sizeof err), MPX_OK);
    assert_int_equal(len, 5);
    free(key);
}

static void test_load_refusals(void **state)
{
    (void)state;
    char path[128], err[256];
    uint8_t *key;
    size_t len;
    write_file("open", "s3cret\n", 0644, path);
    assert_int_equal(mpx_authkey_load(path, &key, &len, err, sizeof err), MPX_EAUTH);
    assert_non_null(strstr(err, "chmod 600"));
    write_file("empty", "\n", 0600, path);
    assert_int_equal(mpx_authkey_load(path, &key, &len, err, sizeof err), MPX_EAUTH);
    assert_non_null(strstr(err, "empty"));
    sprintf(path, "%s/missing", dir);
    assert_int_equal(mpx_authkey_load(path, &key, &len, err, sizeof err), MPX_EIO);
    assert_non_null(strstr(err, "missing"));
}

static void test_generate(void **state)
{
    (void)state;
    char path[128], err[256];
    uint8_t *key, *again;
    size_t len, len2;
    sprintf(path, "%s/generated", dir);
    assert_int_equal(mpx_authkey_generate(path, &key, &len, err, sizeof err), MPX_OK);
    assert_int_equal(len, 64);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mpx_authkey_load(path, &again, &len2, err, sizeof err), MPX_OK);
    assert_int_equal(len2, 64);
    assert_memory_equal(key, again, 64);
    free(again);
    free(key);
    assert_int_equal(mpx_authkey_generate(path, &key, &len, err, sizeof err), MPX_EIO);
}

static void test_resolve(void **state)
{
    (void)state;
    char err[256];
    uint8_t *key;
    size_t len;
    unsetenv(MPX_AUTHKEY_ENV);
    assert_int_equal(mpx_authkey_resolve(NULL, &key, &len, err, sizeof err), MPX_EINVAL);
    setenv(MPX_AUTHKEY_ENV, "from-env", 1);
    assert_int_equal(mpx_authkey_resolve(NULL, &key, &len, err, sizeof err), MPX_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(key, "from-env", 8);
    free(key);
    unsetenv(MPX_AUTHKEY_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_strips_one_newline),
        cmocka_unit_test(test_load_refusals),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
