/* value_repr.c - repr() of an mpx_value, byte for byte what Python 3 prints.
 *
 * Floats use the shortest digit string that reads back to the same double, laid out by
 * Python's rule (scientific below 1e-4 and from 1e16 on). Strings choose their quotes and
 * escapes as Python does, using Unicode's non-printable set for the assigned characters.
 * The output grows in one buffer; an allocation failure poisons it and repr returns NULL.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value_internal.h"

typedef struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
} sbuf;

static bool sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[64]; /* callers print numbers and short names only */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_putn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- float ------------------------------------------------------------------------------ */

/* True when the decimal digits[0..n) x 10^(exp10 - n + 1) read back as f. Written
 * without a decimal point, so strtod's locale cannot matter. */
static bool round_trips(const char *digits, int n, int exp10, double f)
{
    char text[48];
    snprintf(text, sizeof text, "%.*se%d", n, digits, exp10 - n + 1);
    return strtod(text, NULL) == f;
}

/* Adds one unit in the last place of digits[0..n); 9.99 becomes 1.00 one decade up. */
static void digits_increment(char *digits, int n, int *exp10)
{
    int k = n - 1;
    while (k >= 0 && digits[k] == '9')
        digits[k--] = '0';
    if (k >= 0) {
        digits[k]++;
        return;
    }
    digits[0] = '1';
    (*exp10)++;
}

/* Shortest decimal digits of finite, positive f that read back as f, as Python's repr
 * (David Gay's mode 0) finds them: digits[] without a dot, and the decimal exponent of
 * the first digit. For each length, %e gives the correctly rounded candidate; at a power
 * of two the gap above f is twice the gap below, so the next candidate up can round-trip
 * when the nearest (below) does not. 17 digits always round-trip. */
static void float_digits(double f, char *digits, int *ndigits, int *exp10)
{
    char text[40];
    int n = 0, e = 0;
    for (int prec = 0; prec < 17; prec++) {
        snprintf(text, sizeof text, "%.*e", prec, f);
        const char *p = text;
        for (n = 0; *p != 'e'; p++) /* digits only: the dot is the locale's */
            if (*p >= '0' && *p <= '9')
                digits[n++] = *p;
        e = atoi(p + 1);
        if (round_trips(digits, n, e, f))
            break;
        int up_e = e;
        char up[24];
        memcpy(up, digits, (size_t)n);
        digits_increment(up, n, &up_e);
        if (round_trips(up, n, up_e, f)) {
            memcpy(digits, up, (size_t)n);
            e = up_e;
            break;
        }
    }
    while (n > 1 && digits[n - 1] == '0') /* 1e+16 is printed as "1", not "1.0" */
        n--;
    digits[n] = '\0';
    *ndigits = n;
    *exp10 = e;
}

static void repr_float(sbuf *b, double f)
{
    if (isnan(f)) {
        sb_puts(b, "nan");
        return;
    }
    if (signbit(f))
        sb_putc(b, '-');
    f = fabs(f);
    if (isinf(f)) {
        sb_puts(b, "inf");
        return;
    }
    char d[24];
    int n, e;
    if (f == 0.0) {
        strcpy(d, "0");
        n = 1;
        e = 0;
    } else {
        float_digits(f, d, &n, &e);
    }
    if (e < -4 || e >= 16) { /* Python's float_repr_style 'r' */
        sb_putc(b, d[0]);
        if (n > 1) {
            sb_putc(b, '.');
            sb_putn(b, d + 1, (size_t)n - 1);
        }
        sb_printf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) {
        sb_puts(b, "0.");
        for (int k = -1; k > e; k--)
            sb_putc(b, '0');
        sb_putn(b, d, (size_t)n);
    } else {
        int whole = e + 1; /* digits before the dot */
        sb_putn(b, d, (size_t)(n < whole ? n : whole));
        for (int k = n; k < whole; k++)
            sb_putc(b, '0');
        sb_putc(b, '.');
        if (n > whole)
            sb_putn(b, d + whole, (size_t)(n - whole));
        else
            sb_putc(b, '0');
    }
}

/* ---- str and bytes ---------------------------------------------------------------------- */

/* The assigned code points above U+007F that str.isprintable() rejects (Cc, Cf, Cs, Co,
 * Zl, Zp, Zs other than ' '), from Unicode 14; repr escapes them. Unassigned code points
 * are printed as they are. */
static const uint32_t nonprintable[][2] = {
    {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},
    {0x6dd, 0x6dd},     {0x70f, 0x70f},     {0x890, 0x891},     {0x8e2, 0x8e2},
    {0x1680, 0x1680},   {0x180e, 0x180e},   {0x2000, 0x200f},   {0x2028, 0x202f},
    {0x205f, 0x2064},   {0x2066, 0x206f},   {0x3000, 0x3000},   {0xd800, 0xf8ff},
    {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x13438}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f}, {0xf0000, 0xffffd}, {0x100000, 0x10fffd},
};

static bool printable(uint32_t cp)
{
    size_t lo = 0, hi = sizeof nonprintable / sizeof nonprintable[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < nonprintable[mid][0])
            hi = mid;
        else if (cp > nonprintable[mid][1])
            lo = mid + 1;
        else
            return false;
    }
    return true;
}

/* Python's choice: single quotes unless the text has ' and no ". */
static char pick_quote(const char *s, size_t len)
{
    bool single = memchr(s, '\'', len) != NULL, dbl = memchr(s, '"', len) != NULL;
    return single && !dbl ? '"' : '\'';
}

/* Escapes shared by str and bytes for one ASCII byte; false when c needs no escape. */
static bool escape_ascii(sbuf *b, unsigned char c, char quote)
{
    switch (c) {
    case '\\':
        sb_puts(b, "\\\\");
        return true;
    case '\n':
        sb_puts(b, "\\n");
        return true;
    case '\r':
        sb_puts(b, "\\r");
        return true;
    case '\t':
        sb_puts(b, "\\t");
        return true;
    default:
        if (c == (unsigned char)quote) {
            sb_putc(b, '\\');
            sb_putc(b, (char)c);
            return true;
        }
        if (c < 0x20 || c == 0x7f) {
            sb_printf(b, "\\x%02x", c);
            return true;
        }
        return false;
    }
}

/* Decodes one sequence of valid UTF-8 (str blocks are validated on construction). */
static uint32_t utf8_decode(const unsigned char *s, size_t *n)
{
    if (s[0] < 0xe0) {
        *n = 2;
        return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
    }
    if (s[0] < 0xf0) {
        *n = 3;
        return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
    }
    *n = 4;
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
           ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

static void repr_str(sbuf *b, const struct mpx_buf *buf)
{
    const unsigned char *s = (const unsigned char *)buf->data;
    char quote = pick_quote(buf->data, buf->len);
    sb_putc(b, quote);
    for (size_t i = 0; i < buf->len;) {
        if (s[i] < 0x80) {
            if (!escape_ascii(b, s[i], quote))
                sb_putc(b, (char)s[i]);
            i++;
            continue;
        }
        size_t n;
        uint32_t cp = utf8_decode(s + i, &n);
        if (printable(cp))
            sb_putn(b, (const char *)s + i, n);
        else if (cp < 0x100)
            sb_printf(b, "\\x%02x", cp);
        else if (cp < 0x10000)
            sb_printf(b, "\\u%04x", cp);
        else
            sb_printf(b, "\\U%08x", cp);
        i += n;
    }
    sb_putc(b, quote);
}

static void repr_bytes(sbuf *b, const struct mpx_buf *buf)
{
    const unsigned char *s = (const unsigned char *)buf->data;
    char quote = pick_quote(buf->data, buf->len);
    sb_putc(b, 'b');
    sb_putc(b, quote);
    for (size_t i = 0; i < buf->len; i++) {
        if (s[i] >= 0x80)
            sb_printf(b, "\\x%02x", s[i]);
        else if (!escape_ascii(b, s[i], quote))
            sb_putc(b, (char)s[i]);
    }
    sb_putc(b, quote);
}

/* ---- containers and the rest ------------------------------------------------------------ */

static void repr_value(sbuf *b, const mpx_value *v);

static void repr_seq(sbuf *b, const mpx_value *v)
{
    const struct mpx_seq *seq = v->u.seq;
    bool tuple = v->kind == MPX_TUPLE;
    sb_putc(b, tuple ? '(' : '[');
    for (size_t i = 0; i < seq->len && !b->oom; i++) {
        if (i > 0)
            sb_puts(b, ", ");
        repr_value(b, &seq->items[i]);
    }
    if (tuple && seq->len == 1)
        sb_putc(b, ','); /* (1,) */
    sb_putc(b, tuple ? ')' : ']');
}

static void repr_dict(sbuf *b, const mpx_value *v)
{
    size_t pos = 0;
    mpx_value *key, *val;
    sb_putc(b, '{');
    for (bool first = true; mpx_value_dict_next(v, &pos, &key, &val) && !b->oom;
         first = false) {
        if (!first)
            sb_puts(b, ", ");
        repr_value(b, key);
        sb_puts(b, ": ");
        repr_value(b, val);
    }
    sb_putc(b, '}');
}

/* {1, 2}, set(), frozenset({1, 2}), frozenset(): Python's spellings. */
static void repr_set(sbuf *b, const mpx_value *v)
{
    bool frozen = mpx_value_kind(v) == MPX_FROZENSET;
    if (mpx_value_len(v) == 0) {
        sb_puts(b, frozen ? "frozenset()" : "set()");
        return;
    }
    sb_puts(b, frozen ? "frozenset({" : "{");
    size_t pos = 0;
    mpx_value *item;
    for (bool first = true; mpx_value_set_next(v, &pos, &item) && !b->oom; first = false) {
        if (!first)
            sb_puts(b, ", ");
        repr_value(b, item);
    }
    sb_puts(b, frozen ? "})" : "}");
}

static void repr_slice(sbuf *b, const struct mpx_slice *sl)
{
    sb_puts(b, "slice(");
    for (int k = 0; k < 3; k++) {
        if (k > 0)
            sb_puts(b, ", ");
        if (sl->has & (1u << k))
            sb_printf(b, "%" PRId64, sl->part[k]);
        else
            sb_puts(b, "None");
    }
    sb_putc(b, ')');
}

static void repr_value(sbuf *b, const mpx_value *v)
{
    switch (v->kind) {
    case MPX_NONE:
        sb_puts(b, "None");
        break;
    case MPX_BOOL:
        sb_puts(b, v->u.b ? "True" : "False");
        break;
    case MPX_INT:
        sb_printf(b, "%" PRId64, v->u.i);
        break;
    case MPX_FLOAT:
        repr_float(b, v->u.f);
        break;
    case MPX_STR:
        repr_str(b, v->u.buf);
        break;
    case MPX_BYTES:
        repr_bytes(b, v->u.buf);
        break;
    case MPX_LIST:
    case MPX_TUPLE:
        repr_seq(b, v);
        break;
    case MPX_DICT:
        repr_dict(b, v);
        break;
    case MPX_SET:
    case MPX_FROZENSET:
        repr_set(b, v);
        break;
    case MPX_REF:
        sb_puts(b, "<ref ");
        sb_puts(b, v->u.ref->type);
        sb_printf(b, " %" PRIu64 ">", v->u.ref->id);
        break;
    case MPX_SLICE:
        repr_slice(b, v->u.slice);
        break;
    default:
        sb_puts(b, "<invalid>");
        break;
    }
}

char *mpx_value_repr(const mpx_value *v)
{
    sbuf b = {0};
    if (!sb_reserve(&b, 16))
        return NULL;
    b.p[0] = '\0';
    repr_value(&b, v);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
