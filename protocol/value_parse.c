/* value_parse.c - Python literals to mpx_values, as ast.literal_eval reads them.
 *
 * A recursive-descent parser over the text: None True False, ints (with 0x/0o/0b and
 * underscores, within int64), floats, str and bytes literals with Python's prefixes and
 * escapes (adjacent literals concatenate), lists, tuples and dicts. Nesting is bounded so
 * hostile input cannot exhaust the stack; on error the partial value is freed and the
 * message names the offset of the offending character.
 */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx/error.h"
#include "value_internal.h"

#define MAX_DEPTH 200

typedef struct parser {
    const char *text;
    size_t pos;
    int depth;
    char *err;
    size_t errlen;
    locale_t c_locale; /* created on the first float: strtod must not read "1,5" */
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes "<message> at offset N" and returns MPX_EVALUE. */
static int fail(parser *p, size_t at, const char *fmt, ...)
{
    if (p->err != NULL && p->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < p->errlen)
            snprintf(p->err + n, p->errlen - (size_t)n, " at offset %zu", at);
    }
    return MPX_EVALUE;
}

static int fail_unexpected(parser *p)
{
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c == '\0')
        return fail(p, p->pos, "unexpected end of input");
    if (c < 0x20 || c >= 0x7f)
        return fail(p, p->pos, "unexpected character '\\x%02x'", c);
    return fail(p, p->pos, "unexpected character '%c'", c);
}

static char peek(const parser *p)
{
    return p->text[p->pos];
}

static void skip_space(parser *p)
{
    for (;;) {
        char c = peek(p);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            p->pos++;
        else if (c == '\\' && p->text[p->pos + 1] == '\n') /* explicit line joining */
            p->pos += 2;
        else
            return;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           (unsigned char)c >= 0x80;
}

static int digit_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* The characters of a number as strtod reads them: no underscores, no prefix. Longer
 * numbers than fit set `overflow` and are rejected; no real literal comes near. */
typedef struct numbuf {
    char d[512];
    size_t n;
    bool overflow;
} numbuf;

static void num_put(numbuf *b, char c)
{
    if (b->n + 1 < sizeof b->d)
        b->d[b->n++] = c;
    else
        b->overflow = true;
}

/* Copies a run of base-`base` digits with Python's single underscores between them.
 * Returns the count of digits; *bad is set on a misplaced '_'. */
static size_t scan_digits(parser *p, int base, numbuf *b, bool *bad)
{
    size_t count = 0;
    for (;;) {
        char c = peek(p);
        if (c == '_') {
            if (count == 0 || digit_value(p->text[p->pos + 1]) >= base) {
                *bad = true;
                return count;
            }
            p->pos++;
            continue;
        }
        if (digit_value(c) >= base)
            return count;
        num_put(b, c);
        count++;
        p->pos++;
    }
}

static int parse_float_text(parser *p, const char *digits, size_t start, mpx_value *out)
{
    if (p->c_locale == (locale_t)0) {
        p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (p->c_locale == (locale_t)0)
            return MPX_ENOMEM;
    }
    char *end;
    double f = strtod_l(digits, &end, p->c_locale);
    if (*end != '\0')
        return fail(p, start, "invalid float literal");
    *out = mpx_value_float(f); /* out of range reads as inf, as Python's 1e400 does */
    return MPX_OK;
}

/* Magnitude of a based or decimal int, checked against the int64 range for its sign. */
static int finish_int(parser *p, const char *digits, int base, bool negative, size_t start,
                      mpx_value *out)
{
    uint64_t limit = negative ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1, mag = 0;
    for (const char *d = digits; *d != '\0'; d++) {
        uint64_t v = (uint64_t)digit_value(*d);
        if (mag > (limit - v) / (uint64_t)base)
            return fail(p, start, "integer out of 64-bit range");
        mag = mag * (uint64_t)base + v;
    }
    /* -(2^63) has no positive int64: negate in unsigned arithmetic. */
    *out = mpx_value_int(negative ? (int64_t)(0 - mag) : (int64_t)mag);
    return MPX_OK;
}

static int parse_based_int(parser *p, bool negative, size_t start, mpx_value *out)
{
    char letter = p->text[p->pos + 1] | 0x20;
    int base = letter == 'x' ? 16 : letter == 'o' ? 8 : 2;
    numbuf b = {.n = 0};
    bool bad = false;
    p->pos += 2;
    if (peek(p) == '_') /* 0x_ff is allowed */
        p->pos++;
    if (scan_digits(p, base, &b, &bad) == 0 || bad)
        return bad ? fail(p, p->pos, "invalid '_' in number") : fail_unexpected(p);
    if (is_ident(peek(p)))
        return fail_unexpected(p);
    if (b.overflow)
        return fail(p, start, "integer out of 64-bit range");
    b.d[b.n] = '\0';
    return finish_int(p, b.d, base, negative, start, out);
}

static int parse_number(parser *p, mpx_value *out)
{
    size_t start = p->pos;
    bool negative = false;
    if (peek(p) == '-' || peek(p) == '+') {
        negative = peek(p) == '-';
        p->pos++;
        skip_space(p); /* "- 5" is a unary minus in Python too */
        if (!is_digit(peek(p)) && !(peek(p) == '.' && is_digit(p->text[p->pos + 1])))
            return fail_unexpected(p);
    }
    char letter = p->text[p->pos + 1] | 0x20;
    if (peek(p) == '0' && (letter == 'x' || letter == 'o' || letter == 'b'))
        return parse_based_int(p, negative, start, out);

    numbuf b = {.n = 0};
    bool bad = false, is_float = false;
    size_t whole = scan_digits(p, 10, &b, &bad);
    if (!bad && peek(p) == '.') {
        is_float = true;
        num_put(&b, '.');
        p->pos++;
        size_t frac = is_digit(peek(p)) ? scan_digits(p, 10, &b, &bad) : 0;
        if (whole + frac == 0)
            return fail(p, start, "invalid number");
    }
    if (!bad && (peek(p) | 0x20) == 'e') {
        is_float = true;
        num_put(&b, 'e');
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            num_put(&b, p->text[p->pos++]);
        if (scan_digits(p, 10, &b, &bad) == 0 && !bad)
            return fail_unexpected(p);
    }
    if (bad)
        return fail(p, p->pos, "invalid '_' in number");
    if (is_ident(peek(p)) || peek(p) == '.')
        return fail_unexpected(p);
    if (b.overflow)
        return fail(p, start, is_float ? "number too long" : "integer out of 64-bit range");
    b.d[b.n] = '\0';
    if (is_float) {
        int rc = parse_float_text(p, b.d, start, out);
        if (rc == MPX_OK && negative)
            out->u.f = -out->u.f;
        return rc;
    }
    /* Python rejects 0123 (a leading zero) but accepts 000. */
    if (b.d[0] == '0' && strspn(b.d, "0") != b.n)
        return fail(p, start, "leading zeros in decimal integer literals are not permitted");
    return finish_int(p, b.d, 10, negative, start, out);
}

/* ---- strings and bytes ------------------------------------------------------------------ */

typedef struct text {
    char *p;
    size_t len;
    size_t cap;
} text;

static bool text_put(text *t, const void *s, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap < 32 ? 32 : t->cap;
        while (cap < t->len + n)
            cap *= 2;
        char *grown = realloc(t->p, cap);
        if (grown == NULL)
            return false;
        t->p = grown;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    return true;
}

static bool text_put_utf8(text *t, uint32_t cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return text_put(t, u, n);
}

/* Reads exactly `count` hex digits after an escape letter. */
static int read_hex(parser *p, int count, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < count; k++) {
        int d = digit_value(p->text[p->pos]);
        if (d >= 16)
            return fail(p, p->pos, "truncated \\%c escape", p->text[p->pos - k - 1]);
        v = v * 16 + (uint32_t)d;
        p->pos++;
    }
    *out = v;
    return MPX_OK;
}

/* One escape after the backslash (p->pos is on the letter). \u and \U exist only in
 * str; in bytes they, like any unknown escape, stay as written. */
static int parse_escape(parser *p, text *t, bool bytes)
{
    static const char simple_in[] = "\\'\"abfnrtv";
    static const char simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    size_t at = p->pos - 1;
    char c = p->text[p->pos++];
    const char *hit = c != '\0' ? strchr(simple_in, c) : NULL;
    uint32_t cp = 0;
    int rc;
    if (hit != NULL)
        return text_put(t, &simple_out[hit - simple_in], 1) ? MPX_OK : MPX_ENOMEM;
    if (c == '\n') /* backslash-newline: a continuation, nothing added */
        return MPX_OK;
    if (c >= '0' && c <= '7') { /* up to three octal digits: \0, \012 */
        cp = (uint32_t)(c - '0');
        for (int k = 0; k < 2 && p->text[p->pos] >= '0' && p->text[p->pos] <= '7'; k++)
            cp = cp * 8 + (uint32_t)(p->text[p->pos++] - '0');
    } else if (c == 'x') {
        if ((rc = read_hex(p, 2, &cp)) != MPX_OK)
            return rc;
    } else if (!bytes && (c == 'u' || c == 'U')) {
        if ((rc = read_hex(p, c == 'u' ? 4 : 8, &cp)) != MPX_OK)
            return rc;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(p, at, "code point U+%04X cannot be encoded in UTF-8", (unsigned)cp);
    } else if (!bytes && c == 'N') { /* \N{name} would need the Unicode name table */
        return fail(p, at, "\\N{...} escapes are not supported");
    } else { /* unknown escape: Python keeps the backslash (a NUL ends the string later) */
        p->pos--;
        return text_put(t, "\\", 1) ? MPX_OK : MPX_ENOMEM;
    }
    if (bytes) {
        unsigned char byte = (unsigned char)(cp & 0xff); /* \777 wraps, as in Python */
        return text_put(t, &byte, 1) ? MPX_OK : MPX_ENOMEM;
    }
    return text_put_utf8(t, cp) ? MPX_OK : MPX_ENOMEM;
}

/* Reads a prefix (b, r, u and the pairs rb/br) if a quote follows it. */
static bool read_prefix(parser *p, bool *bytes, bool *raw)
{
    size_t k = p->pos;
    *bytes = *raw = false;
    for (int n = 0; n < 2; n++) {
        char c = p->text[k] | 0x20;
        if (c == 'b' && !*bytes)
            *bytes = true;
        else if (c == 'r' && !*raw)
            *raw = true;
        else if (c == 'u' && n == 0 && (p->text[k + 1] == '\'' || p->text[k + 1] == '"'))
            ; /* u'' is a plain str */
        else
            break;
        k++;
    }
    if (p->text[k] != '\'' && p->text[k] != '"')
        return false;
    p->pos = k;
    return true;
}

/* The body of one literal, from its opening quote(s) to the closing ones, into t. */
static int parse_string_body(parser *p, text *t, bool bytes, bool raw)
{
    size_t start = p->pos;
    char q = peek(p);
    bool triple = p->text[p->pos + 1] == q && p->text[p->pos + 2] == q;
    p->pos += triple ? 3 : 1;
    for (;;) {
        char c = peek(p);
        if (c == '\0' || (c == '\n' && !triple))
            return fail(p, start, "unterminated string");
        if (c == q && (!triple || (p->text[p->pos + 1] == q && p->text[p->pos + 2] == q))) {
            p->pos += triple ? 3 : 1;
            return MPX_OK;
        }
        if (bytes && (unsigned char)c >= 0x80)
            return fail(p, p->pos, "bytes can only contain ASCII literal characters");
        if (c == '\\' && !raw) {
            p->pos++;
            int rc = parse_escape(p, t, bytes);
            if (rc != MPX_OK)
                return rc;
            continue;
        }
        if (c == '\\' && p->text[p->pos + 1] != '\0') { /* raw: \' keeps both chars */
            if (!text_put(t, p->text + p->pos, 2))
                return MPX_ENOMEM;
            p->pos += 2;
            continue;
        }
        if (!text_put(t, &c, 1))
            return MPX_ENOMEM;
        p->pos++;
    }
}

/* A str or bytes literal, joined with the literals that directly follow ('a' 'b'). */
static int parse_string(parser *p, mpx_value *out)
{
    size_t start = p->pos;
    text t = {0};
    bool first_bytes = false, bytes, raw;
    int rc = MPX_OK;
    for (bool first = true; rc == MPX_OK; first = false) {
        skip_space(p);
        size_t at = p->pos;
        if (!read_prefix(p, &bytes, &raw))
            break; /* never on the first pass: parse_value saw a literal start */
        if (first)
            first_bytes = bytes;
        else if (bytes != first_bytes)
            rc = fail(p, at, "cannot mix bytes and nonbytes literals");
        if (rc == MPX_OK)
            rc = parse_string_body(p, &t, bytes, raw);
    }
    if (rc == MPX_OK) {
        if (first_bytes)
            rc = mpx_value_bytes(out, t.p, t.len);
        else if ((rc = mpx_value_strn(out, t.len > 0 ? t.p : "", t.len)) == MPX_EVALUE)
            rc = fail(p, start, "string is not valid UTF-8");
    }
    free(t.p);
    return rc;
}

/* ---- containers ------------------------------------------------------------------------- */

static int parse_value(parser *p, mpx_value *out);

/* After an item: true and past the ',' when another may follow, false at `close`. */
static int after_item(parser *p, char close, bool *more)
{
    skip_space(p);
    if (peek(p) == ',') {
        p->pos++;
        skip_space(p);
        *more = peek(p) != close;
        if (!*more)
            p->pos++;
        return MPX_OK;
    }
    if (peek(p) == close) {
        p->pos++;
        *more = false;
        return MPX_OK;
    }
    return fail_unexpected(p);
}

/* '[' items ']' or '(' items ')'; p->pos is past the opener and any space. A single
 * parenthesised item without a comma is that item, not a tuple. */
static int parse_seq(parser *p, char close, mpx_value *out)
{
    int rc = close == ']' ? mpx_value_list(out, 0) : mpx_value_tuple(out, 0);
    if (rc != MPX_OK)
        return rc;
    if (peek(p) == close) {
        p->pos++;
        return MPX_OK;
    }
    for (bool more = true; more;) {
        mpx_value item;
        if ((rc = parse_value(p, &item)) != MPX_OK)
            break;
        if ((rc = mpx_value_append(out, &item)) != MPX_OK) {
            mpx_value_free(&item);
            break;
        }
        skip_space(p);
        if (close == ')' && peek(p) == ')' && mpx_value_len(out) == 1) {
            p->pos++; /* (x) is just x */
            mpx_value_remove(out, 0, &item);
            mpx_value_free(out);
            mpx_value_move(out, &item);
            return MPX_OK;
        }
        if ((rc = after_item(p, close, &more)) != MPX_OK)
            break;
    }
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

static int parse_dict_item(parser *p, mpx_value *dict)
{
    size_t key_at = p->pos;
    mpx_value key, val;
    int rc = parse_value(p, &key);
    if (rc != MPX_OK)
        return rc;
    skip_space(p);
    if (peek(p) != ':') {
        mpx_value_free(&key);
        return fail_unexpected(p);
    }
    p->pos++;
    if ((rc = parse_value(p, &val)) != MPX_OK) {
        mpx_value_free(&key);
        return rc;
    }
    mpx_kind kind = mpx_value_kind(&key);
    rc = mpx_value_dict_set(dict, &key, &val);
    if (rc != MPX_OK) { /* nothing was taken */
        mpx_value_free(&key);
        mpx_value_free(&val);
        if (rc == MPX_ETYPE)
            rc = fail(p, key_at, "unhashable type: '%s'", mpx_kind_name(kind));
    }
    return rc;
}

/* Adds item (taken) to a set literal's set. */
static int set_take(parser *p, size_t at, mpx_value *set, mpx_value *item)
{
    mpx_kind kind = mpx_value_kind(item);
    int rc = mpx_value_set_add(set, item);
    if (rc != MPX_OK) { /* nothing was taken */
        mpx_value_free(item);
        if (rc == MPX_ETYPE)
            rc = fail(p, at, "unhashable type: '%s'", mpx_kind_name(kind));
    }
    return rc;
}

static int parse_set_item(parser *p, mpx_value *set)
{
    size_t at = p->pos;
    mpx_value item;
    int rc = parse_value(p, &item);
    return rc == MPX_OK ? set_take(p, at, set, &item) : rc;
}

/* The first item of a '{' literal decides what it is: a ':' after it makes a dict,
 * anything else a set. The item is parsed once, never looked ahead at and parsed again
 * (which nested literals would make exponential). */
static int parse_first_item(parser *p, mpx_value *out)
{
    size_t at = p->pos;
    mpx_value first;
    int rc = parse_value(p, &first);
    if (rc != MPX_OK)
        return rc;
    skip_space(p);
    if (peek(p) != ':') {
        if ((rc = mpx_value_set(out, false)) != MPX_OK) {
            mpx_value_free(&first);
            return rc;
        }
        return set_take(p, at, out, &first);
    }
    p->pos++;
    mpx_value val;
    if ((rc = mpx_value_dict(out)) != MPX_OK || (rc = parse_value(p, &val)) != MPX_OK) {
        mpx_value_free(&first);
        return rc;
    }
    mpx_kind kind = mpx_value_kind(&first);
    if ((rc = mpx_value_dict_set(out, &first, &val)) != MPX_OK) { /* nothing was taken */
        mpx_value_free(&first);
        mpx_value_free(&val);
        if (rc == MPX_ETYPE)
            rc = fail(p, at, "unhashable type: '%s'", mpx_kind_name(kind));
    }
    return rc;
}

/* '{' items '}': a dict, or a set when its items have no ':' ({} is a dict). */
static int parse_dict(parser *p, mpx_value *out)
{
    if (peek(p) == '}') {
        p->pos++;
        return mpx_value_dict(out);
    }
    int rc = parse_first_item(p, out);
    bool set = mpx_value_kind(out) == MPX_SET, more = true;
    if (rc == MPX_OK)
        rc = after_item(p, '}', &more);
    while (more && rc == MPX_OK) {
        rc = set ? parse_set_item(p, out) : parse_dict_item(p, out);
        if (rc == MPX_OK)
            rc = after_item(p, '}', &more);
    }
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

/* set() and frozenset(), frozenset({...}): how repr writes the sets a literal cannot. */
static int parse_set_call(parser *p, mpx_value *out, bool *matched)
{
    static const char *const names[] = {"set()", "frozenset("};
    *matched = false;
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(p->text + p->pos, names[k], n) != 0)
            continue;
        *matched = true;
        p->pos += n;
        if (k == 0)
            return mpx_value_set(out, false);
        skip_space(p);
        if (peek(p) == ')') {
            p->pos++;
            return mpx_value_set(out, true);
        }
        size_t at = p->pos;
        int rc = parse_value(p, out);
        if (rc != MPX_OK)
            return rc;
        if (mpx_value_kind(out) != MPX_SET) {
            mpx_value_free(out);
            return fail(p, at, "frozenset() here takes a set literal");
        }
        skip_space(p);
        if (peek(p) != ')') {
            mpx_value_free(out);
            return fail_unexpected(p);
        }
        p->pos++;
        out->kind = MPX_FROZENSET;
        return MPX_OK;
    }
    return MPX_OK;
}

/* ---- values ----------------------------------------------------------------------------- */

/* None, True or False, when the identifier at p->pos is exactly one of them. */
static bool parse_keyword(parser *p, mpx_value *out)
{
    static const struct {
        const char *word;
        mpx_value value;
    } words[] = {
        {"None", {.kind = MPX_NONE}},
        {"True", {.kind = MPX_BOOL, .u.b = true}},
        {"False", {.kind = MPX_BOOL, .u.b = false}},
    };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        size_t n = strlen(words[k].word);
        if (strncmp(p->text + p->pos, words[k].word, n) == 0 && !is_ident(p->text[p->pos + n])) {
            *out = words[k].value;
            p->pos += n;
            return true;
        }
    }
    return false;
}

static int parse_value(parser *p, mpx_value *out)
{
    *out = mpx_value_none();
    skip_space(p);
    char c = peek(p);
    if (c == '[' || c == '(' || c == '{') {
        if (++p->depth > MAX_DEPTH)
            return fail(p, p->pos, "nesting deeper than %d", MAX_DEPTH);
        p->pos++;
        skip_space(p);
        int rc = c == '{' ? parse_dict(p, out) : parse_seq(p, c == '[' ? ']' : ')', out);
        p->depth--;
        return rc;
    }
    if (is_digit(c) || c == '-' || c == '+' || (c == '.' && is_digit(p->text[p->pos + 1])))
        return parse_number(p, out);
    bool bytes, raw;
    size_t at = p->pos;
    if (read_prefix(p, &bytes, &raw)) {
        p->pos = at;
        return parse_string(p, out);
    }
    if (parse_keyword(p, out))
        return MPX_OK;
    bool matched;
    int rc = parse_set_call(p, out, &matched);
    if (matched)
        return rc;
    return fail_unexpected(p);
}

int mpx_value_parse(const char *text, mpx_value *out, char *err, size_t errlen)
{
    parser p = {.text = text, .err = err, .errlen = errlen};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    int rc = parse_value(&p, out);
    if (rc == MPX_OK) {
        skip_space(&p);
        if (peek(&p) != '\0') {
            mpx_value_free(out);
            rc = fail_unexpected(&p);
        }
    }
    if (p.c_locale != (locale_t)0)
        freelocale(p.c_locale);
    if (rc == MPX_ENOMEM)
        fail(&p, p.pos, "out of memory");
    return rc;
}
