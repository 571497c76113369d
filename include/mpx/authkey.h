/* mpx/authkey.h - loading and making the shared secret that admits clients.
 *
 * A key file holds the key's bytes; one trailing newline is not part of the key. A key
 * file that its group or others may read or write is refused, as ssh refuses such keys.
 */
#ifndef MPX_AUTHKEY_H
#define MPX_AUTHKEY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPX_AUTHKEY_ENV "MPX_AUTHKEY"

/* Reads the key from path into a malloc'd buffer (*key, *len) the caller frees.
 * MPX_OK, MPX_EAUTH (insecure mode, empty key), MPX_EIO (cannot read); reason in err. */
int mpx_authkey_load(const char *path, uint8_t **key, size_t *len, char *err,
                     size_t errlen);

/* The key from path when path is not NULL, else from $MPX_AUTHKEY; MPX_EINVAL when
 * neither is given. */
int mpx_authkey_resolve(const char *path, uint8_t **key, size_t *len, char *err,
                        size_t errlen);

/* Makes a random key (32 random bytes as 64 hex characters) and, when path is not NULL,
 * writes it to a new file there with mode 0600 (an existing file is an error). */
int mpx_authkey_generate(const char *path, uint8_t **key, size_t *len, char *err,
                         size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
