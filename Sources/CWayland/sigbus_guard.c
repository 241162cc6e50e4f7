#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "sigbus_guard.h"

static _Thread_local struct cw_guarded_access *current_access;
static struct sigaction previous_action;
static int installed; /* guarded by __atomic ops */

static void chain(int sig, siginfo_t *info, void *context) {
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction) {
            previous_action.sa_sigaction(sig, info, context);
            return;
        }
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(sig);
        return;
    }
    /* No handler before us: restore the default action; returning re-executes the faulting
     * access, which then terminates the process as it would have without the guard. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, NULL);
}

static void handle_sigbus(int sig, siginfo_t *info, void *context) {
    struct cw_guarded_access *access = current_access;
    uintptr_t fault = (uintptr_t)info->si_addr;
    if (access && access->address) {
        uintptr_t start = (uintptr_t)access->address;
        if (fault >= start && fault - start < access->length) {
            /* mmap is async-signal-safe in practice (a plain syscall); MAP_FIXED replaces the
             * file pages in place so the interrupted read sees zeros. */
            int prot = access->writable ? PROT_READ | PROT_WRITE : PROT_READ;
            void *zero = mmap(access->address, access->length, prot,
                              MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
            if (zero != MAP_FAILED) {
                access->faulted = 1;
                return;
            }
        }
    }
    chain(sig, info, context);
}

int cw_sigbus_guard_install(void) {
    int expected = 0;
    if (!__atomic_compare_exchange_n(&installed, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handle_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) != 0) {
        int e = errno;
        __atomic_store_n(&installed, 0, __ATOMIC_SEQ_CST);
        return -e;
    }
    return 0;
}

void cw_sigbus_guard_begin(struct cw_guarded_access *access) {
    access->faulted = 0;
    current_access = access;
}

int cw_sigbus_guard_end(void) {
    struct cw_guarded_access *access = current_access;
    current_access = NULL;
    return access ? access->faulted : 0;
}
