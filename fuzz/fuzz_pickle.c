/* fuzz_pickle.c - the data-only unpickler (pickle_decode) on any bytes, and the pickler
 * on what it makes.
 *
 * A value that decodes is pickled again with the pickle_out functions and decoded again:
 * the result must equal it (mpx_value_equal, unless a NaN makes a value unequal to itself)
 * and be the same bit for bit, and pickling that gives the same bytes (the writer is a
 * function of the value). One exception, checked as such: a value holding a ref is not
 * pickled again, because the pickle_out functions write refs only through a caller's
 * pickle_ref_fn (the dialect's, which knows the server's address), and without one they
 * must refuse it with MPX_EVALUE. Failures give a reason and leave None.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "mpx/error.h"
#include "pickle.h"

/* v as a whole pickle in o (the caller frees o); MPX_OK or the writer's error. */
static int pickle_whole(const mpx_value *v, pickle_out *o)
{
    *o = (pickle_out){0};
    pickle_begin(o);
    pickle_value(o, v, NULL, NULL);
    return pickle_end(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mpx_value v, back;
    char err[256];
    memset(err, 0xff, sizeof err);
    int rc = pickle_decode(data, size, &v, err, sizeof err);
    if (rc != MPX_OK) {
        FUZZ_CHECK(rc == MPX_EPROTO || rc == MPX_EVALUE || rc == MPX_EOVERFLOW ||
                   rc == MPX_ENOMEM);
        FUZZ_CHECK(fuzz_reason_given(err, sizeof err));
        FUZZ_CHECK(mpx_value_kind(&v) == MPX_NONE);
        return 0;
    }
    pickle_out once, twice;
    rc = pickle_whole(&v, &once);
    if (fuzz_value_has_kind(&v, MPX_REF)) {
        FUZZ_CHECK(rc == MPX_EVALUE);
        pickle_out_free(&once);
        mpx_value_free(&v);
        return 0;
    }
    FUZZ_CHECK(rc == MPX_OK);
    rc = pickle_decode(once.data, once.len, &back, err, sizeof err);
    if (rc != MPX_OK)
        fprintf(stderr, "the pickle written does not decode: %s\n", err);
    FUZZ_CHECK(rc == MPX_OK);
    FUZZ_CHECK(fuzz_equal_unless_nan(&v, &back));
    FUZZ_CHECK(fuzz_same_value(&v, &back));
    FUZZ_CHECK(pickle_whole(&back, &twice) == MPX_OK);
    FUZZ_CHECK(twice.len == once.len && memcmp(twice.data, once.data, once.len) == 0);
    pickle_out_free(&once);
    pickle_out_free(&twice);
    mpx_value_free(&back);
    mpx_value_free(&v);
    return 0;
}
