/* mpx.c - the command-line client of mpx-manager, with redis-cli's habits.
 *
 *   mpx -a tcp://HOST:PORT -k KEYFILE [--admin-key-file F] [--json] COMMAND [ARGS...]
 *
 * ls, info, get NAME, call NAME METHOD ARGS..., del NAME, shutdown, ping. Arguments are
 * Python literals ('x', 3, [1, 2], {'a': None}; a word that is no literal is a str), and
 * answers print as Python's repr, or as JSON with --json. Without a command, with a
 * terminal on stdin, it reads commands at a prompt with line editing and history
 * (libedit); without a terminal it reads them one per line. Exit codes: 0 success, 1 the
 * manager refused the call (its exception and message on stderr), 2 a usage error, 3 no
 * connection (address, key, or the connection was lost).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MPX_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "mpx.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_CONNECTION 3
#define MAX_WORDS 64
#define LINE_MAX_LEN 65536

typedef struct options {
    const char *address;
    const char *key_file;       /* NULL: $MPX_AUTHKEY */
    const char *admin_key_file; /* NULL: no admin login (the manager may --allow-admin) */
    bool json;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpx -a ADDR [-k KEYFILE] [--admin-key-file F] [--json] [COMMAND ARGS...]\n"
            "\n"
            "  ls                       the objects: id, type, name, refs, size\n"
            "  info                     the manager's figures\n"
            "  get NAME                 the named object, as its repr\n"
            "  call NAME METHOD ARGS..  a method with Python-literal arguments\n"
            "  del NAME                 forget the name (the object lives while proxies do)\n"
            "  shutdown                 stop the manager\n"
            "  ping\n"
            "\n"
            "  -a, --address ADDR       tcp://HOST:PORT or unix:///PATH (or $MPX_ADDRESS)\n"
            "  -k, --authkey-file PATH  the key (or $MPX_AUTHKEY)\n"
            "  --admin-key-file PATH    prove the manager's admin key (ls, info, get, call,\n"
            "                           del and shutdown need it, or --allow-admin)\n"
            "  --json                   answers as JSON\n"
            "Without a command: a prompt. Exit 0 ok, 1 refused, 2 usage, 3 connection.\n");
}

/* ---- output ------------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* JSON has no bytes, tuple, set or reference: bytes are {"bytes": "<latin-1 text>"},
 * tuples and sets arrays, a dict with other than str keys a list of [key, value] pairs,
 * a reference {"ref": id, "type": name}, a non-finite float null. */
static void json_value(FILE *f, const mpx_value *v)
{
    size_t pos = 0;
    mpx_value *k, *val;
    bool str_keys = true;
    switch (mpx_value_kind(v)) {
    case MPX_NONE: fputs("null", f); return;
    case MPX_BOOL: fputs(mpx_value_get_bool(v) ? "true" : "false", f); return;
    case MPX_INT: fprintf(f, "%" PRId64, mpx_value_get_int(v)); return;
    case MPX_FLOAT:
        if (isfinite(mpx_value_get_float(v)))
            fprintf(f, "%.17g", mpx_value_get_float(v));
        else
            fputs("null", f);
        return;
    case MPX_STR: json_string(f, mpx_value_str_data(v), mpx_value_str_len(v)); return;
    case MPX_BYTES: {
        fputs("{\"bytes\": \"", f);
        const unsigned char *b = (const unsigned char *)mpx_value_str_data(v);
        for (size_t i = 0; i < mpx_value_str_len(v); i++)
            fprintf(f, b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' ? "%c"
                                                                                   : "\\u%04x",
                    b[i]);
        fputs("\"}", f);
        return;
    }
    case MPX_LIST:
    case MPX_TUPLE:
        fputc('[', f);
        for (size_t i = 0; i < mpx_value_len(v); i++) {
            if (i > 0)
                fputs(", ", f);
            json_value(f, mpx_value_at(v, i));
        }
        fputc(']', f);
        return;
    case MPX_SET:
    case MPX_FROZENSET:
        fputc('[', f);
        for (bool first = true; mpx_value_set_next(v, &pos, &k); first = false) {
            if (!first)
                fputs(", ", f);
            json_value(f, k);
        }
        fputc(']', f);
        return;
    case MPX_DICT:
        while (mpx_value_dict_next(v, &pos, &k, &val))
            str_keys = str_keys && mpx_value_kind(k) == MPX_STR;
        fputc(str_keys ? '{' : '[', f);
        pos = 0;
        for (bool first = true; mpx_value_dict_next(v, &pos, &k, &val); first = false) {
            fputs(first ? "" : ", ", f);
            fputs(str_keys ? "" : "[", f);
            json_value(f, k);
            fputs(str_keys ? ": " : ", ", f);
            json_value(f, val);
            fputs(str_keys ? "" : "]", f);
        }
        fputc(str_keys ? '}' : ']', f);
        return;
    case MPX_REF:
        fprintf(f, "{\"ref\": %" PRIu64 ", \"type\": ", mpx_value_ref_id(v));
        json_string(f, mpx_value_ref_type(v), strlen(mpx_value_ref_type(v)));
        fputc('}', f);
        return;
    default: fputs("null", f); return;
    }
}

static void print_value(const options *o, const mpx_value *v)
{
    if (o->json) {
        json_value(stdout, v);
        fputc('\n', stdout);
        return;
    }
    if (mpx_value_kind(v) == MPX_STR) { /* text prints as text, as redis-cli's bulk strings */
        fwrite(mpx_value_str_data(v), 1, mpx_value_str_len(v), stdout);
        fputc('\n', stdout);
        return;
    }
    char *text = mpx_value_repr(v);
    puts(text != NULL ? text : "<out of memory>");
    free(text);
}

/* ---- the calls --------------------------------------------------------------------------- */

/* The exit code for a failed call, its reason on stderr. */
static int failed(mpx_client *c, int rc)
{
    fprintf(stderr, "(error) %s: %s\n", mpx_err_name(rc), mpx_client_errmsg(c));
    return rc == MPX_EIO || rc == MPX_ECLOSED ? EXIT_CONNECTION : EXIT_REFUSED;
}

/* An argument word: a Python literal, or else the word itself as a str. */
static int literal_arg(const char *word, mpx_value *out)
{
    char err[8];
    if (mpx_value_parse(word, out, err, sizeof err) == MPX_OK)
        return MPX_OK;
    return mpx_value_str(out, word);
}

/* The id of the object NAME stands for (a number is an id already). */
static int object_id(mpx_client *c, const char *name, uint64_t *id)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(name, &end, 10);
    if (*name != '\0' && *end == '\0' && errno == 0 && n > 0) {
        *id = n;
        return MPX_OK;
    }
    mpx_value arg, found;
    if (mpx_value_str(&arg, name) != MPX_OK)
        return MPX_ENOMEM;
    int rc = mpx_client_call(c, 0, "lookup", &arg, 1, -1, &found);
    mpx_value_free(&arg);
    if (rc == MPX_OK)
        *id = (uint64_t)mpx_value_get_int(mpx_value_at(&found, 0));
    mpx_value_free(&found);
    return rc;
}

/* ls: every object, a page of the manager's scan at a time. */
static int cmd_ls(const options *o, mpx_client *c)
{
    int64_t cursor = 0;
    bool first = true;
    do {
        mpx_value arg = mpx_value_int(cursor), page;
        int rc = mpx_client_call(c, 0, "objects", &arg, 1, -1, &page);
        if (rc != MPX_OK)
            return failed(c, rc);
        if (cursor == 0 && o->json)
            fputc('[', stdout);
        else if (cursor == 0)
            printf("%-10s %-16s %-24s %6s %10s\n", "id", "type", "name", "refs", "size");
        cursor = mpx_value_get_int(mpx_value_at(&page, 0));
        const mpx_value *rows = mpx_value_at(&page, 1);
        for (size_t i = 0; i < mpx_value_len(rows); i++) {
            const mpx_value *r = mpx_value_at(rows, i);
            if (o->json) {
                fputs(first ? "" : ",\n ", stdout);
                json_value(stdout, r);
                first = false;
                continue;
            }
            const mpx_value *name = mpx_value_at(r, 2), *size = mpx_value_at(r, 4);
            char sz[32] = "-";
            if (mpx_value_kind(size) == MPX_INT)
                snprintf(sz, sizeof sz, "%" PRId64, mpx_value_get_int(size));
            printf("%-10" PRId64 " %-16s %-24s %6" PRId64 " %10s\n",
                   mpx_value_get_int(mpx_value_at(r, 0)), mpx_value_str_data(mpx_value_at(r, 1)),
                   mpx_value_kind(name) == MPX_STR ? mpx_value_str_data(name) : "-",
                   mpx_value_get_int(mpx_value_at(r, 3)), sz);
        }
        mpx_value_free(&page);
    } while (cursor != 0);
    if (o->json)
        puts("]");
    return 0;
}

/* A call on object 0 that takes at most one word, printing its answer. */
static int cmd_manager(const options *o, mpx_client *c, const char *method, const char *word)
{
    mpx_value arg, out;
    if (word != NULL && mpx_value_str(&arg, word) != MPX_OK)
        return failed(c, MPX_ENOMEM);
    int rc = mpx_client_call(c, 0, method, word != NULL ? &arg : NULL, word != NULL, -1, &out);
    if (word != NULL)
        mpx_value_free(&arg);
    if (rc != MPX_OK)
        return failed(c, rc);
    print_value(o, &out);
    mpx_value_free(&out);
    return 0;
}

static int cmd_call(const options *o, mpx_client *c, char **words, int n)
{
    uint64_t id;
    int rc = object_id(c, words[0], &id);
    if (rc != MPX_OK)
        return failed(c, rc);
    mpx_value args[MAX_WORDS], out;
    int nargs = 0;
    for (int i = 2; i < n; i++) {
        if (literal_arg(words[i], &args[nargs]) != MPX_OK)
            break;
        nargs++;
    }
    rc = nargs == n - 2 ? mpx_client_call(c, id, words[1], args, (size_t)nargs, -1, &out)
                        : MPX_ENOMEM;
    for (int i = 0; i < nargs; i++)
        mpx_value_free(&args[i]);
    if (rc != MPX_OK)
        return failed(c, rc);
    print_value(o, &out);
    mpx_value_free(&out);
    return 0;
}

static int cmd_info(const options *o, mpx_client *c, char **w, int n)
{
    (void)w, (void)n;
    return cmd_manager(o, c, "info", NULL);
}

static int cmd_get(const options *o, mpx_client *c, char **w, int n)
{
    (void)n;
    return cmd_manager(o, c, "repr", w[1]);
}

static int cmd_del(const options *o, mpx_client *c, char **w, int n)
{
    (void)n;
    return cmd_manager(o, c, "delete", w[1]);
}

static int cmd_shutdown(const options *o, mpx_client *c, char **w, int n)
{
    (void)w, (void)n;
    return cmd_manager(o, c, "shutdown", NULL);
}

static int cmd_ping(const options *o, mpx_client *c, char **w, int n)
{
    (void)w, (void)n;
    return cmd_manager(o, c, "ping", NULL);
}

static int cmd_ls_words(const options *o, mpx_client *c, char **w, int n)
{
    (void)w, (void)n;
    return cmd_ls(o, c);
}

static int cmd_call_words(const options *o, mpx_client *c, char **w, int n)
{
    return cmd_call(o, c, w + 1, n - 1);
}

static int cmd_help(const options *o, mpx_client *c, char **w, int n)
{
    (void)o, (void)c, (void)w, (void)n;
    usage(stdout);
    return 0;
}

typedef struct command {
    const char *name;
    int min, max; /* words after the command's name */
    int (*fn)(const options *o, mpx_client *c, char **words, int n);
} command;

static const command commands[] = {
    {"ls", 0, 0, cmd_ls_words},         {"info", 0, 0, cmd_info},
    {"get", 1, 1, cmd_get},             {"call", 2, MAX_WORDS, cmd_call_words},
    {"del", 1, 1, cmd_del},             {"shutdown", 0, 0, cmd_shutdown},
    {"ping", 0, 0, cmd_ping},           {"help", 0, 0, cmd_help},
};

/* One command: its words, as the command line gave them. */
static int run(const options *o, mpx_client *c, char **w, int n)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const command *cmd = &commands[i];
        if (strcmp(w[0], cmd->name) != 0)
            continue;
        if (n - 1 < cmd->min || n - 1 > cmd->max) {
            fprintf(stderr, "(error) %s: wrong number of arguments (see help)\n", w[0]);
            return EXIT_USAGE;
        }
        return cmd->fn(o, c, w, n);
    }
    fprintf(stderr, "(error) unknown command '%s' (see help)\n", w[0]);
    return EXIT_USAGE;
}

/* ---- the prompt -------------------------------------------------------------------------- */

/* Splits a line into words: spaces separate, except inside quotes or brackets, so that
 * call d update {'a': 1, 'b': 'x y'} is three words after "call". */
static int split_words(char *line, char **words, int max)
{
    int n = 0, depth = 0;
    char quote = 0;
    char *p = line;
    while (*p != '\0' && n < max) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        words[n++] = p;
        for (; *p != '\0'; p++) {
            if (quote) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                else if (*p == quote)
                    quote = 0;
            } else if (*p == '\'' || *p == '"') {
                quote = *p;
            } else if (*p == '[' || *p == '(' || *p == '{') {
                depth++;
            } else if ((*p == ']' || *p == ')' || *p == '}') && depth > 0) {
                depth--;
            } else if ((*p == ' ' || *p == '\t' || *p == '\n') && depth == 0) {
                break;
            }
        }
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

static char *read_line(bool tty)
{
#ifdef MPX_HAVE_LIBEDIT
    if (tty) {
        char *line = readline("mpx> ");
        if (line != NULL && *line != '\0')
            add_history(line);
        return line;
    }
#else
    if (tty)
        fputs("mpx> ", stdout), fflush(stdout);
#endif
    char *buf = malloc(LINE_MAX_LEN);
    if (buf == NULL || fgets(buf, LINE_MAX_LEN, stdin) == NULL) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Commands from stdin until EOF or quit; the exit code of the last one. */
static int prompt(const options *o, mpx_client *c)
{
    bool tty = isatty(STDIN_FILENO);
    int last = 0;
    char *line;
    while ((line = read_line(tty)) != NULL) {
        char *words[MAX_WORDS];
        int n = split_words(line, words, MAX_WORDS);
        if (n > 0 && (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0)) {
            free(line);
            break;
        }
        if (n > 0)
            last = run(o, c, words, n);
        free(line);
        fflush(stdout);
        if (last == EXIT_CONNECTION)
            break;
    }
    return last;
}

/* ---- main -------------------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, options *o)
{
    enum { O_ADMIN = 256, O_JSON };
    static const struct option longopts[] = {
        {"address", required_argument, NULL, 'a'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"admin-key-file", required_argument, NULL, O_ADMIN},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    o->address = getenv("MPX_ADDRESS");
    while ((opt = getopt_long(argc, argv, "+a:k:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': o->address = optarg; break;
        case 'k': o->key_file = optarg; break;
        case O_ADMIN: o->admin_key_file = optarg; break;
        case O_JSON: o->json = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (o->address == NULL) {
        fprintf(stderr, "mpx: -a ADDR is required (or $MPX_ADDRESS)\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = {0};
    if (parse_options(argc, argv, &o) != 0)
        return EXIT_USAGE;
    mpx_client *c;
    int rc = mpx_client_connect_keyfile(o.address, o.key_file, NULL, &c);
    if (rc != MPX_OK) {
        fprintf(stderr, "mpx: %s\n", c != NULL ? mpx_client_errmsg(c) : mpx_strerror(rc));
        mpx_client_close(c);
        return EXIT_CONNECTION;
    }
    if (o.admin_key_file != NULL) {
        uint8_t *key;
        size_t len;
        char err[256];
        rc = mpx_authkey_load(o.admin_key_file, &key, &len, err, sizeof err);
        if (rc != MPX_OK) {
            fprintf(stderr, "mpx: --admin-key-file: %s\n", err);
            mpx_client_close(c);
            return EXIT_USAGE;
        }
        rc = mpx_client_admin_login(c, key, len);
        free(key);
        if (rc != MPX_OK) {
            int code = failed(c, rc);
            mpx_client_close(c);
            return code;
        }
    }
    int code = optind < argc ? run(&o, c, argv + optind, argc - optind) : prompt(&o, c);
    mpx_client_close(c);
    return code;
}
