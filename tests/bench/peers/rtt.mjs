// Round trips over one WebSocket to chatd's two-way routes, one at a time: each message waits
// for its reply. Prints one JSON line: per action the first reply's time (a cold start when the
// function had no instance) and the percentiles of the rest.
//   node rtt.mjs URL COUNT ACTION...   (actions take turns, so every one sees the same machine)
import WebSocket from 'ws';

const [url, count, ...actions] = process.argv.slice(2);
if (!/^wss?:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(url)) throw new Error('loopback only');
const ws = new WebSocket(url);
await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
const replies = [];
ws.on('message', (m) => replies.shift()?.(m.toString()));
const deadline = setTimeout(() => { console.error('rtt: no reply within 60 s'); process.exit(1); }, 60000);

async function roundTrip(action, i) {
  const t0 = process.hrtime.bigint();
  const reply = new Promise((resolve) => replies.push(resolve));
  ws.send(JSON.stringify({ action, i }));
  const text = await reply;
  if (text.includes('Internal server error')) throw new Error(`${action}: ${text}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const out = {};
const samples = Object.fromEntries(actions.map((a) => [a, []]));
for (const a of actions) out[a] = { first_ms: await roundTrip(a, 0) };
for (let i = 1; i <= Number(count); ++i) {
  for (const a of actions) samples[a].push(await roundTrip(a, i));
}
for (const a of actions) {
  const xs = samples[a].sort((x, y) => x - y);
  Object.assign(out[a], { n: xs.length, p50_ms: pct(xs, 0.5), p90_ms: pct(xs, 0.9), p99_ms: pct(xs, 0.99),
                          mean_ms: xs.reduce((s, x) => s + x, 0) / Math.max(xs.length, 1) });
}
clearTimeout(deadline);
ws.close();
console.log(JSON.stringify(out));
