/* log.c - the manager's log: one line per event on stderr, "mpx-manager: level=... ...". */
#include <stdio.h>
#include <time.h>

#include "server_internal.h"

static const char *level_name(mpx_log_level level)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    return level <= MPX_LOG_DEBUG ? names[level] : "?";
}

void mpx_server_log(const mpx_server *s, mpx_log_level level, const char *fmt, ...)
{
    if (level > s->opts.log_level)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* one fprintf so concurrent writers to a shared stderr do not interleave mid-line */
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ mpx-manager level=%s %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, level_name(level), line);
}
