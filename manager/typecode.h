/* typecode.h - the array module's typecodes, and the Value and Array types built on them.
 *
 * A typecode names a C storage format: b B h H i I l L q Q (integers), f d (floats), u (one
 * Unicode code point, stored as a uint32) and c (one byte). Values are stored packed in
 * raw slots of the typecode's size; storing range-checks and never writes a slot it
 * refuses, so a failed store leaves the slot as it was.
 *
 * mpx ints are signed 64-bit, so the unsigned 64-bit typecodes L and Q hold 0..INT64_MAX,
 * not Python's 0..2**64-1. l and q are both signed 64-bit (Linux's C long).
 */
#ifndef MPX_MANAGER_TYPECODE_H
#define MPX_MANAGER_TYPECODE_H

#include <stddef.h>
#include <stdint.h>

#include "object.h"

typedef enum typecode_kind {
    TC_INT,   /* b B h H i I l L q Q: int and bool */
    TC_FLOAT, /* f d: int, float and bool */
    TC_CHAR,  /* u: a str of one code point */
    TC_BYTE,  /* c: a bytes of length 1 */
} typecode_kind;

typedef struct typecode {
    char code;
    uint8_t size;      /* bytes per slot */
    typecode_kind kind;
    int64_t min, max;  /* the range of a TC_INT code */
} typecode;

/* The typecode named code; NULL for an unknown one. */
const typecode *typecode_find(char code);
/* The typecode given as c->args[i], a 1-character str: TypeError for another kind,
 * ValueError "bad typecode (must be b, B, u, ...)" as Python's array says. */
int typecode_arg(mpx_call *c, size_t i, const typecode **out);
/* Stores v in slot (tc->size bytes, any alignment) after checking its kind and range:
 * TypeError for a wrong kind, OverflowError "300 is out of range for typecode 'b'
 * (-128..127)" for an int outside the range; slot is unchanged on error. */
int typecode_store(mpx_call *c, const typecode *tc, void *slot, const mpx_value *v);
/* *out = the value in slot (an int, float, 1-character str or 1-byte bytes); *out is
 * overwritten. MPX_ENOMEM only for u and c. */
int typecode_load(const typecode *tc, const void *slot, mpx_value *out);
/* The zero of the typecode: 0, 0.0, '\0' or b'\x00', as a new value (cannot fail for
 * int and float; MPX_ENOMEM otherwise). */
int typecode_zero(const typecode *tc, mpx_value *out);
/* The new content of slot after adding delta (c->args[i]) to it, written to new_slot
 * (the slot itself is not changed): an int delta for integer codes (OverflowError past
 * the range), an int or float for float codes, TypeError for u and c. */
int typecode_add(mpx_call *c, const typecode *tc, const void *slot, size_t i, void *new_slot);

/* ---- the types (type_value.c, type_array.c) ---------------------------------------------- */
extern const mpx_type type_value;
extern const mpx_type type_array;

#endif
