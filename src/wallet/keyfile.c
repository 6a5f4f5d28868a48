#include "wallet/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/hex.h"

int tc_keyfile_write(const char *path, const tc_keypair *kp, tc_errmsg *e)
{
    if (access(path, F_OK) == 0)
        return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite a key", path);
    uint8_t seed[32];
    char text[66];
    tc_keypair_seed(kp, seed);
    tc_hex_encode(text, seed, 32);
    text[64] = '\n';
    int err = tc_file_write(path, text, 65, 0600, false, e);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    return err;
}

int tc_keyfile_load(const char *path, bool create, tc_keypair *kp, tc_errmsg *e)
{
    memset(kp, 0, sizeof *kp);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (!create)
            return tc_fail(e, TC_ENOTFOUND, "%s: no key file", path);
        tc_keypair_generate(kp);
        int err = tc_keyfile_write(path, kp, e);
        if (err)
            tc_keypair_wipe(kp);
        return err;
    }
    if (fd < 0)
        return tc_fail(e, TC_EIO, "%s: cannot read key: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        return tc_fail(e, TC_ECONFIG, "%s: key file is readable by others (mode %03o); run: chmod 600 %s", path,
                       (unsigned)(st.st_mode & 0777), path);
    }
    char text[80];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    int err = 0;
    uint8_t seed[32];
    if (n < 64 || (n > 64 && text[64] != '\n') || n > 65) {
        err = tc_fail(e, TC_ECORRUPT, "%s: expected 64 hex digits and a newline", path);
    } else {
        text[64] = '\0';
        if (tc_hex_decode(seed, 32, text) != 0)
            err = tc_fail(e, TC_ECORRUPT, "%s: expected 64 hex digits and a newline", path);
        else
            tc_keypair_from_seed(kp, seed);
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(text, sizeof text);
    return err;
}
