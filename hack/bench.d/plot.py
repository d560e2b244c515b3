#!/usr/bin/env python3
"""hack/bench.d/plot.py: one PNG of the failover-time distributions a bench recorded.

    plot.py SAMPLES.tsv OUT.png [--metric ID]...   draw the plot (every metric unless --metric)
    plot.py --check                                exit 0 if matplotlib is there, else 3

Written by hack/bench.d/l2 and hack/bench.d/bgp-failover with --plot FILE.png (the samples go
to FILE.tsv beside it). The samples file is UTF-8 text, tab-separated:

    # bench: l2                                  header lines: "# KEY: VALUE"
    # title: Layer 2 failover, ours against keepalived
    # date: 2024-05-01                           (UTC, when the bench started)
    # runs: 20                                   runs asked for per system and group
    # per: trigger                               what a group is, for the title ("20 runs per
                                                 system and trigger")
    # host: ...        # commit: ...             (optional, shown small under the title)
    # note: ...                                  (optional, shown at the bottom)
    # label ID: TEXT                             display text of a system, group or metric ID
    system<TAB>group<TAB>metric<TAB>run<TAB>value_ms
    ours<TAB>death<TAB>arp<TAB>1<TAB>212.4       one line per run and metric; "nan" = not measured

The column-header line is optional; groups and systems are drawn in the order they first
appear (ours first).

The plot: one panel per metric (rows) and group (columns: triggers or modes), in each the
systems side by side: every run a dot, p50 a solid line and p99 a dashed one, with their
values (nearest rank, as the benches' tables compute them). 1000x600 px.

Exit status: 0 written; 2 bad arguments or no samples; 3 matplotlib is missing (Debian:
python3-matplotlib, which hack/setup installs).
"""
import math
import os
import random
import sys
import textwrap

DEBIAN_PYTHON = "/usr/bin/python3"


def import_matplotlib():
    """Returns pyplot, or exits 3. Another python3 may come first in PATH (pyenv): when it lacks
    matplotlib, retry once with Debian's, which is where hack/setup installs it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError as e:
        err = e
    if (os.path.exists(DEBIAN_PYTHON) and not os.environ.get("SWIFT_METALLB_PLOT_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)):
        os.environ["SWIFT_METALLB_PLOT_REEXEC"] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])
    print(f"plot.py: matplotlib is missing ({err}; python {sys.executable}): no plot. "
          "Install it with hack/setup (Debian package python3-matplotlib).", file=sys.stderr)
    sys.exit(3)


def percentile(xs, q):
    """Nearest rank, as the benches' tables: xs sorted, not empty."""
    return xs[min(len(xs) - 1, max(0, math.ceil(len(xs) * q) - 1))]


def read_samples(path):
    meta, labels, rows = {}, {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                key, sep, value = line[1:].strip().partition(":")
                if not sep:
                    continue
                key, value = key.strip(), value.strip()
                if key.startswith("label "):
                    labels[key[len("label "):].strip()] = value
                else:
                    meta[key] = value
                continue
            cols = line.split("\t")
            if cols[:3] == ["system", "group", "metric"]:
                continue  # the column header
            if len(cols) != 5:
                sys.exit(f"plot.py: {path}:{n}: expected 5 tab-separated columns, got {len(cols)}")
            try:
                value = float(cols[4])
            except ValueError:
                sys.exit(f"plot.py: {path}:{n}: value_ms '{cols[4]}' is not a number")
            rows.append((cols[0], cols[1], cols[2], value))
    return meta, labels, rows


def ordered(xs):
    return list(dict.fromkeys(xs))


def main(argv):
    if argv == ["--check"]:
        import_matplotlib()
        return 0
    metrics_wanted, args = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--metric" and i + 1 < len(argv):
            metrics_wanted.append(argv[i + 1]); i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__); return 0
        else:
            args.append(argv[i]); i += 1
    if len(args) != 2:
        print("usage: plot.py SAMPLES.tsv OUT.png [--metric ID]... | plot.py --check", file=sys.stderr)
        return 2
    src, out = args
    plt = import_matplotlib()
    from matplotlib.lines import Line2D

    meta, labels, rows = read_samples(src)
    if metrics_wanted:
        rows = [r for r in rows if r[2] in metrics_wanted]
    if not rows:
        print(f"plot.py: no samples in {src}" + (f" for {', '.join(metrics_wanted)}" if metrics_wanted else ""),
              file=sys.stderr)
        return 2
    systems = ordered(r[0] for r in rows)
    if "ours" in systems:  # ours first, then the peers
        systems.remove("ours"); systems.insert(0, "ours")
    groups = ordered(r[1] for r in rows)
    metrics = metrics_wanted or ordered(r[2] for r in rows)
    metrics = [m for m in metrics if any(r[2] == m for r in rows)]
    label = lambda k: labels.get(k, k)

    # Ours in blue, the peers in warm colours: the comparison reads at a glance.
    peer_colors = ["#e6550d", "#a63603", "#fd8d3c", "#7f2704", "#d94801"]
    color = {s: "#1f5fbf" if s == "ours" else peer_colors[(systems.index(s) - ("ours" in systems)) % len(peer_colors)]
             for s in systems}

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8})
    fig, axes = plt.subplots(len(metrics), len(groups), figsize=(10, 6), dpi=100, squeeze=False)
    rng = random.Random(42)  # the same jitter every time: a re-plot gives the same file
    for mi, metric in enumerate(metrics):
        for gi, group in enumerate(groups):
            ax = axes[mi][gi]
            ticks, ymax = [], 0.0
            marks = []  # (x, p50, p99, color) for the value labels, placed once the y range is known
            for si, system in enumerate(systems):
                vals = [r[3] for r in rows if r[0] == system and r[1] == group and r[2] == metric]
                good = sorted(v for v in vals if not math.isnan(v))
                nan = len(vals) - len(good)
                name = "\n".join(textwrap.wrap(label(system), 16)) or system
                ticks.append(f"{name}\nn={len(good)}" + (f" (+{nan} n/a)" if nan else "") if vals else f"{name}\nnot run")
                if not good:
                    continue
                c = color[system]
                xs = [si + rng.uniform(-0.17, 0.17) for _ in good]
                ax.scatter(xs, good, s=16, color=c, alpha=0.75, edgecolors="#222222", linewidths=0.4, zorder=5)
                p50, p99 = percentile(good, 0.5), percentile(good, 0.99)
                ax.hlines(p50, si - 0.3, si + 0.3, colors=c, linewidth=2.2, zorder=4)
                ax.hlines(p99, si - 0.3, si + 0.3, colors=c, linewidth=1.4, linestyles=(0, (4, 2)), zorder=4)
                marks.append((si, p50, p99, c))
                ymax = max(ymax, good[-1])
            ax.set_xticks(range(len(systems)))
            ax.set_xticklabels(ticks)
            ax.set_xlim(-0.6, len(systems) - 0.4 + 0.35)
            ax.set_ylim(0, ymax * 1.1 if ymax > 0 else 1)
            ax.grid(axis="y", color="#dddddd", linewidth=0.6, zorder=0)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            if gi == 0 or len(metrics) == 1:
                ax.set_ylabel(f"{label(metric)} (ms)")
            ax.set_title(label(group) if len(metrics) == 1 else f"{label(group)}: {label(metric)}")
            # The values beside the lines; p99 nudged up, p50 down, when they would overlap.
            lo, hi = ax.get_ylim()
            gap = (hi - lo) * 0.06
            for x, p50, p99, c in marks:
                y50, y99 = p50, p99
                if y99 - y50 < gap:
                    mid = (y50 + y99) / 2
                    y50, y99 = mid - gap / 2, mid + gap / 2
                kw = dict(fontsize=7, color=c, va="center", ha="left", zorder=5)
                ax.text(x + 0.32, y50, f"p50 {p50:.0f}", fontweight="bold", **kw)
                ax.text(x + 0.32, y99, f"p99 {p99:.0f}", **kw)

    title = meta.get("title", meta.get("bench", "bench"))
    when = meta.get("date", "")
    runs = meta.get("runs", "")
    head = f"{title}" + (f", {when}" if when else "") + (f", {runs} runs per system and {meta.get('per', 'group')}" if runs else "")
    fig.suptitle(head, fontsize=11, fontweight="bold", y=0.985)
    sub = "  ·  ".join(x for x in (f"hack/bench {meta['bench']}" if "bench" in meta else "",
                                   meta.get("host", ""), f"commit {meta['commit']}" if meta.get("commit") else "") if x)
    if sub:
        fig.text(0.5, 0.94, sub, ha="center", fontsize=7.5, color="#555555")
    legend = [Line2D([], [], marker="o", linestyle="none", color="#777777", alpha=0.6, markersize=4, label="one run"),
              Line2D([], [], color="#777777", linewidth=2.2, label="p50"),
              Line2D([], [], color="#777777", linewidth=1.4, linestyle=(0, (4, 2)), label="p99")]
    fig.legend(handles=legend, loc="lower right", ncol=3, fontsize=7.5, frameon=False, bbox_to_anchor=(0.99, 0.0))
    if meta.get("note"):
        fig.text(0.01, 0.012, "\n".join(textwrap.wrap(meta["note"], 130)), fontsize=7, color="#555555", va="bottom")
    fig.tight_layout(pad=0.6, h_pad=1.2, w_pad=1.0, rect=(0, 0.05 if meta.get("note") else 0.035, 1, 0.955))
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"plot.py: wrote {out} ({os.path.getsize(out) // 1024} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
