/* Tiny C shims: variadic calls, constants the Glibc module lacks, and wl_listener embedding.
 * Kept deliberately free of _GNU_SOURCE (it breaks Foundation's module); the .c defines it. */
#ifndef CWAYLAND_SHIMS_H
#define CWAYLAND_SHIMS_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct wl_resource;
struct wl_client;
struct wl_display;
struct wl_signal;

/* wl_resource_post_error / wl_client_post_implementation_error are C-variadic. */
void cw_resource_post_error(struct wl_resource *resource, uint32_t code, const char *message);
void cw_client_post_implementation_error(struct wl_client *client, const char *message);

/* A wl_listener owned by Swift: `notify(user, data)` is called from the signal.
 * Remove it with cw_listener_destroy (unlinks it if still linked, frees it). */
typedef void (*cw_notify_fn)(void *user, void *data);
struct cw_listener;
struct cw_listener *cw_listener_create(cw_notify_fn notify, void *user);
void cw_listener_destroy(struct cw_listener *listener);
void cw_listener_set_user(struct cw_listener *listener, void *user);
void cw_client_add_destroy_listener(struct wl_client *client, struct cw_listener *listener);
void cw_display_add_client_created_listener(struct wl_display *display, struct cw_listener *listener);
void cw_resource_add_destroy_listener(struct wl_resource *resource, struct cw_listener *listener);

/* memfd and file seals (values checked against the kernel's headers in shims.c). */
enum {
    CW_MFD_CLOEXEC = 0x0001U,
    CW_MFD_ALLOW_SEALING = 0x0002U,
    CW_MFD_NOEXEC_SEAL = 0x0008U,
    CW_F_ADD_SEALS = 1024 + 9,
    CW_F_GET_SEALS = 1024 + 10,
    CW_F_SEAL_SEAL = 0x0001,
    CW_F_SEAL_SHRINK = 0x0002,
    CW_F_SEAL_GROW = 0x0004,
    CW_F_SEAL_WRITE = 0x0008,
    CW_MREMAP_MAYMOVE = 1,
    CW_O_TMPFILE = 020200000,
    CW_O_PATH = 010000000,
};
/* Returns the fd, or -1 with errno set (ENOSYS where the kernel lacks memfd_create). */
int cw_memfd_create(const char *name, unsigned int flags);
void *cw_mremap(void *old_address, size_t old_size, size_t new_size, int flags);
/* mkostemp, which the Glibc module hides behind _GNU_SOURCE. */
int cw_mkostemp(char *template_path, int flags);

/* libwayland's log (wl_log) is printf-style. These route it to a plain-string callback:
 * the client side uses it to learn the message of a protocol error, which
 * wl_display_get_protocol_error does not return; the server side sends it to swift-log. */
typedef void (*cw_log_fn)(const char *line);
void cw_client_set_log_handler(cw_log_fn fn);
void cw_server_set_log_handler(cw_log_fn fn);

/* A CLOCK_MONOTONIC timerfd (non-blocking, close-on-exec) armed at absolute times, for the frame
 * clock: wl_event_loop timers only have millisecond resolution. */
int cw_timerfd_create(void);
/* Arms the timer to fire at `deadline_ns` (CLOCK_MONOTONIC) and then every `interval_ns` (0: once);
 * a deadline of 0 disarms. */
int cw_timerfd_arm(int fd, uint64_t deadline_ns, uint64_t interval_ns);
uint64_t cw_monotonic_ns(void);

/* A non-blocking, close-on-exec eventfd (sys/eventfd.h is not in the Glibc module): wakes a
 * server's event loop from another thread (Server.perform). Returns the fd or -1 with errno. */
int cw_eventfd_create(void);

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC), as libwayland accepts; accept4 is hidden behind _GNU_SOURCE.
 * Returns the new fd, or -1 with errno set. */
int cw_accept_cloexec(int fd);

/* fstatfs(fd).f_type (e.g. TMPFS_MAGIC), or -1 with errno set; sys/vfs.h is not in Glibc's module.
 * fstatfs reaches the file system's own code (a FUSE daemon answers it): call it only on a file
 * known to be tmpfs or hugetlbfs. */
long cw_fs_type(int fd);

/* What the VFS already knows of fd, without asking the file system (statx with
 * AT_STATX_DONT_SYNC: FUSE and network file systems answer from their attribute cache instead of
 * a round trip to a daemon or a server that could stall us). `mode` is st_mode, `mount_id` the
 * mount's id in /proc/self/mountinfo (0 where the kernel predates STATX_MNT_ID). Returns 0, or -1
 * with errno set. */
int cw_statx_cached(int fd, uint32_t *mode, uint64_t *size, uint64_t *mount_id);

/* wl_surface.preferred_buffer_scale (version 6, event 2): libwayland 1.21's headers stop at
 * version 5, and wl_resource_post_event is variadic (Swift cannot call it). */
struct wl_resource;
void cw_wl_surface_send_preferred_buffer_scale(struct wl_resource *surface, int32_t scale);

#endif
