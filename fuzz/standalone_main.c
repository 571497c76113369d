/* standalone_main.c - runs a fuzz target over files, without libFuzzer (OSS-Fuzz's
 * StandaloneFuzzTargetMain), so that the normal gcc build replays every corpus as a test.
 *
 * Each argument is a file or a directory (read recursively, entries in name order, so runs
 * are reproducible); every file is read into a buffer of exactly its size, so that a read
 * past the input shows under AddressSanitizer as it would under libFuzzer. Invariant: a run
 * that found no input at all fails, so a mistyped corpus path cannot pass as a green test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The whole file in a malloc'd buffer of its size (one byte for an empty file, which is
 * passed as size 0). NULL when it cannot be read. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs the target on path, or on everything under it; counts the inputs run. 0, or -1
 * after printing why a path could not be read. */
static int run_path(const char *path, size_t *ran)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        size_t size;
        uint8_t *data = read_file(path, &size);
        if (data == NULL) {
            perror(path);
            return -1;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        (*ran)++;
        return 0;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        perror(path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (rc == 0 && name[0] != '.') { /* ., .. and hidden files such as .gitkeep */
            size_t len = strlen(path) + strlen(name) + 2;
            char *child = malloc(len);
            if (child == NULL) {
                rc = -1;
            } else {
                snprintf(child, len, "%s/%s", path, name);
                rc = run_path(child, ran);
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    size_t ran = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &ran) != 0)
            return 1;
    printf("%s: ran %zu inputs\n", argv[0], ran);
    if (ran == 0) {
        fprintf(stderr, "%s: no input found (usage: %s FILE_OR_DIR...)\n", argv[0], argv[0]);
        return 1;
    }
    return 0;
}
