#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *tc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *tc_xcalloc(size_t count, size_t size)
{
    if (size != 0 && count > (size_t)-1 / size)
        oom((size_t)-1);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        oom(count * size);
    return p;
}

void *tc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *tc_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tc_xmalloc(n);
    memcpy(d, s, n);
    return d;
}
