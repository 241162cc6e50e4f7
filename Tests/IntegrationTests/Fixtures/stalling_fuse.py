#!/usr/bin/env python3
"""A FUSE file system that never answers: one regular file, /pool, of --size bytes.

Used by FuseTests.swift to prove that compositord judges a wl_shm pool fd without calling into
the file system behind it. Speaks the kernel's FUSE protocol on /dev/fuse directly (no libfuse,
no python package): only the Python standard library, and root (mount(2) of type "fuse").

Once the file has been opened, every request from any process other than the one that opened it
(the client, which must be able to close it: see fuse_pool_client.py) is *stalled*: read from
/dev/fuse and never answered, so the process that made it waits in the kernel for as long as
this daemon lets it. The exceptions are
the requests the kernel does not wait for (INIT, FORGET, BATCH_FORGET, INTERRUPT, RELEASE,
RELEASEDIR, DESTROY), and FLUSH when --answer-flush is given. Attributes and entries are sent
with a timeout of 0, so the kernel's cache of them is stale at once: any fstat, statx without
AT_STATX_DONT_SYNC, fstatfs, read or page fault by another process must ask this daemon, and
stalls.

One line on stdout per request: "<OP> pid=<tgid> tid=<tid> stalled|answered", so a test can see
who asked for what. "ready" once the mount is up.

Signals: SIGUSR1 answers every stalled request and stops stalling; SIGTERM (or --lifetime
seconds passing, a safety net should the test runner die) does the same, then detaches the mount
(MNT_DETACH) and exits 0. If this process is killed instead, the kernel aborts the connection:
every waiting request fails with ENOTCONN, so nothing stays stuck on it; the mount then needs
`umount -l`.

Exit 77 with a line "SKIP: <why>" when /dev/fuse is missing or mounting is not permitted.
"""
import argparse
import ctypes
import errno
import os
import select
import signal
import struct
import sys
import time

OPS = {1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 5: "READLINK", 8: "MKNOD", 9: "MKDIR",
       10: "UNLINK", 14: "OPEN", 15: "READ", 16: "WRITE", 17: "STATFS", 18: "RELEASE", 20: "FSYNC",
       21: "SETXATTR", 22: "GETXATTR", 23: "LISTXATTR", 25: "FLUSH", 26: "INIT", 27: "OPENDIR",
       28: "READDIR", 29: "RELEASEDIR", 34: "ACCESS", 35: "CREATE", 36: "INTERRUPT", 37: "BMAP",
       38: "DESTROY", 40: "POLL", 42: "BATCH_FORGET", 43: "FALLOCATE", 44: "READDIRPLUS", 46: "LSEEK",
       50: "SYNCFS", 51: "TMPFILE"}
NO_REPLY = {"FORGET", "BATCH_FORGET", "INTERRUPT"}
NEVER_STALLED = {"INIT", "FORGET", "BATCH_FORGET", "INTERRUPT", "RELEASE", "RELEASEDIR", "DESTROY"}

ROOT, FILE = 1, 2
FILE_NAME = b"pool"
IN_HEADER = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid total_extlen padding
OUT_HEADER = struct.Struct("<IiQ")       # len error unique
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def tgid_of(tid):
    """The process (thread group) a requesting thread belongs to: the kernel reports thread ids."""
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return tid


class Daemon:
    def __init__(self, args):
        self.args = args
        self.size = args.size
        self.now = int(time.time())
        self.stalling = True
        self.opener = None  # the first process that opened the file: never stalled
        self.stalled = []  # (header fields, body) of requests not answered yet
        self.fd = -1
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)

    # --- replies -------------------------------------------------------------------------------

    def attr(self, node):
        # ino size blocks atime mtime ctime atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags
        if node == ROOT:
            return struct.pack("<QQQQQQIIIIIIIIII", ROOT, 0, 0, self.now, self.now, self.now, 0, 0, 0,
                               0o040755, 2, os.getuid(), os.getgid(), 0, 4096, 0)
        return struct.pack("<QQQQQQIIIIIIIIII", FILE, self.size, (self.size + 511) // 512, self.now, self.now,
                           self.now, 0, 0, 0, 0o100644, 1, os.getuid(), os.getgid(), 0, 4096, 0)

    def reply(self, unique, error=0, body=b""):
        try:
            os.write(self.fd, OUT_HEADER.pack(OUT_HEADER.size + len(body), -error, unique) + body)
        except OSError as e:
            # ENOENT: the request was interrupted and is gone; ENODEV: the connection was aborted.
            log(f"reply to {unique} failed: {e}")

    def answer(self, op, unique, node, body):
        if op == "INIT":
            major, minor, readahead, flags = struct.unpack_from("<IIII", body)
            # major minor max_readahead flags max_background congestion_threshold max_write
            # time_gran max_pages map_alignment flags2 unused[7]
            out = struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), readahead, 0, 16, 12, 65536, 1, 0, 0, 0,
                              *([0] * 7))
            self.reply(unique, body=out)
        elif op == "LOOKUP":
            name = body.split(b"\0", 1)[0]
            if node != ROOT or name != FILE_NAME:
                self.reply(unique, errno.ENOENT)
                return
            # nodeid generation entry_valid attr_valid entry_valid_nsec attr_valid_nsec attr: all
            # timeouts 0, so nothing is cached past this reply.
            self.reply(unique, body=struct.pack("<QQQQII", FILE, 1, 0, 0, 0, 0) + self.attr(FILE))
        elif op == "GETATTR":
            self.reply(unique, body=struct.pack("<QII", 0, 0, 0) + self.attr(node))
        elif op in ("OPEN", "OPENDIR"):
            self.reply(unique, body=struct.pack("<QII", 1, 0, 0))  # fh open_flags (none: flush on close) padding
        elif op == "READ":
            fh, offset, size = struct.unpack_from("<QQI", body)
            n = max(0, min(size, self.size - offset)) if node == FILE else 0
            self.reply(unique, body=b"\x40" * n)
        elif op == "STATFS":
            self.reply(unique, body=struct.pack("<QQQQQIIII6I", 1024, 0, 0, 2, 0, 4096, 255, 4096, 0, *([0] * 6)))
        elif op in ("FLUSH", "RELEASE", "RELEASEDIR", "FSYNC", "DESTROY"):
            self.reply(unique)
        elif op in NO_REPLY:
            pass
        else:
            self.reply(unique, errno.ENOSYS)

    def release(self, why):
        if self.stalling or self.stalled:
            log(f"released ({why}): answering {len(self.stalled)} stalled request(s)")
        self.stalling = False
        for op, unique, node, body in self.stalled:
            self.answer(op, unique, node, body)
        self.stalled = []

    # --- main loop -------------------------------------------------------------------------------

    def mount(self):
        try:
            self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            log(f"SKIP: cannot open /dev/fuse: {e.strerror}")
            sys.exit(77)
        options = f"fd={self.fd},rootmode=40000,user_id={os.getuid()},group_id={os.getgid()},allow_other"
        rc = self.libc.mount(b"stalling-fuse", self.args.mountpoint.encode(), b"fuse", MS_NOSUID | MS_NODEV,
                             options.encode())
        if rc != 0:
            e = ctypes.get_errno()
            why = f"mount -t fuse {self.args.mountpoint}: {os.strerror(e)}"
            if e in (errno.EPERM, errno.EACCES, errno.ENODEV):
                log(f"SKIP: mounting a FUSE file system is not permitted here ({why})")
                sys.exit(77)
            log(f"mount failed: {why}")
            sys.exit(1)

    def unmount(self):
        if self.libc.umount2(self.args.mountpoint.encode(), MNT_DETACH) != 0:
            log(f"umount2: {os.strerror(ctypes.get_errno())}")

    def run(self):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        pending = []
        signal.signal(signal.SIGUSR1, lambda s, f: pending.append("SIGUSR1"))
        signal.signal(signal.SIGTERM, lambda s, f: pending.append("SIGTERM"))
        signal.signal(signal.SIGINT, lambda s, f: pending.append("SIGTERM"))
        self.mount()
        deadline = time.monotonic() + self.args.lifetime
        ready = False
        while True:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                pending.append("lifetime")
            while pending:
                why = pending.pop(0)
                self.release(why)
                if why != "SIGUSR1":
                    self.unmount()
                    log(f"exit ({why})")
                    return 0
            try:
                readable, _, _ = select.select([self.fd, wake_r], [], [], max(0.0, timeout))
            except InterruptedError:
                continue
            if wake_r in readable:
                try:
                    os.read(wake_r, 64)
                except BlockingIOError:
                    pass
            if self.fd not in readable:
                continue
            try:
                data = os.read(self.fd, 1 << 20)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                    continue
                if e.errno == errno.ENODEV:  # unmounted
                    log("exit (unmounted)")
                    return 0
                raise
            length, opcode, unique, node, uid, gid, tid, _, _ = IN_HEADER.unpack_from(data)
            body = data[IN_HEADER.size:length]
            op = OPS.get(opcode, f"OP{opcode}")
            pid = tgid_of(tid) if tid else 0
            stall = (self.stalling and self.opener is not None and op not in NEVER_STALLED
                     and pid not in (0, self.opener) and not (op == "FLUSH" and self.args.answer_flush))
            log(f"{op} pid={pid} tid={tid} {'stalled' if stall else 'answered'}")
            if stall:
                self.stalled.append((op, unique, node, body))
            else:
                self.answer(op, unique, node, body)
            if op == "OPEN" and self.opener is None:
                self.opener = pid
                log(f"armed: opened by pid {pid}; from now on every other process's requests stall")
            if op == "INIT" and not ready:
                ready = True
                log(f"ready {self.args.mountpoint}/{FILE_NAME.decode()} {self.size} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mountpoint")
    parser.add_argument("--size", type=int, default=65536)
    parser.add_argument("--answer-flush", action="store_true", help="answer FLUSH (sent on every close) at once")
    parser.add_argument("--lifetime", type=float, default=120, help="release, unmount and exit after this many seconds")
    return Daemon(parser.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
