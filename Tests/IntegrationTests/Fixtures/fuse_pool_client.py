#!/usr/bin/env python3
"""A raw Wayland client that offers compositord a wl_shm pool on an arbitrary file.

Used by FuseTests.swift with a file on stalling_fuse.py's file system. It is a separate process,
not the test runner, on purpose: every close(2) of a FUSE file description sends FLUSH to the
daemon, and that includes the close-on-exec that every child the test runner spawns performs in
execve() while the runner holds the fd. A runner holding the FUSE fd would hang its own children
(and, posix_spawn being a vfork, itself). This process opens the file (the daemon spares the
first opener), sends the fd, and never forks.

Speaks the wire protocol itself (Python standard library only), on $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY.

Prints "opened <path> fd <n> pid <pid>" (so a test can reach the file through /proc), then:
--mode create-pool: wl_shm.create_pool with the file, then wl_display.sync; prints
    "error <interface>@<id> code <n>: <message> after <ms> ms" or "pool accepted after <ms> ms".
--mode show: create_pool, then a 64x64 XRGB8888 buffer on an xdg_toplevel (attach, damage,
    commit, sync); prints "pool accepted after <ms> ms", then "committed after <ms> ms".
--mode stray-fd: the fd attached to a wl_display.sync (a request that takes no fd: libwayland keeps
    it unread), then the connection closed, so that compositord's libwayland closes it at the
    disconnect; prints "stray fd sent after <ms> ms" and "disconnected".
--mode screencopy: create_pool, then a 64x64 XRGB8888 buffer in it as the target of a
    zwlr_screencopy_frame_v1 of the output's region (32, 32, 64, 64); prints "pool accepted after
    <ms> ms", then "screencopy ready after <ms> ms" or "screencopy failed after <ms> ms".
--mode dmabuf-plane: the file as plane 0 of a 64x64 linear XRGB8888 zwp_linux_buffer_params_v1
    (add, create_immed, sync), as if it were a dma-buf; prints the error or "buffer accepted".
Then "lingering": it keeps the fd open (and in show mode stays connected, the buffer on screen)
until SIGTERM or --linger seconds. Every line is flushed at once; exit 0 after a protocol error
or success, 2 on a timeout.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import time


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wl_string(s):
    b = s.encode() + b"\0"
    return struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4)


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.next_id = 2
        self.objects = {1: "wl_display"}
        self.input = b""
        self.globals = {}
        self.done = set()
        self.error = None
        self.configure_serial = None
        self.hung_up = False
        self.frame = None  # "buffer", then "ready" or "failed" (zwlr_screencopy_frame_v1)

    def new(self, interface):
        oid = self.next_id
        self.next_id += 1
        self.objects[oid] = interface
        return oid

    @staticmethod
    def message(obj, opcode, args=b""):
        return struct.pack("<II", obj, (8 + len(args)) << 16 | opcode) + args

    def send(self, obj, opcode, args=b"", fds=()):
        self.send_raw(self.message(obj, opcode, args), fds)

    def send_raw(self, data, fds=()):
        # compositord disconnects a client right after a protocol error: a request sent after
        # that fails (EPIPE), while the error event still waits to be read.
        try:
            if fds:
                socket.send_fds(self.sock, [data], list(fds))
            else:
                self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def dispatch(self, timeout, until):
        deadline = time.monotonic() + timeout
        while not until() and self.error is None and not self.hung_up:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([self.sock], [], [], left)
            if not readable:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                # compositord disconnects a client right after a protocol error; when our next
                # request was still unread on its side, the kernel reports the reset.
                data = b""
            if not data:
                self.hung_up = True
                break
            self.input += data
            while len(self.input) >= 8:
                obj, word = struct.unpack_from("<II", self.input)
                size, opcode = word >> 16, word & 0xFFFF
                if len(self.input) < size:
                    break
                body, self.input = self.input[8:size], self.input[size:]
                self.event(obj, opcode, body)
        return until()

    def event(self, obj, opcode, body):
        interface = self.objects.get(obj, "?")
        if interface == "wl_display" and opcode == 0:
            oid, code, length = struct.unpack_from("<III", body)
            message = body[12:12 + length - 1].decode(errors="replace")
            self.error = f"{self.objects.get(oid, '?')}@{oid} code {code}: {message}"
        elif interface == "wl_registry" and opcode == 0:
            name, length = struct.unpack_from("<II", body)
            iface = body[8:8 + length - 1].decode()
            self.globals[iface] = (name, struct.unpack_from("<I", body, 8 + (length + 3) // 4 * 4)[0])
        elif interface == "wl_callback" and opcode == 0:
            self.done.add(obj)
        elif interface == "xdg_wm_base" and opcode == 0:  # ping
            self.send(obj, 3, body[:4])
        elif interface == "zwlr_screencopy_frame_v1":
            self.frame = {0: "buffer", 2: "ready", 3: "failed"}.get(opcode, self.frame)
        elif interface == "xdg_surface" and opcode == 0:  # configure
            self.configure_serial = struct.unpack_from("<I", body)[0]

    def bind(self, interface, version):
        name, advertised = self.globals[interface]
        oid = self.new(interface)
        self.send(self.registry, 0, struct.pack("<I", name) + wl_string(interface) + struct.pack("<II", min(version, advertised), oid))
        return oid

    def roundtrip(self, timeout, before=b"", fds=()):
        """`before` (requests, with `fds`) and a wl_display.sync in one sendmsg, then waits for the sync."""
        cb = self.new("wl_callback")
        self.send_raw(before + self.message(1, 0, struct.pack("<I", cb)), fds)
        return self.dispatch(timeout, lambda: cb in self.done)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", required=True)
    parser.add_argument("--size", type=int, default=65536)
    parser.add_argument("--mode", choices=["create-pool", "show", "screencopy", "dmabuf-plane", "stray-fd"], default="create-pool")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--linger", type=float, default=0, help="seconds to keep the fd open at the end")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))

    runtime, display = os.environ["XDG_RUNTIME_DIR"], os.environ.get("WAYLAND_DISPLAY", "wayland-0")
    c = Client(display if display.startswith("/") else f"{runtime}/{display}")
    c.registry = c.new("wl_registry")
    c.send(1, 1, struct.pack("<I", c.registry))
    if not c.roundtrip(args.timeout):
        log(f"no registry: {c.error}")
        return 2
    shm = c.bind("wl_shm", 1)
    compositor = c.bind("wl_compositor", 4)
    wm_base = c.bind("xdg_wm_base", 1)
    if not c.roundtrip(args.timeout):
        log(f"bind failed: {c.error}")
        return 2

    fd = os.open(args.file, os.O_RDWR | os.O_CLOEXEC)
    log(f"opened {args.file} fd {fd} pid {os.getpid()}")
    start = time.monotonic()
    ms = lambda: int((time.monotonic() - start) * 1000)
    if args.mode == "stray-fd":
        answered = c.roundtrip(args.timeout, fds=[fd])
        log(f"stray fd sent after {ms()} ms" if answered else f"no answer after {ms()} ms: {c.error}")
        c.sock.close()
        c.hung_up = True  # nothing more to read: linger only keeps the fd
        log("disconnected")
        return linger(c, args.linger, 0 if answered else 2, ms)
    if args.mode == "dmabuf-plane":
        linux_dmabuf = c.bind("zwp_linux_dmabuf_v1", 3)
        params = c.new("zwp_linux_buffer_params_v1")
        buffer = c.new("wl_buffer")
        requests = (c.message(linux_dmabuf, 1, struct.pack("<I", params))
                    + c.message(params, 1, struct.pack("<IIIII", 0, 0, 64 * 4, 0, 0))  # add: fd, plane 0, offset, stride, linear
                    + c.message(params, 3, struct.pack("<IiiII", buffer, 64, 64, 0x34325258, 0)))  # create_immed XRGB8888
        log("sending zwp_linux_buffer_params_v1.add and create_immed")
        answered = c.roundtrip(args.timeout, before=requests, fds=[fd])
        if c.error:
            log(f"error {c.error} after {ms()} ms")
        elif answered:
            log(f"buffer accepted after {ms()} ms")
        else:
            log(f"no answer after {ms()} ms{' (disconnected)' if c.hung_up else ''}")
        return linger(c, args.linger, 0 if c.error or answered else 2, ms)

    pool = c.new("wl_shm_pool")
    log("sending wl_shm.create_pool")
    answered = c.roundtrip(args.timeout, before=c.message(shm, 0, struct.pack("<Ii", pool, args.size)), fds=[fd])
    if c.error:
        log(f"error {c.error} after {ms()} ms")
        return linger(c, args.linger, 0, ms)
    if not answered:
        log(f"no answer to wl_shm.create_pool after {ms()} ms{' (disconnected)' if c.hung_up else ''}")
        return linger(c, args.linger, 2, ms)
    log(f"pool accepted after {ms()} ms")
    if args.mode == "create-pool":
        return linger(c, args.linger, 0, ms)

    width = height = 64
    buffer = c.new("wl_buffer")
    c.send(pool, 0, struct.pack("<Iiiiii", buffer, 0, width, height, width * 4, 1))  # XRGB8888
    if args.mode == "screencopy":
        manager = c.bind("zwlr_screencopy_manager_v1", 1)
        output = c.bind("wl_output", 1)
        frame = c.new("zwlr_screencopy_frame_v1")
        # capture_output_region: frame, overlay_cursor, output, x, y, width, height
        c.send(manager, 1, struct.pack("<IiIiiii", frame, 0, output, 32, 32, width, height))
        if not c.dispatch(args.timeout, lambda: c.frame is not None):
            log(f"no screencopy offer after {ms()} ms: {c.error}")
            return 2
        c.send(frame, 0, struct.pack("<I", buffer))  # copy
        if c.dispatch(args.timeout, lambda: c.frame in ("ready", "failed")):
            log(f"screencopy {c.frame} after {ms()} ms")
        else:
            log(f"no screencopy answer after {ms()} ms: {c.error}")
        return linger(c, args.linger, 0 if c.frame in ("ready", "failed") else 2, ms)
    surface = c.new("wl_surface")
    c.send(compositor, 0, struct.pack("<I", surface))
    xdg_surface = c.new("xdg_surface")
    c.send(wm_base, 2, struct.pack("<II", xdg_surface, surface))
    toplevel = c.new("xdg_toplevel")
    c.send(xdg_surface, 1, struct.pack("<I", toplevel))
    c.send(surface, 6)  # commit: ask for the first configure
    if not c.dispatch(args.timeout, lambda: c.configure_serial is not None):
        log(f"no configure after {ms()} ms: {c.error}")
        return 2
    c.send(xdg_surface, 4, struct.pack("<I", c.configure_serial))
    c.send(surface, 1, struct.pack("<Iii", buffer, 0, 0))
    c.send(surface, 2, struct.pack("<iiii", 0, 0, width, height))
    c.send(surface, 6)
    if not c.roundtrip(args.timeout):
        log(f"no answer to the commit after {ms()} ms: {c.error}")
        return 2
    log(f"committed after {ms()} ms")
    log("lingering")
    c.dispatch(args.linger, lambda: False)
    log(f"linger over: {c.error or ('disconnected' if c.hung_up else 'still connected')}")
    return 0


def linger(c, seconds, status, ms):
    """Keeps the pool's fd open (the test reaches the file through /proc/PID/fd), and reports a
    protocol error that comes late."""
    log("lingering")
    end = time.monotonic() + seconds
    had_error = c.error is not None
    c.dispatch(seconds, lambda: False)
    if c.error and not had_error:
        log(f"error {c.error} after {ms()} ms")
    time.sleep(max(0.0, end - time.monotonic()))
    return status


if __name__ == "__main__":
    sys.exit(main())
