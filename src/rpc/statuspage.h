/* The operator's status page: one HTML page, its stylesheet and its script,
 * compiled into the binary (no file on disk, nothing from another origin).
 * The script polls /status.json once a second and draws the figures, the
 * validators, the recent blocks and a canvas chart of their transaction
 * counts and commit latency. The metrics listener serves these files (see
 * metrics.h) with TC_STATUSPAGE_CSP, which lets the page load only its own
 * origin's script, style and JSON. */
#ifndef TC_RPC_STATUSPAGE_H
#define TC_RPC_STATUSPAGE_H

#include <stddef.h>

/* No inline script or style, so 'self' is all the page needs; the favicon is
 * an empty data: URL (so the browser asks for no /favicon.ico). */
#define TC_STATUSPAGE_CSP                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "            \
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

typedef struct {
    const char *path; /* "/", "/status.css", "/status.js" */
    const char *content_type;
    const char *body;
    size_t len;
} tc_statuspage_asset;

/* The file served at path (exact match, query already cut), or NULL. The
 * result is static. */
const tc_statuspage_asset *tc_statuspage_find(const char *path);

#endif
