#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run ringpub-bench scenarios against ringpub-server and redis-server, side by side.

Each server runs pinned to one core and the generator to the other. Runs
alternate between the servers (A B A B ...), with a fresh server per run, and
the script prints the medians and the ringpub/redis ratios as a Markdown table.
It also writes the JSON lines, a Markdown table and an SVG chart into --out.
Both servers listen on 127.0.0.1 only.

  bench/side-by-side.py --ringpub build/server/ringpub-server \\
      --bench build/bench/rpbench/ringpub-bench --out docs/bench
  bench/side-by-side.py --smoke ...   one short run of each scenario against ringpub only
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# (id, scenario, extra bench arguments, headline metric, what the metric means)
#
# The closed-loop runs set -w (publishes in flight per publisher) and -P so
# that the server, not the round trip, limits them. With ringpub-bench's
# default window of 64 and one publisher, each server turn handled a few
# dozen publishes, neither process used a full core, and the result measured
# wake-up latency. The sizes below come from sweeps on a 2-core KVM guest
# (docs/BENCHMARKS.md), picking the smallest setting at which redis-server
# used 0.9 cores or more:
#   fanout-10 uses 2 publishers x 1024, because one publisher did not keep
#   ringpub busy. fanout-100 and fanout-1000 use one publisher with 1024 in
#   flight. manychannels and patterns use 4 x 1024, because each
#   publish reaches one subscriber and a server turn must cover many
#   publishes before a subscriber gets more than one frame per send.
# ringpub-bench also caps deliveries in flight at window x receivers per
# publish, so a large window cannot grow the server's queues up to the output
# buffer limit. fanin and slow are paced (open loop) and keep their settings.
DEFAULT_RUNS = [
    ("fanout-10", "fanout", ["-s", "10", "-P", "2", "-w", "1024"], "delivered_per_s", "deliveries/s"),
    ("fanout-100", "fanout", ["-s", "100", "-w", "1024"], "delivered_per_s", "deliveries/s"),
    ("fanout-1000", "fanout", ["-s", "1000", "-w", "1024"], "delivered_per_s", "deliveries/s"),
    ("manychannels-10k", "manychannels", ["-c", "10000", "-s", "100", "-P", "4", "-w", "1024"], "delivered_per_s",
     "deliveries/s"),
    ("patterns-1000-distinct", "patterns", ["-s", "100", "-k", "10", "-P", "4", "-w", "1024"], "publishes_per_s",
     "publishes/s"),
    ("patterns-1000-shared", "patterns-shared", ["-s", "10", "-k", "1000", "-w", "1024"], "publishes_per_s",
     "publishes/s"),
    ("fanin-50x10-100k", "fanin", ["-P", "50", "-s", "10", "-c", "10", "-r", "100000"], "p99_us", "p99 latency us"),
    ("connections-10k", "connections", ["-s", "10000"], "mem_per_conn", "bytes/connection"),
    ("slow-1-of-10", "slow", ["-s", "10", "-r", "20000"], "p99_us", "p99 latency us (fast subscribers)"),
]

LOWER_IS_BETTER = {"p99_us", "mem_per_conn"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def pinned(cpu, cmd):
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)] + cmd
    return cmd


def wait_ping(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


class ServerRun:
    """One fresh server process for one run."""

    def __init__(self, kind, binary, cpu, workdir):
        self.port = free_port()
        common = ["--bind", "127.0.0.1", "--port", str(self.port), "--maxclients", "11000"]
        if kind == "redis":
            cmd = [binary] + common + ["--save", "", "--appendonly", "no", "--dir", workdir]
        else:
            cmd = [binary] + common
        self.log = open(os.path.join(workdir, f"{kind}-{self.port}.log"), "wb")
        self.proc = subprocess.Popen(pinned(cpu, cmd), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=raise_nofile, cwd=workdir)
        if not wait_ping(self.port):
            self.stop()
            with open(self.log.name, "rb") as f:
                tail = f.read()[-2000:].decode("utf-8", "replace")
            raise RuntimeError(f"{kind} did not start on port {self.port}; its log ends with:\n{tail}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def headline(result, metric):
    if metric == "p99_us":
        return result["latency_ns"]["p99"] / 1000.0
    return result[metric]


def run_one(args, kind, binary, run, json_path, workdir):
    run_id, scenario, extra, metric, _ = run
    server = ServerRun(kind, binary, args.server_cpu, workdir)
    try:
        cmd = [args.bench, "--scenario", scenario, "--port", str(server.port), "--label", kind,
               "--duration", str(args.duration), "--payload", str(args.payload),
               "--server-pid", str(server.proc.pid), "--json", json_path] + extra
        out = subprocess.run(pinned(args.bench_cpu, cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=args.duration + 120, preexec_fn=raise_nofile)
        text = out.stdout.decode("utf-8", "replace")
        if args.verbose or out.returncode != 0:
            sys.stdout.write(text)
        if out.returncode != 0:
            raise RuntimeError(f"ringpub-bench failed on {kind} for {run_id} (exit {out.returncode})")
    finally:
        server.stop()
    with open(json_path) as f:
        last = json.loads(f.read().splitlines()[-1])
    last["run_id"] = run_id
    return last


def svg_chart(results, runs, path):
    """Latency percentile curves (fanin) and throughput ratio bars, hand-written SVG."""
    width, height = 900, 420
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>']
    colors = {"ringpub": "#d9480f", "redis": "#1c7ed6"}

    # Left: p50..max of the fanin run, log scale, one curve per server.
    labels = ["p50", "p90", "p99", "p999", "max"]
    x0, y0, w, h = 60, 40, 340, 300
    parts.append(f'<text x="{x0}" y="25" font-weight="bold">fanin latency (median run), microseconds, log scale</text>')
    fanin = {k: v for k, v in results.items() if k[0].startswith("fanin")}
    values = [r["latency_ns"][p] / 1000.0 for rs in fanin.values() for r in rs for p in labels if r["latency_ns"][p] > 0]
    if values:
        import math
        lo, hi = math.log10(max(min(values), 0.1)), math.log10(max(values) * 1.2)
        hi = hi if hi > lo else lo + 1
        parts.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="black"/>')
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="black"/>')
        for i, p in enumerate(labels):
            x = x0 + 20 + i * (w - 40) / (len(labels) - 1)
            parts.append(f'<text x="{x - 12}" y="{y0 + h + 16}">{p}</text>')
        for decade in range(int(math.floor(lo)), int(math.ceil(hi)) + 1):
            y = y0 + h - (decade - lo) / (hi - lo) * h
            if y0 <= y <= y0 + h:
                parts.append(f'<text x="{x0 - 45}" y="{y + 4}">{10 ** decade:g}</text>')
                parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + w}" y2="{y}" stroke="#ddd"/>')
        for (run_id, kind), rs in sorted(fanin.items()):
            med = sorted(rs, key=lambda r: r["latency_ns"]["p99"])[len(rs) // 2]
            pts = []
            for i, p in enumerate(labels):
                v = max(med["latency_ns"][p] / 1000.0, 0.1)
                x = x0 + 20 + i * (w - 40) / (len(labels) - 1)
                y = y0 + h - (math.log10(v) - lo) / (hi - lo) * h
                pts.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<polyline fill="none" stroke="{colors.get(kind, "gray")}" stroke-width="2" '
                         f'points="{" ".join(pts)}"/>')
        for i, kind in enumerate(["ringpub", "redis"]):
            parts.append(f'<rect x="{x0 + 20 + i * 90}" y="{y0 + 5}" width="12" height="12" fill="{colors[kind]}"/>')
            parts.append(f'<text x="{x0 + 36 + i * 90}" y="{y0 + 16}">{kind}</text>')

    # Right: ringpub/redis ratio per run, where higher is better for ringpub.
    bx0, by0, bw, bh = 480, 40, 380, 300
    parts.append(f'<text x="{bx0}" y="25" font-weight="bold">ringpub advantage (x times redis-server, median)</text>')
    ratios = []
    for run in runs:
        rid, metric = run[0], run[3]
        a, b = results.get((rid, "ringpub")), results.get((rid, "redis"))
        if not a or not b:
            continue
        ma = statistics.median(headline(r, metric) for r in a)
        mb = statistics.median(headline(r, metric) for r in b)
        if ma > 0 and mb > 0:
            ratios.append((rid, mb / ma if metric in LOWER_IS_BETTER else ma / mb))
    if ratios:
        top = max(max(r for _, r in ratios), 1.0) * 1.1
        row = bh / len(ratios)
        one = bx0 + 150 + (bw - 150) * 1.0 / top
        for i, (rid, r) in enumerate(ratios):
            y = by0 + i * row
            bar = (bw - 150) * r / top
            parts.append(f'<text x="{bx0}" y="{y + row / 2 + 4}">{rid}</text>')
            parts.append(f'<rect x="{bx0 + 150}" y="{y + 3}" width="{bar:.1f}" height="{row - 6:.1f}" '
                         f'fill="{colors["ringpub"] if r >= 1 else "#868e96"}"/>')
            parts.append(f'<text x="{bx0 + 155 + bar:.1f}" y="{y + row / 2 + 4}">{r:.2f}x</text>')
        parts.append(f'<line x1="{one:.1f}" y1="{by0}" x2="{one:.1f}" y2="{by0 + bh}" stroke="black" '
                     f'stroke-dasharray="4 3"/>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringpub", required=True, help="ringpub-server binary")
    ap.add_argument("--redis", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--bench", required=True, help="ringpub-bench binary")
    ap.add_argument("--reps", type=int, default=3, help="runs per server and scenario (default 3)")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds of publishing per run (default 2)")
    ap.add_argument("--payload", type=int, default=64, help="payload bytes (default 64)")
    ap.add_argument("--only", help="comma-separated run ids to keep")
    ap.add_argument("--out", help="directory for results.jsonl, results.md and chart.svg")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--bench-cpu", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="one short run of each scenario against ringpub only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    # Servers run in a scratch directory, so relative paths would break.
    args.ringpub, args.redis, args.bench = (os.path.abspath(p) for p in (args.ringpub, args.redis, args.bench))

    runs = DEFAULT_RUNS
    if args.only:
        keep = set(args.only.split(","))
        runs = [r for r in runs if r[0] in keep]
    servers = [("ringpub", args.ringpub)] if args.smoke else [("ringpub", args.ringpub), ("redis", args.redis)]
    if args.smoke:
        args.reps = 1
        # Small sizes so the smoke run checks every scenario end to end in seconds.
        runs = [(rid, sc, [a if a not in ("10000", "1000") else "200" for a in extra], m, d)
                for rid, sc, extra, m, d in runs]

    workdir = tempfile.mkdtemp(prefix="rp-bench-")
    json_path = os.path.join(args.out or workdir, "results.jsonl")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        if os.path.exists(json_path):
            os.unlink(json_path)

    results = {}
    failures = 0
    started = time.monotonic()
    for run in runs:
        for rep in range(args.reps):
            # Alternate which server goes first, so drift in the machine's state hits both.
            order = servers if rep % 2 == 0 else list(reversed(servers))
            for kind, binary in order:
                try:
                    r = run_one(args, kind, binary, run, json_path, workdir)
                    results.setdefault((run[0], kind), []).append(r)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print(f"FAILED {run[0]} on {kind}: {e}", file=sys.stderr)
                    failures += 1

    lines = ["| run | metric | ringpub | redis-server | ratio |", "|---|---|---:|---:|---:|"]
    for run in runs:
        rid, _, _, metric, desc = run
        a = [headline(r, metric) for r in results.get((rid, "ringpub"), [])]
        b = [headline(r, metric) for r in results.get((rid, "redis"), [])]
        ma = statistics.median(a) if a else float("nan")
        mb = statistics.median(b) if b else float("nan")
        ratio = ""
        if a and b and ma > 0 and mb > 0:
            ratio = f"{(mb / ma if metric in LOWER_IS_BETTER else ma / mb):.2f}x"
        lines.append(f"| {rid} | {desc} | {ma:,.1f} | {mb:,.1f} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    print(f"({len(runs)} scenarios x {len(servers)} servers x {args.reps} runs in "
          f"{time.monotonic() - started:.0f} s; ratio: how many times better ringpub is, medians)")
    if args.out:
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(table + "\n")
        svg_chart(results, runs, os.path.join(args.out, "chart.svg"))
    shutil.rmtree(workdir, ignore_errors=True)
    if args.smoke:
        print(f"{sum(len(v) for v in results.values())} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
