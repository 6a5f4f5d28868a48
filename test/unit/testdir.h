/* Test fixture: a fresh directory under /tmp for one test group, removed
 * with everything in it afterwards. */
#ifndef TC_TEST_TESTDIR_H
#define TC_TEST_TESTDIR_H

#include <stddef.h>

/* Creates /tmp/tc-<tag>-XXXXXX into out (cap ≥ 64) and initializes
 * libsodium. 0, or -1 (a cmocka group setup failure). */
int testdir_make(char *out, size_t cap, const char *tag);
/* rm -rf dir; 0 or -1. */
int testdir_remove(const char *dir);

#endif
