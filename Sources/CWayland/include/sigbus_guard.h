/* The SIGBUS guard for shared-memory pools that could still shrink under the compositor.
 *
 * Reads of such a pool happen between cw_sigbus_guard_begin and cw_sigbus_guard_end. If the
 * client truncated the file, the read faults; the handler (async-signal-safe C: Swift's runtime
 * installs its own SIGBUS handler at start-up, and Swift code is not signal-safe) replaces the
 * whole guarded mapping with zero pages, records the fault, and returns, so the read completes.
 * Faults outside the guarded range chain to the previously installed handler. */
#ifndef CWAYLAND_SIGBUS_GUARD_H
#define CWAYLAND_SIGBUS_GUARD_H
#include <stddef.h>

struct cw_guarded_access {
    void *address;
    size_t length;
    volatile int faulted;
    /* The replacement zero pages are writable too (guarded writes, e.g. screencopy into a
     * client's pool), so the interrupted write completes instead of faulting again. */
    int writable;
};

/* Installs the process-wide handler once (idempotent, thread-safe). Returns 0 or -errno. */
int cw_sigbus_guard_install(void);
/* Starts guarding `access` on the calling thread (one access at a time per thread). */
void cw_sigbus_guard_begin(struct cw_guarded_access *access);
/* Stops guarding; returns 1 if a fault was caught since begin (the mapping is now zero pages). */
int cw_sigbus_guard_end(void);

#endif
