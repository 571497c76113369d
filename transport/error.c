/* error.c - the sentences and Python exception names of the mpx_err codes.
 *
 * Both tables are made from MPX_ERRORS (mpx/error.h) and indexed by -code; the static
 * assertions check that the codes run 0, -1, -2, ... in the list's order, so no index
 * can miss its row.
 */
#include "mpx/error.h"

#define SENTENCE_(code, value, name, sentence) sentence,
#define NAME_(code, value, name, sentence) name,
#define POSITION_(code, value, name, sentence) position_##code,
#define IN_ORDER_(code, value, name, sentence)                                                   \
    _Static_assert(-(value) == position_##code, #code " is out of order");

static const char *const messages[] = {MPX_ERRORS(SENTENCE_)};
static const char *const names[] = {MPX_ERRORS(NAME_)};
enum { MPX_ERRORS(POSITION_) };
MPX_ERRORS(IN_ORDER_)

const char *mpx_strerror(int err)
{
    return err <= 0 && -err < MPX_ERR_COUNT_ ? messages[-err] : "unknown error";
}

const char *mpx_err_name(int err)
{
    return err <= 0 && -err < MPX_ERR_COUNT_ ? names[-err] : "Exception";
}
