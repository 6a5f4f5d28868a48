/* libFuzzer: HTTP request heads through tc_http_parse_head, the parser the
 * RPC and metrics listeners run on bytes from any local client. Whatever it
 * accepts must be a request line with a method of token characters, a path
 * starting with '/', and at most TC_HTTP_MAX_HEADERS fields whose strings
 * all lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/http.h"

static int inside(const char *s, const char *buf, size_t size)
{
    return s >= buf && s + strlen(s) <= buf + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    tc_http_request req;
    tc_http_field fields[TC_HTTP_MAX_HEADERS];
    unsigned minor = 9;
    int rc = tc_http_parse_head(buf, size, &req, fields, &minor);
    if (rc == 0) {
        if (minor > 1 || !inside(req.method, buf, size) || !inside(req.path, buf, size) ||
            req.method[0] == 0 || req.path[0] != '/' || req.n_fields > TC_HTTP_MAX_HEADERS ||
            req.body_len != 0)
            abort();
        for (size_t i = 0; i < req.n_fields; i++)
            if (req.fields[i].name[0] == 0 || !inside(req.fields[i].name, buf, size) ||
                !inside(req.fields[i].value, buf, size))
                abort();
    } else if (rc != 400 && rc != 431 && rc != 505) {
        abort();
    }
    free(buf);
    return 0;
}
