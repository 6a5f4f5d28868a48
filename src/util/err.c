#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *tc_strerror(int err)
{
    switch (err) {
#define TC_ERR_MSG(name, value, msg) \
    case value:                       \
        return msg;
        TC_ERRORS(TC_ERR_MSG)
#undef TC_ERR_MSG
    }
    return "unknown error";
}

const char *tc_errname(int err)
{
    switch (err) {
#define TC_ERR_NAME(name, value, msg) \
    case value:                        \
        return #name;
        TC_ERRORS(TC_ERR_NAME)
#undef TC_ERR_NAME
    }
    return "TC_E?";
}

int tc_fail(tc_errmsg *e, int err, const char *fmt, ...)
{
    if (e != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}
