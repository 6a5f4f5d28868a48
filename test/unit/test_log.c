/* util/log: logfmt quoting, JSON escaping and types, level filtering, parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/log.h"

/* Each test logs into its own temp file and reads back what was written. */
typedef struct {
    FILE *f;
    char out[8192];
} capture;

static int setup(void **state)
{
    capture *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    c->f = tmpfile();
    if (c->f == NULL) {
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    capture *c = *state;
    tc_log_setup(TC_LOG_INFO, TC_LOG_LOGFMT, 2);
    fclose(c->f);
    free(c);
    return 0;
}

static void start(capture *c, int level, int format)
{
    assert_int_equal(ftruncate(fileno(c->f), 0), 0);
    assert_int_equal(lseek(fileno(c->f), 0, SEEK_SET), 0);
    tc_log_setup(level, format, fileno(c->f));
}

/* Everything written since start(), NUL-terminated. */
static const char *written(capture *c)
{
    ssize_t n = pread(fileno(c->f), c->out, sizeof c->out - 1, 0);
    assert_true(n >= 0);
    c->out[n] = '\0';
    return c->out;
}

/* The one line written, without "ts=<…> " (logfmt) so it can be compared exactly. */
static const char *logfmt_line(capture *c)
{
    const char *s = written(c);
    assert_int_equal(strncmp(s, "ts=", 3), 0);
    const char *sp = strchr(s, ' ');
    assert_non_null(sp);
    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
    assert_int_equal(sp - s, 3 + 24);
    assert_int_equal(sp[-1], 'Z');
    assert_non_null(strchr(sp, '\n'));
    assert_ptr_equal(strchr(sp, '\n'), s + strlen(s) - 1); /* exactly one line */
    return sp + 1;
}

static json_t *json_line(capture *c)
{
    const char *s = written(c);
    size_t n = strlen(s);
    assert_true(n > 0);
    assert_int_equal(s[n - 1], '\n');
    assert_ptr_equal(strchr(s, '\n'), s + n - 1);
    json_error_t jerr;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, s);
    assert_true(json_is_object(j));
    return j;
}

static void test_logfmt_basic(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_LOGFMT);
    tc_log_info("store", "opened store", "path=%s height=%llu", "/var/lib/time", 7ull);
    assert_string_equal(logfmt_line(c),
                        "level=info mod=store msg=\"opened store\" path=/var/lib/time height=7\n");
}

static void test_logfmt_quoting(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_LOGFMT);
    tc_log_warn("net", "x", "a=%s b=%s c=%s d=%s e=%s f=%s g=%s", "has space", "say \"hi\"",
                "k=v", "", "back\\slash", "tab\there\nnl", "plain-value:1");
    assert_string_equal(logfmt_line(c),
                        "level=warn mod=net msg=x a=\"has space\" b=\"say \\\"hi\\\"\" c=\"k=v\" "
                        "d=\"\" e=\"back\\\\slash\" f=\"tab\\u0009here\\u000anl\" g=plain-value:1\n");
}

static void test_logfmt_numbers_and_literals(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_LOGFMT);
    tc_log_error("rpc", "failed", "code=%d n=%zu u=%u big=%llu x=%x lit=yes ch=%c", -5,
                 (size_t)12, 4000000000u, 18446744073709551615ull, 255u, 'q');
    assert_string_equal(logfmt_line(c), "level=error mod=rpc msg=failed code=-5 n=12 u=4000000000 "
                                        "big=18446744073709551615 x=ff lit=yes ch=q\n");
}

static void test_json_types_and_escaping(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_JSON);
    tc_log_info("mod \"q\"", "msg with \"quotes\" and \\ and \x01",
                "path=%s height=%llu neg=%d sz=%zu f=%.2f empty=%s eq=%s", "/x y", 7ull, -42,
                (size_t)3, 1.5, "", "a=b");
    json_t *j = json_line(c);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "mod")), "mod \"q\"");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "msg with \"quotes\" and \\ and \x01");
    assert_true(json_is_string(json_object_get(j, "ts")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "ts"))), 24);

    json_t *v = json_object_get(j, "path");
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), "/x y");
    v = json_object_get(j, "height");
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), 7);
    v = json_object_get(j, "neg");
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), -42);
    v = json_object_get(j, "sz");
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), 3);
    v = json_object_get(j, "f");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 1.5);
    v = json_object_get(j, "empty");
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), "");
    v = json_object_get(j, "eq");
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), "a=b");
    assert_int_equal(json_object_size(j), 4 + 7);
    json_decref(j);

    /* the exact text of the fields after ts */
    const char *s = written(c);
    const char *rest = strstr(s, "\",\"level\"");
    assert_non_null(rest);
    assert_string_equal(rest, "\",\"level\":\"info\",\"mod\":\"mod \\\"q\\\"\",\"msg\":\"msg with "
                              "\\\"quotes\\\" and \\\\ and \\u0001\",\"path\":\"/x y\",\"height\":7,"
                              "\"neg\":-42,\"sz\":3,\"f\":1.50,\"empty\":\"\",\"eq\":\"a=b\"}\n");
}

static void test_json_no_fields(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_JSON);
    tc_log_debug("node", "started", NULL);
    json_t *j = json_line(c);
    assert_int_equal(json_object_size(j), 4);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
    json_decref(j);
}

static void test_level_filter(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_WARN, TC_LOG_LOGFMT);
    assert_int_equal(tc_log_level(), TC_LOG_WARN);
    tc_log_debug("m", "d", "");
    tc_log_info("m", "i", "");
    assert_string_equal(written(c), "");
    tc_log_warn("m", "w", "");
    tc_log_error("m", "e", "");
    const char *s = written(c);
    assert_null(strstr(s, "msg=d"));
    assert_null(strstr(s, "msg=i"));
    const char *w = strstr(s, " level=warn mod=m msg=w\n");
    const char *e = strstr(s, " level=error mod=m msg=e\n");
    assert_non_null(w);
    assert_non_null(e);
    assert_true(w < e);

    start(c, TC_LOG_OFF, TC_LOG_LOGFMT);
    tc_log_error("m", "e", "");
    tc_log(TC_LOG_OFF, "m", "off", "");
    assert_string_equal(written(c), "");

    start(c, TC_LOG_DEBUG, TC_LOG_LOGFMT);
    tc_log(TC_LOG_OFF, "m", "off", ""); /* OFF is not a level to log at */
    assert_string_equal(written(c), "");
    tc_log_debug("m", "d", "");
    assert_string_equal(logfmt_line(c), "level=debug mod=m msg=d\n");
}

static void test_long_line_is_cut(void **state)
{
    capture *c = *state;
    static char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    start(c, TC_LOG_DEBUG, TC_LOG_LOGFMT);
    tc_log_info("m", "long", "a=%s b=%s c=%s d=%s e=%s", big, big, big, big, big);
    const char *s = written(c);
    size_t n = strlen(s);
    assert_true(n <= 4096);
    assert_int_equal(s[n - 1], '\n');
    assert_ptr_equal(strchr(s, '\n'), s + n - 1);
}

static void test_json_long_line_stays_valid(void **state)
{
    capture *c = *state;
    static char big[1001];
    memset(big, 'b', sizeof big - 1);
    start(c, TC_LOG_DEBUG, TC_LOG_JSON);
    tc_log_info("m", "long", "a=%s b=%s c=%s d=%s e=%s n=%d", big, big, big, big, big, 7);
    json_t *j = json_line(c); /* fails unless the cut line is still one JSON object */
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "a"))), 1000);
    assert_null(json_object_get(j, "e")); /* dropped whole, never cut in half */
    assert_true(strlen(written(c)) <= 4096);
    json_decref(j);
}

static void test_json_nonfinite_numbers_are_strings(void **state)
{
    capture *c = *state;
    start(c, TC_LOG_DEBUG, TC_LOG_JSON);
    tc_log_info("m", "x", "nan=%f inf=%g ok=%.1f", NAN, INFINITY, 2.5);
    json_t *j = json_line(c);
    assert_string_equal(json_string_value(json_object_get(j, "nan")), "nan");
    assert_string_equal(json_string_value(json_object_get(j, "inf")), "inf");
    assert_true(json_is_real(json_object_get(j, "ok")));
    json_decref(j);
}

static void test_parse_level(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int level;
    } ok[] = {{"debug", TC_LOG_DEBUG},
              {"info", TC_LOG_INFO},
              {"warn", TC_LOG_WARN},
              {"error", TC_LOG_ERROR},
              {"off", TC_LOG_OFF}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int level = -1;
        assert_int_equal(tc_log_parse_level(ok[i].s, &level), 0);
        assert_int_equal(level, ok[i].level);
    }
    static const char *const bad[] = {"", "verbose", "warning", "information", "info ", "d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int level = -1;
        assert_int_equal(tc_log_parse_level(bad[i], &level), TC_EINVAL);
    }
}

static void test_parse_format(void **state)
{
    (void)state;
    int f = -1;
    assert_int_equal(tc_log_parse_format("logfmt", &f), 0);
    assert_int_equal(f, TC_LOG_LOGFMT);
    assert_int_equal(tc_log_parse_format("json", &f), 0);
    assert_int_equal(f, TC_LOG_JSON);
    static const char *const bad[] = {"", "text", "jsonl", "logfmt ", "xml"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tc_log_parse_format(bad[i], &f), TC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logfmt_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logfmt_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logfmt_numbers_and_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_types_and_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_no_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_long_line_stays_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_nonfinite_numbers_are_strings, setup, teardown),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_parse_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
