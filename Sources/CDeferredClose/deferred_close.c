#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CDeferredClose.h"

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

static atomic_int enabled;
static atomic_ulong deferred;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int *queue;
static size_t queued, capacity;
static int closer_running;

static int raw_close(int fd) { return (int)syscall(SYS_close, fd); }

/* One thread: a close stuck in FLUSH holds up only the closes queued behind it. */
static void *closer(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (queued == 0) pthread_cond_wait(&wake, &lock);
        int fd = queue[--queued];
        pthread_mutex_unlock(&lock);
        raw_close(fd);
    }
    return NULL;
}

/* 0 when queued; -1 (the caller closes at once) when memory or a thread cannot be had. */
static int defer(int fd) {
    int ok = -1;
    pthread_mutex_lock(&lock);
    if (!closer_running) {
        pthread_attr_t attr;
        pthread_t thread;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        closer_running = pthread_create(&thread, &attr, closer, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    if (closer_running && queued == capacity) {
        size_t grown = capacity ? capacity * 2 : 16;
        int *q = realloc(queue, grown * sizeof *q);
        if (q) { queue = q; capacity = grown; }
    }
    if (closer_running && queued < capacity) {
        queue[queued++] = fd;
        ok = 0;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

/* File systems whose close may wait for a server (a daemon, the network). */
static int could_wait(const char *fs) {
    static const char *const prefixes[] = {
        "fuse", "nfs", "cifs", "smb", "9p", "ceph", "afs", "virtiofs", "orangefs", "lustre",
        "gfs2", "ocfs2", "ncp", "coda", NULL,
    };
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(fs, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

/* The file system type of mount `id` from /proc/self/mountinfo (procfs answers from the kernel's
 * tables; a FUSE mount's line is written without asking its daemon). 1 if it could wait or the
 * mount is not listed (another mount namespace), 0 otherwise. */
static int mount_could_wait(unsigned long long id) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    char buf[8192], line[4096];
    size_t used = 0;
    int found = 0, slow = 1;
    ssize_t n;
    while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n && !found; i++) {
            if (buf[i] != '\n') {
                if (used < sizeof line - 1) line[used++] = buf[i];
                continue;
            }
            line[used] = 0;
            used = 0;
            char *end;
            if (strtoull(line, &end, 10) != id || *end != ' ') continue;
            found = 1;
            const char *sep = strstr(line, " - ");  /* cut off (a very long line): counts as slow */
            if (sep) {
                char fs[64];
                size_t k = 0;
                for (const char *p = sep + 3; *p && *p != ' ' && k < sizeof fs - 1; p++) fs[k++] = *p;
                fs[k] = 0;
                slow = could_wait(fs);
            }
        }
    }
    raw_close(fd);
    return found ? slow : 1;
}

static int close_could_wait(int fd) {
    /* tmpfs and hugetlbfs answer F_GET_SEALS from the VFS; nothing else does. */
    if (fcntl(fd, F_GET_SEALS) >= 0) return 0;
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MNT_ID, &sx) != 0) return 0;
    /* Only a regular file's close flushes to a file system's server. */
    if (!S_ISREG(sx.stx_mode)) return 0;
    if (!(sx.stx_mask & STATX_MNT_ID)) return 1;
    return mount_could_wait(sx.stx_mnt_id);
}

int close(int fd) {
    if (fd >= 0 && atomic_load_explicit(&enabled, memory_order_relaxed)) {
        int saved = errno;
        if (close_could_wait(fd) && defer(fd) == 0) {
            atomic_fetch_add(&deferred, 1);
            errno = saved;
            return 0;
        }
        errno = saved;
    }
    return raw_close(fd);
}

void cw_deferred_close_enable(void) { atomic_store(&enabled, 1); }

unsigned long cw_deferred_close_count(void) { return atomic_load(&deferred); }
