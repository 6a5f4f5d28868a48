/* Out-of-memory policy, decided once: allocation failure aborts with a message.
 * Sizes that come from the wire are bounded by their callers before they get here. */
#ifndef TC_UTIL_MEM_H
#define TC_UTIL_MEM_H

#include <stddef.h>
#include <stdlib.h> /* free() for everything tc_x* returns */

/* Each returns valid memory or aborts; size 0 returns a unique pointer. Free with free(). */
void *tc_xmalloc(size_t n);
void *tc_xcalloc(size_t count, size_t size); /* aborts on count*size overflow */
void *tc_xrealloc(void *p, size_t n);
char *tc_xstrdup(const char *s);

#endif
