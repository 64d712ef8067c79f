"""Template mode's benchmarks (bench.py --workloads L): what running functions for real costs.

  L1  warm overhead: the same trivial handler (lambda/node/app.mjs) behind a Lambda route and
      behind an HTTP route of one chatd, round trips taking turns on one connection
  L2  cold start per runtime: the first round trip to a function with no instance (Node.js,
      Python, an sh+curl bootstrap), and the Init Duration chatd reports for it
  L3  the AWS tutorial's app (peers/sls/handler.mjs, DynamoDB and @connections) broadcasting to
      100 clients under chatd --template and under serverless-offline: that one is a load point
      of bench.py's matrix (peers chatd-lambda and sls), this file only reports it

Servers are pinned to CPU 0, the clients to CPU 1; every address is 127.0.0.1."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAMBDA_DIR = REPO / "tests" / "bench" / "lambda"
PEERS_DIR = REPO / "tests" / "bench" / "peers"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class Proc:
    """A process on CPU 0 whose first stdout line matching `ready` gives what it is waiting for."""

    def __init__(self, argv, ready, log_path, env=None, timeout=30):
        self.log = open(log_path, "w")
        # stdin stays open while it runs: runtimes/dynamodb/server.mjs ends when it closes.
        self.proc = subprocess.Popen(["taskset", "-c", "0", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, start_new_session=True, env=env)
        deadline = time.time() + timeout
        self.match = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(ready, line)
            if m:
                self.match = m
                break
        if not self.match:
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start: {Path(log_path).read_text()[-300:]}")

    def stop(self):
        stop_group(self.proc)
        self.log.close()


def stop_group(proc, grace=15):
    """SIGTERM to the process group `proc` leads, SIGKILL if it is not gone within `grace` s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_chatd(chatd, out, name, extra=(), log_level="warn"):
    return Proc([str(chatd), "--template", str(LAMBDA_DIR / "template.yaml"), "--port", "0", "--db", ":memory:",
                 "--log-level", log_level, *extra],
                r"listening on ws://127\.0\.0\.1:(\d+)/(\S+) ", out / f"{name}.log")


def rtt(url, count, actions):
    r = subprocess.run(["taskset", "-c", "1", "node", str(PEERS_DIR / "rtt.mjs"), url, str(count), *actions],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"rtt.mjs failed: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def warm_overhead(chatd, out, rounds, count):
    """L1: per round a fresh chatd and HTTP handler; `count` round trips per route, the two routes
    taking turns, after the first (cold) one of each."""
    rows = []
    for k in range(rounds):
        echo = Proc(["node", str(LAMBDA_DIR / "http-echo.mjs"), "0"], r"listening (\d+)", out / "http-echo.log")
        try:
            srv = start_chatd(chatd, out, "chatd-L1", ["--parameter-overrides",
                                                       f"EchoUrl=http://127.0.0.1:{echo.match[1]}/"])
            try:
                url = f"ws://127.0.0.1:{srv.match[1]}/{srv.match[2]}"
                # The routes alternate in one client, so a slow moment of the VM falls on both.
                order = ["lambda", "http"] if k % 2 == 0 else ["http", "lambda"]
                r = rtt(url, count, order)
            finally:
                srv.stop()
        finally:
            echo.stop()
        row = dict(workload="L1-warm", peer="chatd", round=k, ok=True, count=count,
                   **{f"{a}_{m}": r[a][m] for a in ("lambda", "http") for m in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")})
        log(f"  L1 round {k + 1}: lambda p50 {row['lambda_p50_ms']:.3f} p99 {row['lambda_p99_ms']:.3f} ms; "
            f"http p50 {row['http_p50_ms']:.3f} p99 {row['http_p99_ms']:.3f} ms")
        rows.append(row)
    return rows


REPORT = re.compile(r"\[(\w+)\] REPORT RequestId: \S+\tDuration: ([\d.]+) ms.*?Init Duration: ([\d.]+) ms")


def cold_starts(chatd, out, reps, count=50):
    """L2: per repetition a fresh chatd whose functions have no instance yet; each runtime's route
    is called once (cold), then `count` more times warm."""
    functions = {"lambda": ("NodeEcho", "nodejs20.x"), "python": ("PythonEcho", "python3.11"),
                 "provided": ("ProvidedEcho", "provided.al2023 (sh + curl)")}
    rows = []
    for k in range(reps):
        srv = start_chatd(chatd, out, "chatd-L2", log_level="info")
        try:
            url = f"ws://127.0.0.1:{srv.match[1]}/{srv.match[2]}"
            # One runtime after the other, so that warm round trips of one do not share the CPU
            # with the other's (an sh+curl bootstrap forks three processes per call).
            r = {}
            for action in functions:
                r.update(rtt(url, count, [action]))
        finally:
            srv.stop()
        init = {m[1]: float(m[3]) for m in REPORT.finditer((out / "chatd-L2.log").read_text())}
        for action, (fn, runtime) in functions.items():
            row = dict(workload="L2-cold", peer="chatd", round=k, ok=fn in init, runtime=runtime,
                       cold_ms=r[action]["first_ms"], warm_p50_ms=r[action]["p50_ms"], init_ms=init.get(fn, -1))
            rows.append(row)
            log(f"  L2 {runtime:28} cold {row['cold_ms']:8.1f} ms (Init Duration {row['init_ms']:.1f} ms), "
                f"warm p50 {row['warm_p50_ms']:.3f} ms")
    return rows


def report_lines(rows):
    lines = []
    l1 = [r for r in rows if r.get("workload") == "L1-warm" and r.get("ok")]
    if l1:
        lines += ["", f"L1 warm round trip over one connection, the same trivial Node.js handler behind each route "
                      f"({len(l1)} rounds of {l1[0]['count']} per route, taking turns; medians of the rounds):", "",
                  "| route | p50 ms | p90 ms | p99 ms | mean ms |", "|---|---|---|---|---|"]
        for a, name in (("http", "HTTP integration (node http server)"), ("lambda", "Lambda function (Runtime API)")):
            lines.append(f"| {name} | " + " | ".join(f"{median([r[f'{a}_{m}'] for r in l1]):.3f}"
                                                     for m in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")) + " |")
        added = [r["lambda_p50_ms"] - r["http_p50_ms"] for r in l1]
        added99 = [r["lambda_p99_ms"] - r["http_p99_ms"] for r in l1]
        lines.append(f"| Lambda minus HTTP | {median(added):+.3f} (range {min(added):+.3f} to {max(added):+.3f}) | | "
                     f"{median(added99):+.3f} ({min(added99):+.3f} to {max(added99):+.3f}) | "
                     f"{median([r['lambda_p50_ms'] / r['http_p50_ms'] for r in l1]):.2f}× at p50 |")
    l2 = [r for r in rows if r.get("workload") == "L2-cold"]
    if l2:
        lines += ["", f"L2 cold start: the first round trip to a function with no instance, a fresh chatd each time "
                      f"({max(r['round'] for r in l2) + 1} times; medians, range):", "",
                  "| runtime | first round trip ms | Init Duration ms (chatd's REPORT) | warm p50 ms | cold / warm |",
                  "|---|---|---|---|---|"]
        for runtime in dict.fromkeys(r["runtime"] for r in l2):
            rs = [r for r in l2 if r["runtime"] == runtime and r["ok"]]
            if not rs:
                lines.append(f"| {runtime} | failed | | | |")
                continue
            cold = [r["cold_ms"] for r in rs]
            init = [r["init_ms"] for r in rs]
            warm = median([r["warm_p50_ms"] for r in rs])
            lines.append(f"| {runtime} | {median(cold):.1f} ({min(cold):.1f}–{max(cold):.1f}) | "
                         f"{median(init):.1f} ({min(init):.1f}–{max(init):.1f}) | {warm:.3f} | {median(cold) / warm:.0f}× |")
    l3 = [r for r in rows if r.get("workload") == "L3-tutorial-100" and "round" not in r and "delivered_per_s" in r]
    if l3:
        lines += ["", "L3 the AWS tutorial's functions (DynamoDB scan, a post per connection) broadcasting to 100 "
                      "clients; server CPU is the whole process tree (chatd with its function instances and dynalite; "
                      "serverless-offline with its dynalite):", "",
                  "| peer | offered msgs/s | delivered/s | deliveries per server-CPU-s | p50 / p99 ms | lost | duplicates |",
                  "|---|---|---|---|---|---|---|"]
        for r in sorted(l3, key=lambda r: (r["offered_msgs_per_s"], r["peer"])):
            lines.append(f"| {r['peer']} | {r['offered_msgs_per_s']:.0f} | {r['delivered_per_s']:.0f} | "
                         f"{r['deliveries_per_server_cpu_s']:.0f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
                         f"{r['lost']} | {r['duplicates']} |")
    l3r = {}
    for r in rows:
        if r.get("workload") == "L3-tutorial-100" and "round" in r and r.get("ok") and r.get("deliveries_per_server_cpu_s"):
            l3r.setdefault(r["offered_msgs_per_s"], {}).setdefault(r["round"], {})[r["peer"]] = r
    paired = []
    for rate, by_round in sorted(l3r.items()):
        pairs = [(v["chatd-lambda"], v["sls"]) for v in by_round.values() if "chatd-lambda" in v and "sls" in v]
        if not pairs:
            continue
        ratio = [a["deliveries_per_server_cpu_s"] / b["deliveries_per_server_cpu_s"] for a, b in pairs]
        paired.append(f"| {rate:.0f} | {len(pairs)} | {median(ratio):.2f}× ({min(ratio):.2f}–{max(ratio):.2f}) | "
                      f"{median([a['p99_ms'] for a, _ in pairs]):.1f} vs {median([b['p99_ms'] for _, b in pairs]):.1f} |")
    if paired:
        lines += ["", "L3 in interleaved rounds (both servers each round, taking turns to go first; points that lost "
                      "a message are left out):", "",
                  "| offered msgs/s | rounds | chatd / serverless-offline, deliveries per server-CPU-s: median (range) "
                  "| p99 ms, chatd vs serverless-offline (medians) |", "|---|---|---|---|"] + paired
    return lines
