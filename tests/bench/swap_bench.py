#!/usr/bin/env python3
"""The swap onto Lambda, measured: chat-lambda (chatd's C++ chat app, the packaged zip of
deploy/template.yaml) against a Node.js function of the same behaviour on the AWS SDK v3
(lambda/node-chat), both run by chatd --template from the same template (the Node.js one differs
only in Runtime, Handler and CodeUri), in the same run, taking turns.

  cold   a fresh chatd per repetition: the first $connect starts the function; the handshake's
         time and the Init Duration chatd reports
  warm   one instance (--max-instances 1); a room of M members; the first sends COUNT messages
         one at a time (peers/room_sends.mjs). From chatd's REPORT lines of those sendMessage
         invocations: Duration (median, p90), Max Memory Used, and PostToConnection calls per
         second of Duration (M posts per message)

On Lambda, duration x memory is the bill: the goal is chat-lambda >= 3x faster per warm
invocation and <= 1/3 of the memory. Servers on CPU 0, clients on CPU 1; every address is
127.0.0.1.

  python3 tests/bench/swap_bench.py --chatd build/release/chatd \\
      --zip build/release/lambda/chat-lambda.zip [--rooms 10 100] [--messages 200] [--cold-reps 5] [--rounds 3]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lambda_bench import Proc, log, median

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "tests" / "bench" / "lambda"
NODE_CHAT = REPO / "tests" / "bench" / "lambda" / "node-chat"
REPORT = re.compile(r"\[ChatFunction\] REPORT RequestId: \S+\tDuration: ([\d.]+) ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: \d+ MB\tMax Memory Used: (\d+) MB\t(?:Init Duration: ([\d.]+) ms)?")


def templates(work, zip_path):
    """deploy/template.yaml beside the zip, and the same template running lambda/node-chat."""
    text = (REPO / "deploy" / "template.yaml").read_text()
    (work / "cpp" / "dist").mkdir(parents=True)
    shutil.copy(zip_path, work / "cpp" / "dist" / "chat-lambda.zip")
    (work / "cpp" / "template.yaml").write_text(text)
    node = text.replace("Runtime: provided.al2023", "Runtime: nodejs20.x") \
               .replace("CodeUri: dist/chat-lambda.zip", f"CodeUri: {NODE_CHAT}") \
               .replace("Handler: chat", "Handler: index.handler")
    assert node.count("nodejs20.x") == 1 and str(NODE_CHAT) in node
    (work / "node").mkdir()
    (work / "node" / "template.yaml").write_text(node)
    return {"chat-lambda (C++)": work / "cpp" / "template.yaml", "Node.js + SDK v3": work / "node" / "template.yaml"}


def start(chatd, template, log_path, extra=()):
    return Proc([str(chatd), "--template", str(template), "--port", "0", "--db", ":memory:", "--log-level", "info", *extra],
                r"listening on ws://127\.0\.0\.1:(\d+)/(\S+) ", log_path, timeout=60)


def client(script, *args, timeout=900):
    r = subprocess.run(["taskset", "-c", "1", "node", str(CLIENTS / script), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, cwd=CLIENTS)
    if r.returncode != 0:
        raise RuntimeError(f"{script} failed: {r.stderr.strip()[-400:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def reports(log_path):
    return [(float(d), int(m), float(i) if i else None) for d, m, i in REPORT.findall(Path(log_path).read_text())]


def cold(chatd, template, out, name):
    """One cold start: the handshake (its $connect starts the instance) and Init Duration."""
    srv = start(chatd, template, out / f"{name}.log")
    try:
        url = f"ws://127.0.0.1:{srv.match[1]}/{srv.match[2]}"
        r = client("handshake.mjs", url)
        time.sleep(0.2)
    finally:
        srv.stop()
    rs = reports(out / f"{name}.log")
    init = next((i for _, _, i in rs if i is not None), None)
    return dict(handshake_ms=r["open_ms"], init_ms=init, first_duration_ms=rs[0][0] if rs else None)


def function_cpu_ms(chatd_pid):
    """CPU time (user + system) of chatd's function instances so far: the processes under it
    running chat-lambda or chatd's Node.js runtime client."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in subprocess.run(["pgrep", "-s", str(chatd_pid)], capture_output=True, text=True).stdout.split():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"chat-lambda" in cmd or b"ric.mjs" in cmd:
            total += (int(stat[11]) + int(stat[12])) * 1000 / tick
    return total


def warm(chatd, template, out, name, members, count):
    srv = start(chatd, template, out / f"{name}.log", ["--max-instances", "1"])
    try:
        url = f"ws://127.0.0.1:{srv.match[1]}/{srv.match[2]}"
        before = None
        # The CPU the instance spends on the sends alone: sampled once the room is set up
        # (room_sends prints "ready" to stderr then) and at the end.
        proc = subprocess.Popen(["taskset", "-c", "1", "node", str(CLIENTS / "room_sends.mjs"), url, str(members), str(count)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=CLIENTS)
        for line in proc.stderr:
            if line.startswith("ready"):
                before = function_cpu_ms(srv.proc.pid)
                break
        stdout, stderr = proc.communicate(timeout=900)
        if proc.returncode != 0 or before is None:
            raise RuntimeError(f"room_sends.mjs failed: {stderr.strip()[-400:]}")
        cpu = function_cpu_ms(srv.proc.pid) - before
        lat = json.loads(stdout.strip().splitlines()[-1])
        time.sleep(0.3)
    finally:
        srv.stop()
    rs = reports(out / f"{name}.log")
    setup = members + 1 + members  # $connect each, createRoom, joinRoom each
    sends = rs[setup:setup + count]
    assert len(sends) == count, f"{len(sends)} sendMessage REPORT lines of {count}"
    durations = sorted(d for d, _, _ in sends)
    return dict(duration_p50_ms=median(durations), duration_p90_ms=durations[int(0.9 * len(durations))],
                function_cpu_ms_per_send=cpu / count,
                max_memory_mb=max(m for _, m, _ in rs), posts_per_s=members / (median(durations) / 1000),
                client_p50_ms=lat["p50_ms"], client_p99_ms=lat["p99_ms"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--zip", required=True)
    ap.add_argument("--rooms", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--cold-reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="warm rounds per room size, the two taking turns")
    ap.add_argument("--out", default=str(REPO / "build" / "bench-swap"))
    ap.add_argument("--smoke", action="store_true", help="a few of each, to check the harness works (ctest)")
    a = ap.parse_args()
    if a.smoke:
        a.rooms, a.messages, a.cold_reps, a.rounds = [3], 5, 1, 1
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="chatd-swap-bench-"))
    rows = []
    try:
        impls = templates(work, Path(a.zip))
        for k in range(a.cold_reps):
            for impl, template in (impls.items() if k % 2 == 0 else reversed(impls.items())):
                r = cold(a.chatd, template, out, "cold")
                log(f"  cold {impl:20} handshake {r['handshake_ms']:7.1f} ms, Init Duration {r['init_ms']} ms, "
                    f"first Duration {r['first_duration_ms']} ms")
                rows.append(dict(measure="cold", impl=impl, **r))
        for members in a.rooms:
            for k in range(a.rounds):
                for impl, template in (impls.items() if k % 2 == 0 else reversed(impls.items())):
                    r = warm(a.chatd, template, out, "warm", members, a.messages)
                    log(f"  warm {impl:20} room of {members:3}: Duration p50 {r['duration_p50_ms']:7.2f} ms "
                        f"p90 {r['duration_p90_ms']:7.2f}, own CPU {r['function_cpu_ms_per_send']:6.2f} ms/send, "
                        f"{r['posts_per_s']:8.0f} posts/s, Max Memory Used {r['max_memory_mb']} MB; "
                        f"client p50 {r['client_p50_ms']:.2f} ms")
                    rows.append(dict(measure="warm", impl=impl, members=members, round=k, **r))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    cpp, node = list(impls)
    print(f"\n| measure | {cpp} | {node} | ratio |\n|---|---|---|---|")
    for measure, key, label in [("cold", "handshake_ms", "cold start: handshake with the first $connect (median)"),
                                ("cold", "init_ms", "cold start: Init Duration (median)"),
                                ("cold", "first_duration_ms", "cold start: the first $connect's Duration (median)")]:
        c = median([r[key] for r in rows if r["measure"] == measure and r["impl"] == cpp])
        n = median([r[key] for r in rows if r["measure"] == measure and r["impl"] == node])
        print(f"| {label} | {c:.1f} ms | {n:.1f} ms | {n / c:.1f}x shorter |")
    for members in a.rooms:
        def med(impl, key):
            return median([r[key] for r in rows if r["measure"] == "warm" and r["impl"] == impl and r["members"] == members])
        c = {k: med(cpp, k) for k in ("duration_p50_ms", "function_cpu_ms_per_send", "posts_per_s", "max_memory_mb")}
        n = {k: med(node, k) for k in c}
        print(f"| warm sendMessage, room of {members}: Duration p50 (median of rounds) | {c['duration_p50_ms']:.2f} ms | "
              f"{n['duration_p50_ms']:.2f} ms | {n['duration_p50_ms'] / c['duration_p50_ms']:.1f}x faster |")
        print(f"| room of {members}: the function's own CPU per sendMessage | {c['function_cpu_ms_per_send']:.2f} ms | "
              f"{n['function_cpu_ms_per_send']:.2f} ms | {n['function_cpu_ms_per_send'] / c['function_cpu_ms_per_send']:.1f}x less |")
        print(f"| room of {members}: PostToConnection calls/s of Duration | {c['posts_per_s']:.0f} | {n['posts_per_s']:.0f} | "
              f"{c['posts_per_s'] / n['posts_per_s']:.1f}x |")
        print(f"| room of {members}: Max Memory Used | {c['max_memory_mb']:.0f} MB | {n['max_memory_mb']:.0f} MB | "
              f"{c['max_memory_mb'] / n['max_memory_mb']:.2f}x ({n['max_memory_mb'] / c['max_memory_mb']:.1f}x less) |")
        for impl in (cpp, node):
            per = [f"{r['duration_p50_ms']:.2f}" for r in rows if r["measure"] == "warm" and r["impl"] == impl and r["members"] == members]
            print(f"|   rounds, {impl}, room of {members}: Duration p50 | {', '.join(per)} ms | | |")

if __name__ == "__main__":
    main()
