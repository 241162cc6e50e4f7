#!/usr/bin/env python3
"""Draws scripts/bench's results as an SVG chart (standard library only).

  bench_chart.py RESULTS.jsonl OUT.svg

Compositor CPU ms per frame callback (median over the runs) against the number of load clients,
both axes logarithmic, one line per compositor and mode: compositord on demand, compositord
every frame, weston, sway (and sway-tiled); runs watched by a screencopy consumer
(scripts/bench --watched) as dashed lines with hollow markers in the same colour. One panel per
mode and size (windows at 1920x1080, fullscreen...); profile runs (perf's overhead) are left out
unless there is nothing else.
"""
import json
import math
import statistics
import sys
from xml.sax.saxutils import escape

SERIES = [
    # compositor name in results.jsonl, legend label, colour
    ("compositord", "compositord on-demand", "#1f77b4"),
    ("compositord-every-frame", "compositord every-frame", "#2ca02c"),
    ("weston", "weston", "#ff7f0e"),
    ("sway", "sway", "#d62728"),
    ("sway-tiled", "sway-tiled", "#9467bd"),
]
EXTRA_COLOURS = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

WIDTH = 1080
PANEL_HEIGHT = 540
LEFT, RIGHT, TOP, BOTTOM = 90, 300, 56, 64  # plot margins inside a panel; the legend sits right


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def medians(rows):
    """{(mode, size): {(compositor, watched): {clients: median cpu ms per frame}}}"""
    groups = {}
    for r in rows:
        if r.get("cpu_ms_per_frame") is None:
            continue
        key = (r.get("mode", "windows"), r["size"])
        series = (r["compositor"], bool(r.get("watched")))
        groups.setdefault(key, {}).setdefault(series, {}).setdefault(int(r["clients"]), []).append(r["cpu_ms_per_frame"])
    panels = {}
    for key, by_series in groups.items():
        panels[key] = {s: {n: statistics.median(v) for n, v in points.items()} for s, points in by_series.items()}
    # perf's overhead makes profile figures incomparable: keep them only if nothing else exists.
    plain = {k: v for k, v in panels.items() if not k[0].startswith("profile")}
    return plain or panels


def log_ticks(low, high):
    """1-2-5 ticks covering [low, high]."""
    ticks = []
    exponent = math.floor(math.log10(low))
    while True:
        for m in (1, 2, 5):
            v = m * 10 ** exponent
            if v > high * 1.0001:
                return ticks
            if v >= low * 0.9999:
                ticks.append(v)
        exponent += 1


def tick_label(v):
    if v >= 1:
        return f"{v:g}"
    return f"{v:.{max(0, -math.floor(math.log10(v)))}f}".rstrip("0").rstrip(".") if v < 1 else f"{v:g}"


def style_of(compositor, extra):
    for name, label, colour in SERIES:
        if name == compositor:
            return label, colour
    if compositor not in extra:
        extra[compositor] = EXTRA_COLOURS[len(extra) % len(EXTRA_COLOURS)]
    return compositor, extra[compositor]


def series_order(series):
    compositor, watched = series
    names = [s[0] for s in SERIES]
    return (names.index(compositor) if compositor in names else len(names), compositor, watched)


def panel(out, y0, mode, size, data, extra):
    """One chart at vertical offset y0."""
    px0, px1 = LEFT, WIDTH - RIGHT
    py0, py1 = y0 + TOP, y0 + PANEL_HEIGHT - BOTTOM
    clients = sorted({n for points in data.values() for n in points})
    values = [v for points in data.values() for v in points.values() if v > 0]
    if not values:
        return
    # The nearest 1-2-5 steps around the data, at least a factor of 10 apart.
    steps = [m * 10 ** e for e in range(-6, 7) for m in (1, 2, 5)]
    ylow = max(v for v in steps if v <= min(values) * 1.0001)
    yhigh = min(v for v in steps if v >= max(values) * 0.9999)
    if yhigh / ylow < 10:
        yhigh = min(v for v in steps if v >= ylow * 10 * 0.9999)
    xlow, xhigh = min(clients), max(clients)
    if xlow == xhigh:
        xlow, xhigh = xlow / 2, xhigh * 2
    lx0, lx1 = math.log(xlow), math.log(xhigh)
    pad = (lx1 - lx0) * 0.06

    def X(n):
        return px0 + (math.log(n) - lx0 + pad) / (lx1 - lx0 + 2 * pad) * (px1 - px0)

    ly0, ly1 = math.log10(ylow), math.log10(yhigh)
    ypad = (ly1 - ly0) * 0.04  # points on the end ticks stay off the frame

    def Y(v):
        return py1 - (math.log10(v) - ly0 + ypad) / (ly1 - ly0 + 2 * ypad) * (py1 - py0)

    title = f"Compositor CPU per frame callback at {size}" + ("" if mode == "windows" else f" ({mode})")
    out.append(f'<text x="{(px0 + px1) / 2:.1f}" y="{y0 + 30}" font-size="18" font-weight="bold" text-anchor="middle">{escape(title)}</text>')
    out.append(f'<text x="{(px0 + px1) / 2:.1f}" y="{y0 + 48}" font-size="12" fill="#555" text-anchor="middle">'
               f'{escape("median of runs; lower is better; dashed: a screencopy consumer watching")}</text>')
    out.append(f'<rect x="{px0}" y="{py0}" width="{px1 - px0}" height="{py1 - py0}" fill="#fafafa" stroke="#333"/>')
    # Grid and ticks.
    for v in log_ticks(ylow, yhigh):
        y = Y(v)
        major = abs(math.log10(v) - round(math.log10(v))) < 1e-9
        out.append(f'<line x1="{px0}" y1="{y:.1f}" x2="{px1}" y2="{y:.1f}" stroke="{"#bbb" if major else "#e3e3e3"}"/>')
        out.append(f'<text x="{px0 - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{tick_label(v)}</text>')
    for n in clients:
        x = X(n)
        out.append(f'<line x1="{x:.1f}" y1="{py0}" x2="{x:.1f}" y2="{py1}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x:.1f}" y="{py1 + 18}" font-size="12" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{(px0 + px1) / 2:.1f}" y="{py1 + 44}" font-size="14" text-anchor="middle">load clients (250x250 windows; log scale)</text>')
    cy = (py0 + py1) / 2
    out.append(f'<text x="{px0 - 62}" y="{cy:.1f}" font-size="14" text-anchor="middle" '
               f'transform="rotate(-90 {px0 - 62} {cy:.1f})">compositor CPU ms per frame callback (log scale)</text>')
    # Lines, then the legend.
    legend_y = py0 + 10
    for series in sorted(data, key=series_order):
        compositor, watched = series
        label, colour = style_of(compositor, extra)
        points = sorted(data[series].items())
        dash = ' stroke-dasharray="7 5"' if watched else ""
        path = " ".join(f"{X(n):.1f},{Y(v):.1f}" for n, v in points if v > 0)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.2"{dash}/>')
        for n, v in points:
            if v <= 0:
                continue
            fill = "#fff" if watched else colour
            name = label + (" watched" if watched else "")
            out.append(f'<circle cx="{X(n):.1f}" cy="{Y(v):.1f}" r="4" fill="{fill}" stroke="{colour}" stroke-width="1.8">'
                       f'<title>{escape(name)}, {n} clients: {v:.3f} ms</title></circle>')
        lx = px1 + 18
        out.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 34}" y2="{legend_y}" stroke="{colour}" stroke-width="2.2"{dash}/>')
        out.append(f'<circle cx="{lx + 17}" cy="{legend_y}" r="4" fill="{"#fff" if watched else colour}" stroke="{colour}" stroke-width="1.8"/>')
        out.append(f'<text x="{lx + 42}" y="{legend_y + 4}" font-size="13">{escape(label + (" watched" if watched else ""))}</text>')
        legend_y += 22
    if any(w for _, w in data) and ("weston", False) in data and ("weston", True) not in data:
        out.append(f'<text x="{px1 + 18}" y="{legend_y + 8}" font-size="11" fill="#555">weston: no wlr-screencopy, not watched</text>')


def draw(rows):
    panels = medians(rows)
    keys = sorted(panels, key=lambda k: (k[0] != "windows", k[0], int(k[1].split("x")[0])))
    height = PANEL_HEIGHT * max(1, len(keys))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>']
    extra = {}
    if not keys:
        out.append(f'<text x="{WIDTH / 2}" y="{PANEL_HEIGHT / 2}" font-size="16" text-anchor="middle">no results with a CPU figure</text>')
    for i, (mode, size) in enumerate(keys):
        panel(out, i * PANEL_HEIGHT, mode, size, panels[(mode, size)], extra)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 2
    svg = draw(load(argv[1]))
    with open(argv[2], "w") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
