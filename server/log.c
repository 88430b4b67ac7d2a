// SPDX-License-Identifier: BSD-3-Clause
// The server log, in redis-server's line format so that tools reading redis
// logs read ours: "pid:M 04 Dec 2026 20:00:00.123 * text", with the level
// marks '.' debug, '-' verbose, '*' notice and '#' warning. Lines go to the
// configured logfile, or to stdout when logfile is "".

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

enum rp_log_level rp_log_min_level = RP_LOG_NOTICE;

// The log is process-wide, like stdout: every loop writes to the same file.
static FILE *log_file;

int rp_log_open(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        rp_log_close();
        return 0;
    }

    FILE *f = fopen(path, "a");
    if (f == NULL)
        return -errno;
    rp_log_close();
    log_file = f;
    return 0;
}

void rp_log_close(void)
{
    if (log_file != NULL) {
        fclose(log_file);
        log_file = NULL;
    }
}

void rp_log_write(enum rp_log_level level, const char *fmt, ...)
{
    static const char marks[] = {'.', '-', '*', '#'};
    char msg[1024];

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    char stamp[64];
    size_t n = strftime(stamp, sizeof stamp, "%d %b %Y %H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03d", (int)(tv.tv_usec / 1000));

    unsigned idx = (unsigned)level < sizeof marks ? (unsigned)level : sizeof marks - 1;
    FILE *out = log_file != NULL ? log_file : stdout;
    fprintf(out, "%d:M %s %c %s\n", (int)getpid(), stamp, marks[idx], msg);
    // Flush every line so that a crash or SIGKILL loses nothing already logged.
    fflush(out);
}
