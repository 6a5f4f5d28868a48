#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

static _Atomic int g_level = TC_LOG_INFO; /* changed at runtime (SIGHUP) while threads log */
static int g_format = TC_LOG_LOGFMT;
static int g_fd = 2;
static int g_file_fd = -1; /* the log file's descriptor once tc_log_to_file opened one */

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void tc_log_setup(int min_level, int format, int fd)
{
    g_level = min_level;
    g_format = format;
    g_fd = fd;
}

int tc_log_level(void)
{
    return g_level;
}

const char *tc_log_level_name(int level)
{
    return level >= 0 && level <= TC_LOG_OFF ? level_names[level] : "?";
}

void tc_log_set_level(int min_level)
{
    g_level = min_level;
}

int tc_log_to_file(const char *path, tc_errmsg *e)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return tc_fail(e, TC_EIO, "%s: cannot open log file: %s", path, strerror(errno));
    if (g_file_fd < 0) {
        g_file_fd = g_fd = fd;
        return 0;
    }
    /* dup2 swaps the file under the same number at once: a thread writing
     * now writes a whole line to the old file or to the new one. */
    int rc = dup2(fd, g_file_fd) < 0 ? tc_fail(e, TC_EIO, "%s: cannot reopen log file: %s", path, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int tc_log_parse_level(const char *s, int *level)
{
    for (int i = 0; i <= TC_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return TC_EINVAL;
}

int tc_log_parse_format(const char *s, int *format)
{
    if (strcmp(s, "logfmt") == 0)
        *format = TC_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *format = TC_LOG_JSON;
    else
        return TC_EINVAL;
    return 0;
}

/* A fixed line buffer; an over-long event is cut, never overflowed. */
typedef struct {
    char s[4096];
    size_t n;
} line;

/* Room kept at the end of every line for `,"truncated":true}` and '\n'. */
#define LINE_RESERVE 24

static void put_n(line *l, const char *p, size_t n)
{
    size_t room = sizeof l->s - LINE_RESERVE - l->n;
    if (n > room)
        n = room;
    memcpy(l->s + l->n, p, n);
    l->n += n;
}

static void put(line *l, const char *p)
{
    put_n(l, p, strlen(p));
}

static void put_json_string(line *l, const char *v)
{
    put(l, "\"");
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            put_n(l, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            put(l, esc);
        } else {
            put_n(l, (const char *)c, 1);
        }
    }
    put(l, "\"");
}

static bool logfmt_needs_quotes(const char *v)
{
    if (*v == '\0')
        return true;
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c <= ' ' || *c == '=' || *c == '"' || *c == '\\' || *c >= 0x7f)
            return true;
    return false;
}

static void put_logfmt_value(line *l, const char *v)
{
    if (logfmt_needs_quotes(v))
        put_json_string(l, v); /* same escaping rules suffice for logfmt */
    else
        put(l, v);
}

/* Appends one key/value pair, whole or not at all; false if it did not fit. */
static bool put_field(line *l, const char *key, size_t keylen, const char *val, bool numeric)
{
    line f = {.n = 0};
    if (g_format == TC_LOG_JSON) {
        char k[64];
        snprintf(k, sizeof k, "%.*s", (int)keylen, key);
        put(&f, ",");
        put_json_string(&f, k);
        put(&f, ":");
        if (numeric)
            put(&f, val);
        else
            put_json_string(&f, val);
    } else {
        put(&f, " ");
        put_n(&f, key, keylen);
        put(&f, "=");
        put_logfmt_value(&f, val);
    }
    /* f.n hitting its own cap means the field itself was cut: drop it too. */
    if (f.n >= sizeof f.s - LINE_RESERVE || f.n > sizeof l->s - LINE_RESERVE - l->n)
        return false;
    put_n(l, f.s, f.n);
    return true;
}

/* One conversion spec of a kv string, as format_value handles it:
 * %[-.0-9]*[lzj]*h*<conv>. */
typedef struct {
    char fmt[16]; /* the spec, NUL-terminated, to hand to snprintf */
    size_t len;   /* its length in the kv string */
    int lmods;    /* how many 'l' */
    bool z, j;
    char conv;
} conv_spec;

/* Reads the spec starting at '%'. False if it is too long to copy into
 * cs->fmt; nothing is consumed then. */
static bool parse_spec(const char *spec, conv_spec *cs)
{
    size_t i = 1;
    cs->lmods = 0;
    cs->z = cs->j = false;
    while (spec[i] == '.' || (spec[i] >= '0' && spec[i] <= '9') || spec[i] == '-')
        i++;
    for (;; i++) {
        if (spec[i] == 'l')
            cs->lmods++;
        else if (spec[i] == 'z')
            cs->z = true;
        else if (spec[i] == 'j')
            cs->j = true;
        else
            break;
    }
    while (spec[i] == 'h') /* h and hh arguments arrive promoted to int */
        i++;
    cs->conv = spec[i];
    cs->len = i + 1;
    if (cs->len >= sizeof cs->fmt)
        return false;
    memcpy(cs->fmt, spec, cs->len);
    cs->fmt[cs->len] = '\0';
    return true;
}

/* %d, %i: consumes the signed argument the length modifiers name. */
static void format_signed(const conv_spec *cs, va_list *ap, char *out, size_t outsz)
{
    if (cs->z)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, ssize_t));
    else if (cs->j)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, intmax_t));
    else if (cs->lmods == 2)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, long long));
    else if (cs->lmods == 1)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, long));
    else
        snprintf(out, outsz, cs->fmt, va_arg(*ap, int));
}

/* %u, %x: consumes the unsigned argument the length modifiers name. */
static void format_unsigned(const conv_spec *cs, va_list *ap, char *out, size_t outsz)
{
    if (cs->z)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, size_t));
    else if (cs->j)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, uintmax_t));
    else if (cs->lmods == 2)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, unsigned long long));
    else if (cs->lmods == 1)
        snprintf(out, outsz, cs->fmt, va_arg(*ap, unsigned long));
    else
        snprintf(out, outsz, cs->fmt, va_arg(*ap, unsigned));
}

/* Formats one conversion spec (starting at '%') consuming its argument.
 * Returns the spec's length, or 0 if the spec is not supported. */
static size_t format_value(const char *spec, va_list *ap, char *out, size_t outsz, bool *numeric)
{
    conv_spec cs;
    if (!parse_spec(spec, &cs))
        return 0;
    *numeric = cs.conv != 's' && cs.conv != 'c' && cs.conv != 'x' && cs.conv != 'p';
    switch (cs.conv) {
    case 'd':
    case 'i':
        format_signed(&cs, ap, out, outsz);
        break;
    case 'u':
    case 'x':
        format_unsigned(&cs, ap, out, outsz);
        break;
    case 'f':
    case 'g': {
        double d = va_arg(*ap, double);
        snprintf(out, outsz, cs.fmt, d);
        *numeric = isfinite(d); /* JSON has no nan or inf */
        break;
    }
    case 'p':
        snprintf(out, outsz, cs.fmt, va_arg(*ap, void *));
        break;
    case 'c':
        snprintf(out, outsz, cs.fmt, va_arg(*ap, int));
        break;
    case 's': {
        const char *s = va_arg(*ap, const char *);
        snprintf(out, outsz, cs.fmt, s ? s : "(null)");
        break;
    }
    default:
        /* The argument cannot be skipped without its type: every later value
         * would be wrong. The format attribute makes this a compile error for
         * printf-invalid specs; this catches valid ones we do not handle. */
        fprintf(stderr, "fatal: tc_log: unsupported conversion in \"%s\"\n", spec);
        abort();
    }
    return cs.len;
}

static void format_ts(char *out, size_t n)
{
    uint64_t ms = tc_clock_wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

void tc_log(int level, const char *mod, const char *msg, const char *kv, ...)
{
    if (level < g_level || level >= TC_LOG_OFF)
        return;
    line l = {.n = 0};
    char ts[40];
    format_ts(ts, sizeof ts);
    if (g_format == TC_LOG_JSON) {
        put(&l, "{\"ts\":\"");
        put(&l, ts);
        put(&l, "\",\"level\":\"");
        put(&l, level_names[level]);
        put(&l, "\",\"mod\":");
        put_json_string(&l, mod);
        put(&l, ",\"msg\":");
        put_json_string(&l, msg);
    } else {
        put(&l, "ts=");
        put(&l, ts);
        put(&l, " level=");
        put(&l, level_names[level]);
        put(&l, " mod=");
        put_logfmt_value(&l, mod);
        put(&l, " msg=");
        put_logfmt_value(&l, msg);
    }
    bool truncated = false;
    va_list ap;
    va_start(ap, kv);
    const char *p = kv ? kv : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (*p == '\0' || eq == NULL)
            break;
        const char *v = eq + 1;
        char val[1024];
        bool numeric = false;
        size_t used = 0;
        if (*v == '%' && v[1] != '%')
            used = format_value(v, &ap, val, sizeof val, &numeric);
        if (used == 0) { /* literal value up to the next space */
            size_t n = strcspn(v, " ");
            snprintf(val, sizeof val, "%.*s", (int)n, v);
            used = n;
            numeric = false;
        }
        if (!put_field(&l, p, (size_t)(eq - p), val, numeric))
            truncated = true;
        p = v + used;
    }
    va_end(ap);
    /* The reserve guarantees room for the closing part. */
    const char *tail = g_format == TC_LOG_JSON ? (truncated ? ",\"truncated\":true}\n" : "}\n")
                                               : (truncated ? " truncated=true\n" : "\n");
    memcpy(l.s + l.n, tail, strlen(tail));
    l.n += strlen(tail);
    ssize_t w = write(g_fd, l.s, l.n);
    (void)w;
}
