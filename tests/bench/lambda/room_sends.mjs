// The load of swap_bench.py's warm measure: MEMBERS clients join one room, then the first sends
// COUNT messages one at a time, each waiting until its ack and every other member's copy are in.
// Prints one JSON line: the per-message latency (send -> last copy) percentiles.
//   node room_sends.mjs URL MEMBERS COUNT
import { createRequire } from 'node:module';

// ws from the end-to-end tests' packages (scripts/test.sh installs them).
const WebSocket = createRequire(new URL('../../e2e/package.json', import.meta.url))('ws');

const [url, membersArg, countArg] = process.argv.slice(2);
if (!/^wss?:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(url)) throw new Error('loopback only');
const members = Number(membersArg);
const count = Number(countArg);
const deadline = setTimeout(() => { console.error('room_sends: not done within 600 s'); process.exit(1); }, 600000);

function connect(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?name=m${i}`);
    ws.waiters = [];
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      const w = ws.waiters.findIndex((x) => x.match(f));
      if (w >= 0) ws.waiters.splice(w, 1)[0].resolve(f);
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const next = (ws, match) => new Promise((resolve) => ws.waiters.push({ match, resolve }));

const clients = [];
for (let i = 0; i < members; i++) clients.push(await connect(i));
const room = 'bench';
const created = next(clients[0], (f) => f.ref === 'create');
clients[0].send(JSON.stringify({ action: 'createRoom', roomId: room, ref: 'create' }));
await created;
for (const c of clients) {
  const joined = next(c, (f) => f.ref === 'join');
  c.send(JSON.stringify({ action: 'joinRoom', roomId: room, ref: 'join' }));
  await joined;
}
process.stderr.write('ready\n'); // the room is set up; the sends follow
const times = [];
for (let k = 0; k < count; k++) {
  const text = `message ${k}`;
  const t0 = process.hrtime.bigint();
  const all = [next(clients[0], (f) => f.ref === `s${k}`),
    ...clients.slice(1).map((c) => next(c, (f) => f.type === 'message' && f.message === text))];
  clients[0].send(JSON.stringify({ action: 'sendMessage', roomId: room, message: text, ref: `s${k}` }));
  const [ack] = await Promise.all(all);
  if (ack.type !== 'message') throw new Error(`not stored: ${JSON.stringify(ack)}`);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const xs = times.sort((a, b) => a - b);
const pct = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
clearTimeout(deadline);
for (const c of clients) c.close();
console.log(JSON.stringify({ n: xs.length, p50_ms: pct(0.5), p99_ms: pct(0.99) }));
