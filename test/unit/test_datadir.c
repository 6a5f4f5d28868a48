/* Data dir lock (second holder refused, released on close and on death) and
 * key files (create, reload, refuse loose permissions and bad contents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/datadir.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tc-datadir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return tc_crypto_init();
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void test_lock(void **state)
{
    (void)state;
    char sub[96];
    snprintf(sub, sizeof sub, "%s/node0", dir);
    tc_datadir *a, *b;
    tc_errmsg e;
    assert_int_equal(tc_datadir_open(&a, sub, &e), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(tc_datadir_open(&b, sub, &e), TC_ELOCKED);
    char pid[32];
    snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    assert_non_null(strstr(e.msg, pid));
    tc_datadir_close(a);
    assert_int_equal(tc_datadir_open(&b, sub, &e), 0);
    tc_datadir_close(b);

    /* a holder that dies (SIGKILL) releases the lock */
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    if (child == 0) {
        tc_datadir *c;
        if (tc_datadir_open(&c, sub, NULL) != 0)
            _exit(1);
        char x = 1;
        if (write(go[1], &x, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char x;
    assert_int_equal(read(go[0], &x, 1), 1);
    assert_int_equal(tc_datadir_open(&b, sub, &e), TC_ELOCKED);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(tc_datadir_open(&b, sub, &e), 0);
    tc_datadir_close(b);
    close(go[0]);
    close(go[1]);
}

static void test_keyfile(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/node.key", dir);
    tc_keypair a, b;
    tc_errmsg e;
    assert_int_equal(tc_keyfile_load(path, false, &a, &e), TC_ENOTFOUND);
    assert_int_equal(tc_keyfile_load(path, true, &a, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(tc_keyfile_load(path, true, &b, &e), 0);
    assert_memory_equal(a.pk.b, b.pk.b, 32); /* the same key comes back */
    assert_int_equal(tc_keyfile_write(path, &b, &e), TC_EEXIST);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tc_keyfile_load(path, true, &b, &e), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);
    FILE *f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(tc_keyfile_load(path, true, &b, &e), TC_ECORRUPT);
    assert_non_null(strstr(e.msg, "64 hex digits"));
    tc_keypair_wipe(&a);
    tc_keypair_wipe(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_keyfile),
    };
    return cmocka_run_group_tests_name("datadir", tests, setup, teardown);
}
