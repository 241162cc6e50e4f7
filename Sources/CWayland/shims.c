#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/memfd.h>
#include <wayland-server.h>
#include <wayland-client.h>
#include "shims.h"

_Static_assert(CW_MFD_CLOEXEC == MFD_CLOEXEC, "MFD_CLOEXEC");
_Static_assert(CW_MFD_ALLOW_SEALING == MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING");
_Static_assert(CW_F_ADD_SEALS == F_ADD_SEALS, "F_ADD_SEALS");
_Static_assert(CW_F_GET_SEALS == F_GET_SEALS, "F_GET_SEALS");
_Static_assert(CW_F_SEAL_SEAL == F_SEAL_SEAL, "F_SEAL_SEAL");
_Static_assert(CW_F_SEAL_SHRINK == F_SEAL_SHRINK, "F_SEAL_SHRINK");
_Static_assert(CW_F_SEAL_GROW == F_SEAL_GROW, "F_SEAL_GROW");
_Static_assert(CW_F_SEAL_WRITE == F_SEAL_WRITE, "F_SEAL_WRITE");
_Static_assert(CW_MREMAP_MAYMOVE == MREMAP_MAYMOVE, "MREMAP_MAYMOVE");
_Static_assert(CW_O_TMPFILE == O_TMPFILE, "O_TMPFILE");
_Static_assert(CW_O_PATH == O_PATH, "O_PATH");
#ifdef MFD_NOEXEC_SEAL
_Static_assert(CW_MFD_NOEXEC_SEAL == MFD_NOEXEC_SEAL, "MFD_NOEXEC_SEAL");
#endif

void cw_resource_post_error(struct wl_resource *resource, uint32_t code, const char *message) {
    wl_resource_post_error(resource, code, "%s", message);
}

void cw_client_post_implementation_error(struct wl_client *client, const char *message) {
    wl_client_post_implementation_error(client, "%s", message);
}

struct cw_listener {
    struct wl_listener listener; /* first: wl_container_of is a plain cast */
    cw_notify_fn notify;
    void *user;
    /* Linked while `listener` is on a display's client-created signal. wl_display_destroy frees
     * that signal without unlinking its listeners, so a later unlink (cw_listener_destroy) would
     * write into the freed display; this unlinks `listener` while the display still exists. */
    struct wl_listener display_destroy;
};

static void cw_listener_unlink(struct cw_listener *l);

static void cw_listener_display_destroyed(struct wl_listener *listener, void *data) {
    (void)data;
    struct cw_listener *l = wl_container_of(listener, l, display_destroy);
    cw_listener_unlink(l);
}

static void cw_listener_notify(struct wl_listener *listener, void *data) {
    struct cw_listener *l = (struct cw_listener *)listener;
    l->notify(l->user, data);
}

struct cw_listener *cw_listener_create(cw_notify_fn notify, void *user) {
    struct cw_listener *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->listener.notify = cw_listener_notify;
    wl_list_init(&l->listener.link);
    l->display_destroy.notify = cw_listener_display_destroyed;
    wl_list_init(&l->display_destroy.link);
    l->notify = notify;
    l->user = user;
    return l;
}

/* Unlinks a listener; an unlinked listener's link points at itself, so this is idempotent. */
static void cw_listener_unlink(struct cw_listener *l) {
    wl_list_remove(&l->listener.link);
    wl_list_init(&l->listener.link);
    wl_list_remove(&l->display_destroy.link);
    wl_list_init(&l->display_destroy.link);
}

void cw_listener_destroy(struct cw_listener *l) {
    if (!l) return;
    cw_listener_unlink(l);
    free(l);
}

void cw_listener_set_user(struct cw_listener *l, void *user) {
    l->user = user;
}

void cw_client_add_destroy_listener(struct wl_client *client, struct cw_listener *l) {
    cw_listener_unlink(l);
    wl_client_add_destroy_listener(client, &l->listener);
}

void cw_display_add_client_created_listener(struct wl_display *display, struct cw_listener *l) {
    cw_listener_unlink(l);
    wl_display_add_client_created_listener(display, &l->listener);
    wl_display_add_destroy_listener(display, &l->display_destroy);
}

void cw_resource_add_destroy_listener(struct wl_resource *resource, struct cw_listener *l) {
    cw_listener_unlink(l);
    wl_resource_add_destroy_listener(resource, &l->listener);
}

int cw_memfd_create(const char *name, unsigned int flags) {
#ifdef SYS_memfd_create
    return (int)syscall(SYS_memfd_create, name, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

void *cw_mremap(void *old_address, size_t old_size, size_t new_size, int flags) {
    return mremap(old_address, old_size, new_size, flags);
}

int cw_mkostemp(char *template_path, int flags) {
    return mkostemp(template_path, flags);
}

static cw_log_fn cw_client_log_fn;
static cw_log_fn cw_server_log_fn;

static void cw_format_and_call(cw_log_fn fn, const char *fmt, va_list ap) {
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (fn) fn(line);
}

static void cw_client_log_trampoline(const char *fmt, va_list ap) { cw_format_and_call(cw_client_log_fn, fmt, ap); }
static void cw_server_log_trampoline(const char *fmt, va_list ap) { cw_format_and_call(cw_server_log_fn, fmt, ap); }

void cw_client_set_log_handler(cw_log_fn fn) {
    cw_client_log_fn = fn;
    wl_log_set_handler_client(cw_client_log_trampoline);
}

void cw_server_set_log_handler(cw_log_fn fn) {
    cw_server_log_fn = fn;
    wl_log_set_handler_server(cw_server_log_trampoline);
}

int cw_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int cw_timerfd_arm(int fd, uint64_t deadline_ns, uint64_t interval_ns) {
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
    its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(interval_ns % 1000000000ull);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

uint64_t cw_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cw_eventfd_create(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

long cw_fs_type(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    return (long)fs.f_type;
}

int cw_statx_cached(int fd, uint32_t *mode, uint64_t *size, uint64_t *mount_id) {
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_SIZE | STATX_MNT_ID, &sx) != 0) return -1;
    *mode = sx.stx_mode;
    *size = sx.stx_size;
    *mount_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
    return 0;
}

int cw_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

void cw_wl_surface_send_preferred_buffer_scale(struct wl_resource *surface, int32_t scale) {
    wl_resource_post_event(surface, 2, scale);
}
