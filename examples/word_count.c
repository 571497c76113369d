/* word_count.c - counting the words of text files with a process pool, on one host or many.
 *
 *   word_count [--processes N] [--top K] FILE...                    a local pool
 *   word_count --single [--top K] FILE...                           one process, no pool
 *   word_count worker --connect ADDR --authkey-file key --pool wc    on every worker host
 *   word_count --connect ADDR --authkey-file key --pool wc [--close] FILE...
 * The submitter reads the files and maps over their lines, in chunks of 200. A task counts
 * its chunk's words (lower-cased runs of letters, digits and apostrophes; bytes over 127
 * count as letters, so UTF-8 words stay whole) and reduces them into the shared dict
 * wc.counts under the Lock wc.lock, with two pipelined rounds of calls per chunk. The
 * submitter then prints the totals and the K most frequent words (by count, then
 * alphabetically): the same output from --single, a local pool, or workers on 3 hosts.
 * A chunk re-run after its worker died is counted twice in the dict (at-least-once).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx.h"

#define CHUNK_LINES 200
#define LINE_MAX_BYTES 65536

typedef struct options {
    const char *address;
    const char *keyfile;
    const char *pool;
    int processes;
    long top;
    bool single;
    bool close;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: word_count [--processes N] [--top K] FILE...\n"
            "       word_count --single [--top K] FILE...\n"
            "       word_count --connect ADDR [--authkey-file PATH] [--pool NAME] [--close]\n"
            "                  [--top K] FILE...\n"
            "       word_count worker --connect ADDR [--authkey-file PATH] --pool NAME\n"
            "                  [--processes N]\n"
            "Counts the words of the files and prints the K (default 10) most frequent:\n"
            "with a local pool of N processes (default: the cores), in one process\n"
            "(--single), or through the pool NAME (default wc) of the mpx-manager at ADDR,\n"
            "whose workers are started with `worker` on any host; --close then closes that\n"
            "pool. The key comes from --authkey-file, or else from $%s.\n",
            MPX_AUTHKEY_ENV);
}

static int fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "word_count: %s: %s: %s\n", what, mpx_err_name(rc),
            msg && msg[0] ? msg : mpx_strerror(rc));
    return rc;
}

/* ---- counting ----------------------------------------------------------------------------- */

static bool word_byte(unsigned char ch)
{
    return isalnum(ch) || ch == '\'' || ch >= 0x80;
}

/* Adds the words of text (len bytes) to counts, a dict word -> int; *words counts them. */
static int count_words(const char *text, size_t len, mpx_value *counts, int64_t *words)
{
    char word[256];
    size_t i = 0;
    while (i < len) {
        while (i < len && !word_byte((unsigned char)text[i]))
            i++;
        size_t n = 0;
        while (i < len && word_byte((unsigned char)text[i])) {
            if (n < sizeof word - 1)
                word[n++] = (char)tolower((unsigned char)text[i]);
            i++;
        }
        if (n == 0)
            continue;
        mpx_value key, *had, one;
        if (mpx_value_strn(&key, word, n) != MPX_OK)
            continue; /* not UTF-8 (a cut or broken sequence): skipped */
        (*words)++;
        if (mpx_value_dict_find(counts, &key, &had) == MPX_OK) {
            *had = mpx_value_int(mpx_value_get_int(had) + 1);
            mpx_value_free(&key);
            continue;
        }
        one = mpx_value_int(1);
        int rc = mpx_value_dict_set(counts, &key, &one);
        if (rc != MPX_OK) {
            mpx_value_free(&key);
            return rc;
        }
    }
    return MPX_OK;
}

/* Adds counts into the shared dict: one pipelined round of gets, one of sets. The caller
 * holds the lock. */
static int reduce_into(mpx_client *c, mpx_dict *shared, const mpx_value *counts)
{
    mpx_proxy *d = mpx_dict_proxy(shared);
    mpx_value zero = mpx_value_int(0), *key, *n, now;
    size_t pos = 0, total = mpx_value_len(counts);
    uint64_t id;
    int rc = MPX_OK, status;
    int64_t *old = calloc(total ? total : 1, sizeof *old);
    if (old == NULL)
        return MPX_ENOMEM;
    while (rc == MPX_OK && mpx_value_dict_next(counts, &pos, &key, &n)) {
        mpx_value args[2] = {*key, zero};
        rc = mpx_proxy_append(d, "get", args, 2, -1, &id);
    }
    for (size_t i = 0; rc == MPX_OK && i < total; i++) {
        rc = mpx_client_get_reply(c, 30, &id, &status, &now);
        if (rc == MPX_OK && (rc = status) == MPX_OK)
            old[i] = mpx_value_kind(&now) == MPX_INT ? mpx_value_get_int(&now) : 0;
        mpx_value_free(&now);
    }
    pos = 0;
    for (size_t i = 0; rc == MPX_OK && mpx_value_dict_next(counts, &pos, &key, &n); i++) {
        mpx_value args[2] = {*key, mpx_value_int(old[i] + mpx_value_get_int(n))};
        rc = mpx_proxy_append(d, "__setitem__", args, 2, -1, &id);
    }
    for (size_t i = 0; rc == MPX_OK && i < total; i++) {
        rc = mpx_client_get_reply(c, 30, &id, &status, &now);
        if (rc == MPX_OK)
            rc = status;
        mpx_value_free(&now);
    }
    free(old);
    return rc;
}

/* The task: count((lines,)) -> the number of words; adds the counts to wc.counts. */
static int count_task(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                      size_t errlen)
{
    const mpx_value *lines = mpx_value_at(args, 0);
    if (lines == NULL || mpx_value_kind(lines) != MPX_LIST) {
        snprintf(err, errlen, "count needs a list of lines");
        return MPX_ETYPE;
    }
    mpx_value counts;
    int64_t words = 0;
    int rc = mpx_value_dict(&counts);
    for (size_t i = 0; rc == MPX_OK && i < mpx_value_len(lines); i++) {
        const mpx_value *line = mpx_value_at(lines, i);
        rc = count_words(mpx_value_str_data(line), mpx_value_str_len(line), &counts, &words);
    }
    mpx_lock *lock = NULL;
    mpx_dict *shared = NULL;
    if (rc == MPX_OK && (rc = mpx_lock_open(c, "wc.lock", &lock)) == MPX_OK &&
        (rc = mpx_dict_open(c, "wc.counts", &shared)) == MPX_OK &&
        (rc = mpx_lock_acquire(lock, -1, NULL)) == MPX_OK) {
        rc = reduce_into(c, shared, &counts);
        int rrc = mpx_lock_release(lock);
        if (rc == MPX_OK)
            rc = rrc;
    }
    if (rc != MPX_OK)
        snprintf(err, errlen, "reducing into wc.counts: %s", mpx_client_errmsg(c));
    mpx_dict_close(shared);
    mpx_lock_close(lock);
    mpx_value_free(&counts);
    *result = mpx_value_int(words);
    return rc;
}

static const mpx_pool_function FUNCTIONS[] = {{"count", count_task}};

/* ---- the input ---------------------------------------------------------------------------- */

/* The lines of the files, as a list of str (a line that is not UTF-8 is replaced by its
 * ASCII bytes). */
static int read_lines(char **files, int nfiles, mpx_value *lines)
{
    int rc = mpx_value_list(lines, 1024);
    char *buf = malloc(LINE_MAX_BYTES);
    if (buf == NULL)
        rc = MPX_ENOMEM;
    for (int f = 0; rc == MPX_OK && f < nfiles; f++) {
        FILE *in = fopen(files[f], "r");
        if (in == NULL) {
            fprintf(stderr, "word_count: %s: %s\n", files[f], strerror(errno));
            rc = MPX_EIO;
            break;
        }
        while (rc == MPX_OK && fgets(buf, LINE_MAX_BYTES, in) != NULL) {
            mpx_value line;
            size_t n = strcspn(buf, "\n");
            if (mpx_value_strn(&line, buf, n) != MPX_OK) {
                for (size_t i = 0; i < n; i++)
                    if ((unsigned char)buf[i] >= 0x80)
                        buf[i] = ' ';
                rc = mpx_value_strn(&line, buf, n);
            }
            if (rc == MPX_OK && (rc = mpx_value_append(lines, &line)) != MPX_OK)
                mpx_value_free(&line);
        }
        fclose(in);
    }
    free(buf);
    if (rc != MPX_OK)
        mpx_value_free(lines);
    return rc;
}

/* [lines[0:200], lines[200:400], ...]: the map's items (the lines move out of lines). */
static int make_chunks(mpx_value *lines, mpx_value *chunks)
{
    size_t n = mpx_value_len(lines);
    int rc = mpx_value_list(chunks, n / CHUNK_LINES + 1);
    for (size_t start = 0; rc == MPX_OK && start < n; start += CHUNK_LINES) {
        mpx_value chunk;
        rc = mpx_value_list(&chunk, CHUNK_LINES);
        for (size_t i = start; rc == MPX_OK && i < n && i < start + CHUNK_LINES; i++)
            mpx_value_append(&chunk, mpx_value_at(lines, i)); /* within the capacity */
        if (rc == MPX_OK && (rc = mpx_value_append(chunks, &chunk)) != MPX_OK)
            mpx_value_free(&chunk);
    }
    if (rc != MPX_OK)
        mpx_value_free(chunks);
    return rc;
}

/* ---- the result --------------------------------------------------------------------------- */

typedef struct entry {
    const mpx_value *word;
    int64_t count;
} entry;

static int by_count_then_word(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(mpx_value_str_data(a->word), mpx_value_str_data(b->word));
}

/* Prints the totals and the top words of counts: a dict word -> int, or a list of
 * (word, int) pairs (the shared dict's items). */
static int print_counts(const mpx_value *counts, size_t nlines, int64_t words, long top)
{
    size_t n = mpx_value_len(counts), pos = 0, i = 0;
    entry *all = calloc(n ? n : 1, sizeof *all);
    if (all == NULL)
        return MPX_ENOMEM;
    mpx_value *key, *val;
    int64_t summed = 0;
    if (mpx_value_kind(counts) == MPX_DICT) {
        while (mpx_value_dict_next(counts, &pos, &key, &val))
            all[i++] = (entry){key, mpx_value_get_int(val)};
    } else {
        for (; i < n; i++) {
            const mpx_value *pair = mpx_value_at(counts, i);
            all[i] = (entry){mpx_value_at(pair, 0), mpx_value_get_int(mpx_value_at(pair, 1))};
        }
    }
    for (i = 0; i < n; i++)
        summed += all[i].count;
    qsort(all, n, sizeof *all, by_count_then_word);
    printf("%zu lines, %" PRId64 " words, %zu distinct\n", nlines, words, n);
    for (i = 0; i < n && (long)i < top; i++)
        printf("%8" PRId64 "  %s\n", all[i].count, mpx_value_str_data(all[i].word));
    free(all);
    if (summed != words)
        printf("(the shared counts add up to %" PRId64 ": tasks ran again after a worker "
               "died)\n",
               summed);
    return MPX_OK;
}

static int run_single(mpx_value *lines, long top)
{
    mpx_value counts;
    int64_t words = 0;
    int rc = mpx_value_dict(&counts);
    for (size_t i = 0; rc == MPX_OK && i < mpx_value_len(lines); i++) {
        const mpx_value *line = mpx_value_at(lines, i);
        rc = count_words(mpx_value_str_data(line), mpx_value_str_len(line), &counts, &words);
    }
    if (rc == MPX_OK)
        rc = print_counts(&counts, mpx_value_len(lines), words, top);
    mpx_value_free(&counts);
    return rc;
}

static int run_pool(mpx_pool *p, mpx_value *lines, long top)
{
    mpx_client *c = mpx_pool_client(p);
    size_t nlines = mpx_value_len(lines);
    mpx_dict *shared;
    mpx_value chunks, out, counts;
    int rc = mpx_dict_open(c, "wc.counts", &shared);
    if (rc == MPX_OK)
        rc = mpx_dict_clear(shared); /* a long-lived manager keeps it between runs */
    if (rc != MPX_OK)
        return fail("wc.counts", rc, mpx_client_errmsg(c));
    if ((rc = make_chunks(lines, &chunks)) != MPX_OK) {
        mpx_dict_close(shared);
        return fail("chunks", rc, NULL);
    }
    rc = mpx_pool_map(p, "count", &chunks, &out);
    mpx_value_free(&chunks);
    if (rc != MPX_OK) {
        mpx_dict_close(shared);
        return fail("map", rc, mpx_pool_errmsg(p));
    }
    int64_t words = 0;
    for (size_t i = 0; i < mpx_value_len(&out); i++)
        words += mpx_value_get_int(mpx_value_at(&out, i));
    mpx_value_free(&out);
    if ((rc = mpx_dict_items(shared, &counts)) == MPX_OK) {
        rc = print_counts(&counts, nlines, words, top);
        mpx_value_free(&counts);
    } else {
        fail("reading wc.counts", rc, mpx_client_errmsg(c));
    }
    mpx_dict_close(shared);
    return rc;
}

/* ---- main --------------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'}, {"authkey-file", required_argument, NULL, 'k'},
        {"pool", required_argument, NULL, 'p'},    {"processes", required_argument, NULL, 'n'},
        {"top", required_argument, NULL, 't'},     {"single", no_argument, NULL, '1'},
        {"close", no_argument, NULL, 'x'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.pool = "wc", .top = 10};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        long v = 0;
        if (opt == 'n' || opt == 't') {
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || v < 1 || v > 1000000) {
                fprintf(stderr, "word_count: --%s needs a number from 1 to 1000000\n",
                        opt == 'n' ? "processes" : "top");
                return 2;
            }
        }
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->keyfile = optarg; break;
        case 'p': o->pool = optarg; break;
        case 'n': o->processes = (int)(v > 1024 ? 1024 : v); break;
        case 't': o->top = v; break;
        case '1': o->single = true; break;
        case 'x': o->close = true; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc) {
        fprintf(stderr, "word_count: no files to count\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

static int connect_client(const options *o, mpx_client **out)
{
    int rc = mpx_client_connect_keyfile(o->address, o->keyfile, NULL, out);
    if (rc != MPX_OK)
        fail(o->address, rc, *out != NULL ? mpx_client_errmsg(*out) : NULL);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "worker") == 0)
        return mpx_pool_worker_main(argc - 1, argv + 1, FUNCTIONS, 1, NULL, NULL);
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    mpx_value lines;
    if (read_lines(argv + optind, argc - optind, &lines) != MPX_OK)
        return 1;
    if (o.single) {
        rc = run_single(&lines, o.top);
        mpx_value_free(&lines);
        return rc == MPX_OK ? 0 : 1;
    }
    mpx_pool *p = NULL;
    mpx_client *c = NULL;
    mpx_pool_opts opts;
    mpx_pool_opts_init(&opts);
    opts.processes = o.processes;
    opts.functions = FUNCTIONS;
    opts.nfunctions = 1;
    opts.progress = true;
    if (o.address == NULL)
        rc = mpx_pool_start(&opts, &p);
    else if ((rc = connect_client(&o, &c)) == MPX_OK)
        rc = mpx_pool_connect(c, o.pool, &opts, &p);
    if (rc == MPX_OK) {
        rc = run_pool(p, &lines, o.top);
        if (o.address == NULL || o.close) {
            mpx_pool_close(p);
            mpx_pool_join(p);
        }
    } else if (p != NULL) { /* a failed pool says why (a failed client said it already) */
        fail("pool", rc, mpx_pool_errmsg(p));
    }
    mpx_pool_free(p);
    mpx_client_close(c);
    mpx_value_free(&lines);
    return rc == MPX_OK ? 0 : 1;
}
