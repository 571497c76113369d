/* authkey.c - the shared secret: read from a private file or the environment, or made.
 *
 * A key file that its group or others may read or write is refused, as ssh refuses such
 * keys: anyone who reads the key can run code's worth of calls on the manager.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "mpx/authkey.h"
#include "mpx/error.h"

#define KEY_FILE_MAX 4096
#define GENERATED_BYTES 32

static int fail(char *err, size_t errlen, int code, const char *fmt, const char *arg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, arg, strerror(errno));
    return code;
}

int mpx_authkey_load(const char *path, uint8_t **key, size_t *len, char *err, size_t errlen)
{
    *key = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, MPX_EIO, "cannot open key file %s: %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fail(err, errlen, MPX_EIO, "cannot stat key file %s: %s", path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        snprintf(err, errlen,
                 "key file %s can be read or written by others (mode %03o); run chmod 600 on it",
                 path, (unsigned)(st.st_mode & 0777));
        return MPX_EAUTH;
    }
    uint8_t *buf = malloc(KEY_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return MPX_ENOMEM;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, KEY_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            close(fd);
            return fail(err, errlen, MPX_EIO, "cannot read key file %s: %s", path);
        }
        if (r == 0 || (n += (size_t)r) > KEY_FILE_MAX)
            break;
    }
    close(fd);
    if (n > KEY_FILE_MAX) {
        free(buf);
        snprintf(err, errlen, "key file %s is larger than %d bytes", path, KEY_FILE_MAX);
        return MPX_EAUTH;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--; /* one trailing newline, as `echo secret > key` leaves */
    if (n == 0) {
        free(buf);
        snprintf(err, errlen, "key file %s is empty", path);
        return MPX_EAUTH;
    }
    *key = buf;
    *len = n;
    return MPX_OK;
}

int mpx_authkey_resolve(const char *path, uint8_t **key, size_t *len, char *err,
                        size_t errlen)
{
    *key = NULL;
    if (path != NULL)
        return mpx_authkey_load(path, key, len, err, errlen);
    const char *env = getenv(MPX_AUTHKEY_ENV);
    if (env == NULL) {
        snprintf(err, errlen, "no authkey: give a key file or set %s", MPX_AUTHKEY_ENV);
        return MPX_EINVAL;
    }
    if (*env == '\0') {
        snprintf(err, errlen, "%s is empty", MPX_AUTHKEY_ENV);
        return MPX_EAUTH;
    }
    *len = strlen(env);
    *key = malloc(*len);
    if (*key == NULL)
        return MPX_ENOMEM;
    memcpy(*key, env, *len);
    return MPX_OK;
}

int mpx_authkey_generate(const char *path, uint8_t **key, size_t *len, char *err,
                         size_t errlen)
{
    uint8_t raw[GENERATED_BYTES];
    *key = NULL;
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, errlen, "no randomness for a key");
        return MPX_EIO;
    }
    uint8_t *hex = malloc(2 * sizeof raw + 1);
    if (hex == NULL)
        return MPX_ENOMEM;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf((char *)hex + 2 * i, 3, "%02x", raw[i]);
    if (path != NULL) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            free(hex);
            return fail(err, errlen, MPX_EIO, "cannot create key file %s: %s", path);
        }
        hex[2 * sizeof raw] = '\n';
        ssize_t w = write(fd, hex, 2 * sizeof raw + 1);
        close(fd);
        if (w != (ssize_t)(2 * sizeof raw + 1)) {
            unlink(path);
            free(hex);
            return fail(err, errlen, MPX_EIO, "cannot write key file %s: %s", path);
        }
    }
    *key = hex;
    *len = 2 * sizeof raw;
    return MPX_OK;
}
