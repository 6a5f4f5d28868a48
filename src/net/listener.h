/* A TCP listener on a libevent loop that never spins and keeps the last
 * descriptors for durable files: an accepted socket that would leave fewer
 * than `fd_reserve` descriptors (tc_fdlimit_low) is closed at once, and
 * when accept() fails (EMFILE, ENFILE, ENOBUFS…) or descriptors are low the
 * listener pauses, 250 ms doubling up to 4 s while it goes on, one log
 * line per pause, and resumes from a timer. Loop thread only. */
#ifndef TC_NET_LISTENER_H
#define TC_NET_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "util/err.h"

#define TC_LISTENER_PAUSE_MIN_MS 250u
#define TC_LISTENER_PAUSE_MAX_MS 4000u

typedef struct tc_listener tc_listener;

/* An accepted connection: fd (non-blocking, close-on-exec) is the callee's
 * to keep or close; sa is valid during the call. */
typedef void (*tc_listener_fn)(void *arg, int fd, const struct sockaddr *sa, int salen);

typedef struct {
    uint64_t pauses;      /* times accepting was paused */
    uint64_t refused_low; /* sockets closed at once: descriptors low */
} tc_listener_stats;

/* Binds addr (numeric "ip:port" / "[v6]:port", port 0: any free one).
 * `mod` names the log module ("net", "rpc"). NULL with *err: TC_ENET_ADDR
 * (not numeric), TC_EIO (cannot bind). */
tc_listener *tc_listener_new(struct event_base *base, const char *addr, unsigned fd_reserve,
                             const char *mod, tc_listener_fn fn, void *arg, int *err);
void tc_listener_free(tc_listener *l); /* NULL is a no-op */
/* The bound address (the port chosen for port 0). */
const struct sockaddr_storage *tc_listener_bound(const tc_listener *l);
void tc_listener_get_stats(const tc_listener *l, tc_listener_stats *out);

#endif
