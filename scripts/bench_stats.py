#!/usr/bin/env python3
"""Measurement and statistics for scripts/bench (standard library only).

  bench_stats.py measure --compositor PID --clients PID,... --warmup S --window S --out RUN.json [--consumer PID]
      sleeps the warm-up, samples CPU time of the compositor and the clients (and the consumer)
      and the host's busy time, sleeps the window, samples again, reads the compositor's VmHWM;
      writes RUN.json.
  bench_stats.py result --run RUN.json --label k=v ... [--watched --consumer-timestamps FILE] TIMESTAMPS...
      counts each client's frame callbacks inside the window (from load-client --timestamps
      files) and prints one JSON line: CPU ms per frame, per-client fps, interval percentiles;
      watched, also the consumer's (watch-client --timestamps) frames per second over the
      window, and min and median over the window's whole seconds.
  bench_stats.py report RESULTS.jsonl [--pixman-ms SIZE=MS ...]
      medians over the runs of each (mode, size, compositor, clients), tables and ratios.
  bench_stats.py profile PERF_SCRIPT.txt [--binary NAME] [--top N]
      top functions of a `perf script -F ip,sym,dso` dump (demangled), by self time (time in
      stripped library code and in the kernel charged to the nearest named user-space caller)
      and by inclusive time of the binary's own functions.

CPU time is read per thread from /proc/PID/task/*/schedstat (nanoseconds; the first field is
the time spent on the CPU), summed over the threads. utime+stime from /proc/PID/stat (which also
keeps the time of threads that exited, but only in 10 ms ticks) is recorded beside it; if a
thread exited during the window, the tick figure is used instead.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def thread_times(pid):
    """{tid: on-CPU nanoseconds} for every live thread of pid."""
    times = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return times
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                times[tid] = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return times


def tick_seconds(pid):
    """utime + stime of the whole process (all threads, also exited ones), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    # After "pid (comm)": fields[0] is the state, utime and stime are fields 14 and 15 of stat(5).
    return (int(fields[11]) + int(fields[12])) / TICK


def host_times():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return total - idle, total


def memory_kb(pid):
    """VmHWM (peak RSS) and the current RssAnon, RssFile and RssShmem of pid, in kB."""
    wanted = {"VmHWM", "RssAnon", "RssFile", "RssShmem"}
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in wanted:
                    values[key] = int(line.split()[1])
    except FileNotFoundError:
        pass
    return values


def sample(pids):
    return {
        "monotonic": time.monotonic(),
        "host": host_times(),
        "procs": {str(p): {"threads": thread_times(p), "ticks": tick_seconds(p)} for p in pids},
    }


def cpu_delta(before, after):
    """(seconds, method): schedstat sum if no thread vanished, else utime+stime ticks."""
    if before is None or after is None or before["ticks"] is None or after["ticks"] is None:
        return None, "gone"
    vanished = set(before["threads"]) - set(after["threads"])
    if vanished:
        return after["ticks"] - before["ticks"], "ticks"
    ns = sum(after["threads"][t] - before["threads"].get(t, 0) for t in after["threads"])
    return ns / 1e9, "schedstat"


def cmd_measure(args):
    compositor = int(args.compositor)
    clients = [int(p) for p in args.clients.split(",") if p]
    consumer = [int(args.consumer)] if args.consumer else []
    time.sleep(args.warmup)
    start = sample([compositor] + clients + consumer)
    time.sleep(args.window)
    end = sample([compositor] + clients + consumer)
    alive = [p for p in clients if os.path.exists(f"/proc/{p}")]
    comp_cpu, method = cpu_delta(start["procs"][str(compositor)], end["procs"].get(str(compositor)))
    client_cpu = 0.0
    for p in clients:
        seconds, _ = cpu_delta(start["procs"][str(p)], end["procs"].get(str(p)))
        client_cpu += seconds or 0.0
    ticks = None
    if start["procs"][str(compositor)]["ticks"] is not None and end["procs"][str(compositor)]["ticks"] is not None:
        ticks = end["procs"][str(compositor)]["ticks"] - start["procs"][str(compositor)]["ticks"]
    busy = (end["host"][0] - start["host"][0]) / max(1, end["host"][1] - start["host"][1])
    run = {
        "t0": start["monotonic"],
        "t1": end["monotonic"],
        "compositor_cpu_s": comp_cpu,
        "compositor_cpu_ticks_s": ticks,
        "cpu_method": method,
        "clients_cpu_s": client_cpu,
        "host_busy": busy,
        "memory_kb": memory_kb(compositor),
        "clients": len(clients),
        "clients_alive": len(alive),
    }
    if consumer:
        run["consumer_cpu_s"], _ = cpu_delta(start["procs"][str(consumer[0])], end["procs"].get(str(consumer[0])))
    with open(args.out, "w") as f:
        json.dump(run, f)


def percentile(values, p):
    """Nearest-rank percentile, as load-client computes it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def cmd_result(args):
    with open(args.run) as f:
        run = json.load(f)
    t0, t1 = run["t0"], run["t1"]
    window = t1 - t0
    frames, fps, intervals = 0, [], []
    for path in args.timestamps:
        try:
            with open(path) as f:
                times = [float(line) for line in f if line.strip()]
        except FileNotFoundError:
            times = []
        inside = [t for t in times if t0 < t <= t1]
        frames += len(inside)
        fps.append(len(inside) / window)
        intervals += [(b - a) * 1000 for a, b in zip(times, times[1:]) if t0 < b <= t1]
    # Clients that never wrote a file count as 0 fps.
    fps += [0.0] * max(0, run["clients"] - len(args.timestamps))
    memory = run.get("memory_kb", {})
    result = dict(kv.split("=", 1) for kv in args.label)
    result["clients"] = int(result.get("clients", run["clients"]))
    result.update({
        "window_s": window,
        "frames": frames,
        "cpu_ms_per_frame": (run["compositor_cpu_s"] * 1000 / frames) if frames and run["compositor_cpu_s"] is not None else None,
        "cpu_method": run["cpu_method"],
        "compositor_cpu_pct": (run["compositor_cpu_s"] or 0) / window * 100,
        "ticks_ms_per_frame": (run["compositor_cpu_ticks_s"] * 1000 / frames) if frames and run["compositor_cpu_ticks_s"] is not None else None,
        "clients_cpu_ms_per_frame": run["clients_cpu_s"] * 1000 / frames if frames else None,
        "fps_min": min(fps) if fps else 0.0,
        "fps_median": statistics.median(fps) if fps else 0.0,
        "p50_ms": percentile(intervals, 50),
        "p99_ms": percentile(intervals, 99),
        "rss_mb": memory.get("VmHWM", 0) / 1024 or None,
        # Where the resident memory is at the end of the window (shmem: memfds and shm pools).
        "rss_anon_mb": memory.get("RssAnon", 0) / 1024 or None,
        "rss_file_mb": memory.get("RssFile", 0) / 1024 or None,
        "rss_shmem_mb": memory.get("RssShmem", 0) / 1024 or None,
        "host_busy_pct": run["host_busy"] * 100,
        "clients_alive": run["clients_alive"],
    })
    if args.watched:
        result.update(consumer_figures(args.consumer_timestamps, t0, t1, run.get("consumer_cpu_s")))
        captures = result["consumer_frames"]
        result["compositor_cpu_ms_per_capture"] = (
            run["compositor_cpu_s"] * 1000 / captures if captures and run["compositor_cpu_s"] is not None else None)
    print(json.dumps(result))


def consumer_figures(path, t0, t1, cpu_s):
    """The watch-client's readies inside the window: fps over it, min and median over its whole seconds."""
    try:
        with open(path) as f:
            times = [float(line) for line in f if line.strip()]
    except (FileNotFoundError, TypeError):
        times = []
    window = t1 - t0
    inside = [t for t in times if t0 < t <= t1]
    seconds = max(1, int(window))
    bins = [0] * seconds
    for t in inside:
        i = int(t - t0)
        if i < seconds:
            bins[i] += 1
    intervals = [(b - a) * 1000 for a, b in zip(times, times[1:]) if t0 < b <= t1]
    return {
        "watched": True,
        "consumer_frames": len(inside),
        "consumer_fps": len(inside) / window,
        "consumer_fps_min": float(min(bins)),
        "consumer_fps_median": float(statistics.median(bins)),
        "consumer_p50_ms": percentile(intervals, 50),
        "consumer_p99_ms": percentile(intervals, 99),
        "consumer_cpu_ms_per_frame": cpu_s * 1000 / len(inside) if cpu_s is not None and inside else None,
    }


METRICS = [
    # key, heading, format
    ("cpu_ms_per_frame", "cpu ms/frame", "{:.3f}"),
    ("compositor_cpu_pct", "cpu %", "{:.1f}"),
    ("fps_min", "fps min", "{:.1f}"),
    ("fps_median", "fps med", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("rss_mb", "RSS MB", "{:.1f}"),
    ("rss_anon_mb", "anon", "{:.1f}"),
    ("rss_file_mb", "file", "{:.1f}"),
    ("rss_shmem_mb", "shmem", "{:.1f}"),
    ("clients_cpu_ms_per_frame", "client ms/frame", "{:.3f}"),
    ("host_busy_pct", "host busy %", "{:.0f}"),
]


# Watched runs (scripts/bench --watched): the consumer's figures, in the watched tables only.
WATCHED_METRICS = [
    ("consumer_fps", "consumer fps", "{:.1f}"),
    ("consumer_fps_min", "cons. fps min", "{:.0f}"),
    ("consumer_fps_median", "cons. fps med", "{:.0f}"),
    ("consumer_p50_ms", "cons. p50 ms", "{:.2f}"),
    ("consumer_p99_ms", "cons. p99 ms", "{:.2f}"),
    ("compositor_cpu_ms_per_capture", "cpu ms/capture", "{:.3f}"),
    ("consumer_cpu_ms_per_frame", "consumer ms/capture", "{:.3f}"),
]


def median_of(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, pattern):
    return "-" if value is None else pattern.format(value)


def table(headings, rows):
    widths = [max(len(str(x)) for x in column) for column in zip(headings, *rows)]
    lines = ["  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(headings, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def cmd_report(args):
    results = []
    with open(args.results) as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    groups = {}
    for r in results:
        # Watched runs get their own tables and names ("windows watched", "sway watched").
        suffix = " watched" if r.get("watched") else ""
        key = (r.get("mode", "windows") + suffix, r["size"], r["compositor"] + suffix, int(r["clients"]))
        groups.setdefault(key, []).append(r)
    order = {"compositord": 0, "compositord-every-frame": 1, "weston": 2, "sway": 3, "sway-tiled": 4}
    order.update({name + " watched": rank for name, rank in order.items()})
    ours_names = ("compositord", "compositord-every-frame", "compositord watched", "compositord-every-frame watched")
    medians = {}
    for key, rows in groups.items():
        medians[key] = {m: median_of(rows, m) for m, _, _ in METRICS + WATCHED_METRICS}
        medians[key]["runs"] = len(rows)
        medians[key]["cpu_runs"] = sorted(r["cpu_ms_per_frame"] for r in rows if r.get("cpu_ms_per_frame") is not None)

    out = []
    for mode, size in sorted({(k[0], k[1]) for k in medians}, key=lambda ms: (ms[0], int(ms[1].split("x")[0]))):
        keys = sorted((k for k in medians if k[0] == mode and k[1] == size), key=lambda k: (k[3], order.get(k[2], 9), k[2]))
        title = f"{mode} at {size}: median of runs"
        out.append(title)
        out.append("=" * len(title))
        metrics = METRICS + (WATCHED_METRICS if mode.endswith(" watched") else [])
        headings = ["compositor", "clients", "runs"] + [h for _, h, _ in metrics] + ["cpu ms/frame per run"]
        rows = []
        for k in keys:
            m = medians[k]
            rows.append([k[2], k[3], m["runs"]] + [fmt(m[key], f) for key, _, f in metrics]
                        + [" ".join(f"{v:.3f}" for v in m["cpu_runs"])])
        out.append(table(headings, rows))
        out.append("")
        if mode.endswith(" watched"):
            # What the consumer costs: watched over unwatched CPU per frame callback, same compositor.
            cost_rows = []
            for k in keys:
                plain = medians.get((mode[: -len(" watched")], size, k[2][: -len(" watched")], k[3]))
                a, b = medians[k].get("cpu_ms_per_frame"), plain and plain.get("cpu_ms_per_frame")
                if a is not None and b:
                    cost_rows.append([k[2], k[3], f"{b:.3f}", f"{a:.3f}", f"{a / b:.2f}"])
            if cost_rows:
                out.append(f"watched / unwatched ({size}): compositor CPU per frame callback with and without the consumer")
                out.append(table(["compositor", "clients", "unwatched", "watched", "ratio"], cost_rows))
                out.append("")

        for ours_name in ours_names:
            ratio_rows = []
            for k in keys:
                if k[2] in ours_names:
                    continue
                ours = medians.get((mode, size, ours_name, k[3]))
                if not ours:
                    continue
                peer = medians[k]

                def ratio(key):
                    a, b = ours.get(key), peer.get(key)
                    return f"{a / b:.2f}" if a is not None and b else "-"
                ratio_rows.append([k[2], k[3], ratio("cpu_ms_per_frame"), ratio("fps_median"), ratio("fps_min"), ratio("rss_mb")])
            if ratio_rows:
                out.append(f"{ours_name} / peer ({mode} at {size}; cpu below 1 and fps above 1 favour compositord)")
                out.append(table(["peer", "clients", "cpu/frame", "fps med", "fps min", "RSS"], ratio_rows))
                out.append("")
        if mode.endswith("fullscreen") and args.pixman_ms:
            for k in keys:
                cpu = medians[k]["cpu_ms_per_frame"]
                warm, cold = args.pixman_ms.get(size), args.pixman_cold_ms.get(size)
                if cpu is not None and warm:
                    line = f"{k[2]}: {cpu:.3f} ms/frame = {cpu / warm:.2f}x pixman's raw {size} copy ({warm:.3f} ms in cache"
                    line += f"; {cpu / cold:.2f}x its cold copy, {cold:.3f} ms)" if cold else ")"
                    out.append(line)
            out.append("")
    print("\n".join(out).rstrip())


def parse_pixman(values):
    """['1920x1080=0.658', ...] -> {'1920x1080': 0.658}"""
    result = {}
    for v in values or []:
        size, ms = v.split("=", 1)
        result[size] = float(ms)
    return result


FRAME = re.compile(r"^\s*([0-9a-f]+) (.*) \((.*)\)$")


def read_samples(path):
    """Stacks (leaf first) of (symbol, dso basename, is_kernel) from perf script output."""
    samples, stack = [], []
    with open(path, errors="replace") as f:
        for line in f:
            match = FRAME.match(line.rstrip("\n"))
            if match:
                address, symbol, dso = match.groups()
                stack.append([address, symbol, dso])
            elif not line.strip() and stack:
                samples.append(stack)
                stack = []
    if stack:
        samples.append(stack)
    for stack in samples:
        # An inlined frame belongs to the next real frame at the same address.
        for i in range(len(stack) - 2, -1, -1):
            if stack[i][2] == "inlined":
                stack[i][2] = stack[i + 1][2]
        for frame in stack:
            frame[2] = os.path.basename(frame[2])
    return [[(symbol, dso, dso == "[kernel.kallsyms]") for _, symbol, dso in stack] for stack in samples]


def self_label(stack):
    """The leaf function; kernel time and stripped library code go to the nearest named caller."""
    symbol, dso, kernel = stack[0]
    if kernel:
        for sym, d, k in stack:
            if not k and sym != "[unknown]":
                return f"{sym} ({d}) -> kernel"
        return f"kernel: {symbol}"
    if symbol == "[unknown]":
        for sym, d, _ in stack[1:]:
            if sym != "[unknown]":
                return f"{sym} ({d}) -> stripped {dso} code" if d != dso else f"{sym} ({d}, stripped internals)"
        return f"{dso} (stripped)"
    return f"{symbol} ({dso})"


def cmd_profile(args):
    samples = read_samples(args.script)
    total = len(samples)
    if not total:
        print("profile: no samples")
        return
    selfs, inclusive = {}, {}
    for stack in samples:
        label = self_label(stack)
        selfs[label] = selfs.get(label, 0) + 1
        seen = {sym for sym, dso, _ in stack if dso == args.binary}
        for sym in seen:
            inclusive[sym] = inclusive.get(sym, 0) + 1
    print(f"{total} samples")
    print(f"\nself time (top {args.top}):")
    for label, count in sorted(selfs.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {count * 100 / total:5.1f}%  {label}")
    # The entry chain (main, the run loop) is in nearly every sample and says nothing.
    below = [(sym, count) for sym, count in inclusive.items() if count < 0.97 * total]
    print(f"\ninclusive time of {args.binary}'s own functions below 97% (top {args.top}):")
    for sym, count in sorted(below, key=lambda kv: -kv[1])[: args.top]:
        print(f"  {count * 100 / total:5.1f}%  {sym}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--compositor", required=True)
    m.add_argument("--clients", required=True)
    m.add_argument("--warmup", type=float, default=2)
    m.add_argument("--window", type=float, default=10)
    m.add_argument("--out", required=True)
    m.add_argument("--consumer", help="the watch-client's pid (watched runs)")
    r = sub.add_parser("result")
    r.add_argument("--run", required=True)
    r.add_argument("--label", action="append", default=[])
    r.add_argument("--watched", action="store_true", help="a consumer watched: add its figures")
    r.add_argument("--consumer-timestamps", help="watch-client --timestamps file")
    r.add_argument("timestamps", nargs="*")
    p = sub.add_parser("report")
    p.add_argument("results")
    p.add_argument("--pixman-ms", action="append", help="SIZE=MS, pixman's raw copy time at SIZE")
    p.add_argument("--pixman-cold-ms", action="append", help="SIZE=MS, the same from a cold cache")
    f = sub.add_parser("profile")
    f.add_argument("script")
    f.add_argument("--binary", default="compositord")
    f.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    if args.command == "report":
        args.pixman_ms = parse_pixman(args.pixman_ms)
        args.pixman_cold_ms = parse_pixman(args.pixman_cold_ms)
    {"measure": cmd_measure, "result": cmd_result, "report": cmd_report, "profile": cmd_profile}[args.command](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during a measurement: scripts/bench cleans up
        sys.exit(130)
