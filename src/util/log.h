/* Structured logging: one line per event, logfmt or JSON.
 *
 *   tc_log_info("store", "opened store", "path=%s height=%llu", path, h);
 *
 * logfmt: ts=2026-11-21T08:39:33.123Z level=info mod=store msg="opened store" path=/x height=7
 * json:   {"ts":"…","level":"info","mod":"store","msg":"opened store","path":"/x","height":7}
 *
 * The key/value format is a space-separated list of `key=%conv` tokens, one
 * conversion per token (%s %d %i %u %x %c %p %f %g with h/hh/l/ll/z/j
 * modifiers and optional width/precision). Values are quoted / escaped as the
 * format needs; non-finite numbers are strings in JSON.
 * Thread-safe: each event is written with one write(2). */
#ifndef TC_UTIL_LOG_H
#define TC_UTIL_LOG_H

#include "util/err.h"

enum tc_log_level { TC_LOG_DEBUG = 0, TC_LOG_INFO, TC_LOG_WARN, TC_LOG_ERROR, TC_LOG_OFF };
enum tc_log_format { TC_LOG_LOGFMT = 0, TC_LOG_JSON };

/* Sets the minimum level, the format and the output fd (default: info, logfmt, stderr). */
void tc_log_setup(int min_level, int format, int fd);
int tc_log_level(void);
/* "debug" … "off" for a level, "?" outside the range (the names parse_level takes). */
const char *tc_log_level_name(int level);
/* Changes the minimum level; safe while other threads log. */
void tc_log_set_level(int min_level);
/* Makes the file at path (appended to, created 0640) the log output; called
 * again (after logrotate moved it), reopens path in place of the old file,
 * atomically for threads logging meanwhile. TC_EIO naming the path if it
 * cannot be opened (the old output is kept). The first call must come
 * before other threads log. */
int tc_log_to_file(const char *path, tc_errmsg *e) TC_MUST_CHECK;
/* "debug" | "info" | "warn" | "error" | "off" → level; TC_EINVAL otherwise. */
int tc_log_parse_level(const char *s, int *level) TC_MUST_CHECK;
/* "logfmt" | "json" → format; TC_EINVAL otherwise. */
int tc_log_parse_format(const char *s, int *format) TC_MUST_CHECK;

/* kv is printf syntax, so the compiler checks its arguments. A line longer
 * than 4 KiB drops the fields that do not fit (never half a field) and says
 * so with truncated=true. */
void tc_log(int level, const char *mod, const char *msg, const char *kv, ...)
    __attribute__((format(printf, 4, 5)));

#define tc_log_debug(mod, msg, ...) tc_log(TC_LOG_DEBUG, mod, msg, __VA_ARGS__)
#define tc_log_info(mod, msg, ...) tc_log(TC_LOG_INFO, mod, msg, __VA_ARGS__)
#define tc_log_warn(mod, msg, ...) tc_log(TC_LOG_WARN, mod, msg, __VA_ARGS__)
#define tc_log_error(mod, msg, ...) tc_log(TC_LOG_ERROR, mod, msg, __VA_ARGS__)

#endif
