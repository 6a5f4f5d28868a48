#include "store/signlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/file.h"
#include "util/mem.h"

#define MAGIC 0x4c534354u /* "TCSL" little-endian */
#define CHECK_SIZE 8

struct tc_signlog {
    int fd;
    char *path;
    size_t rec_size;
    size_t frame;
    uint64_t size; /* bytes of whole, good frames */
};

static void frame_check(const uint8_t *frame, size_t n, uint8_t out[CHECK_SIZE])
{
    tc_hash h;
    tc_hash_once(TC_H_WAL, frame, n, &h);
    memcpy(out, h.b, CHECK_SIZE);
}

static void make_frame(uint8_t *frame, const uint8_t *rec, size_t rec_size)
{
    tc_le32(frame, MAGIC);
    memcpy(frame + 4, rec, rec_size);
    frame_check(frame, 4 + rec_size, frame + 4 + rec_size);
}

static bool frame_ok(const uint8_t *frame, size_t rec_size)
{
    uint8_t check[CHECK_SIZE];
    if (tc_get_le32(frame) != MAGIC)
        return false;
    frame_check(frame, 4 + rec_size, check);
    return memcmp(check, frame + 4 + rec_size, CHECK_SIZE) == 0;
}

/* Scans the file, keeps the newest good record, truncates a torn tail. */
static int scan(tc_signlog *l, uint8_t *last, bool *have)
{
    struct stat st;
    if (fstat(l->fd, &st) != 0)
        return TC_EIO;
    uint64_t total = (uint64_t)st.st_size;
    uint64_t frames = total / l->frame, good = 0;
    uint8_t *buf = tc_xmalloc(l->frame);
    int rc = 0;
    *have = false;
    for (uint64_t i = 0; i < frames; i++) {
        ssize_t r = pread(l->fd, buf, l->frame, (off_t)(i * l->frame));
        if (r != (ssize_t)l->frame) {
            rc = TC_EIO;
            goto out;
        }
        if (!frame_ok(buf, l->rec_size)) {
            if (i + 1 < frames) {
                tc_log_error("signlog", "corrupt record before the end", "path=%s offset=%llu hint=%s", l->path,
                             (unsigned long long)(i * l->frame),
                             "the node will not sign; restore this file from the node's own latest copy, never an older one");
                rc = TC_ECORRUPT;
                goto out;
            }
            break; /* the last whole frame was torn */
        }
        memcpy(last, buf + 4, l->rec_size);
        *have = true;
        good = i + 1;
    }
    l->size = good * l->frame;
    if (l->size != total) {
        tc_log_warn("signlog", "truncating torn last record", "path=%s offset=%llu dropped=%llu",
                    l->path, (unsigned long long)l->size,
                    (unsigned long long)(total - l->size));
        if (ftruncate(l->fd, (off_t)l->size) != 0 || fsync(l->fd) != 0)
            rc = TC_EIO;
    }
out:
    free(buf);
    return rc;
}

int tc_signlog_open(tc_signlog **out, const char *path, size_t rec_size, uint8_t *last,
                    bool *have)
{
    *out = NULL;
    *have = false;
    if (rec_size == 0 || rec_size > TC_SIGNLOG_MAX_RECORD)
        return TC_EINVAL;
    struct stat st;
    bool created = stat(path, &st) != 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return TC_EIO;
    tc_signlog *l = tc_xcalloc(1, sizeof *l);
    l->fd = fd;
    l->path = tc_xstrdup(path);
    l->rec_size = rec_size;
    l->frame = 4 + rec_size + CHECK_SIZE;
    int rc = scan(l, last, have);
    if (rc == 0 && created)
        rc = tc_file_fsync_dir_of(path);
    if (rc) {
        tc_signlog_close(l);
        *have = false;
        return rc;
    }
    *out = l;
    return 0;
}

/* Rewrites the file as one frame: temp file, fsync, rename, fsync the dir. */
static int compact(tc_signlog *l, const uint8_t *frame)
{
    size_t n = strlen(l->path) + 5;
    char *tmp = tc_xmalloc(n);
    snprintf(tmp, n, "%s.tmp", l->path);
    int rc = TC_EIO;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    if (tc_file_pwrite_all(fd, frame, l->frame, 0) != 0 || fsync(fd) != 0 || rename(tmp, l->path) != 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(l->fd);
    l->fd = fd;
    l->size = l->frame;
    rc = tc_file_fsync_dir_of(l->path);
out:
    free(tmp);
    return rc;
}

int tc_signlog_append(tc_signlog *l, const uint8_t *rec)
{
    uint8_t frame[4 + TC_SIGNLOG_MAX_RECORD + CHECK_SIZE];
    make_frame(frame, rec, l->rec_size);
    if (l->size + l->frame > TC_SIGNLOG_COMPACT)
        return compact(l, frame);
    if (tc_file_pwrite_all(l->fd, frame, l->frame, (off_t)l->size) != 0 || fdatasync(l->fd) != 0)
        return TC_EIO;
    l->size += l->frame;
    return 0;
}

void tc_signlog_close(tc_signlog *l)
{
    if (l == NULL)
        return;
    close(l->fd);
    free(l->path);
    free(l);
}
