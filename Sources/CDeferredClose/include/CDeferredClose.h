/* CDeferredClose: compositord's own close(2), for the closes libwayland makes of client fds.
 *
 * close(2) of a file on FUSE (or a network file system) sends FLUSH and waits for the answer,
 * uninterruptibly. compositord closes the fds it takes from clients on a background queue
 * (Compositor's ReceivedFd), but libwayland-server closes some itself, on the main thread: an fd
 * a client attached to a request that takes none, and a client's unread fds at disconnect. A
 * client serving such an fd from its own FUSE daemon could freeze compositord there.
 *
 * Linked into the compositord executable only, this file defines `close`, which libwayland (and
 * everything else in the process) then calls instead of libc's. Until cw_deferred_close_enable()
 * it is the plain system call. Enabled, a close that could wait on a file system's server (a
 * regular file that is not tmpfs/hugetlbfs shared memory, on a FUSE or network file system, or
 * on a mount compositord cannot see, such as one in the client's own mount namespace) is handed
 * to one background thread; everything else is closed at once. Deciding asks nothing of the
 * file's file system: F_GET_SEALS, statx(AT_STATX_DONT_SYNC), /proc/self/mountinfo. */
#ifndef CDEFERRED_CLOSE_H
#define CDEFERRED_CLOSE_H

/* Turns the deferral on (idempotent). */
void cw_deferred_close_enable(void);
/* Closes handed to the background thread so far. */
unsigned long cw_deferred_close_count(void);
#endif
