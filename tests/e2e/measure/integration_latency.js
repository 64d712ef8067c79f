// Informal measurement (not a test): round trips through an HTTP integration. One client
// sends N frames one after another to a two-way route served by a Node HTTP handler on
// loopback; prints the round-trip percentiles, then the same with C clients at once.
// Usage: node tests/e2e/measure/integration_latency.js [N] [C]
import { performance } from 'node:perf_hooks';
import { startChatd, Client, tempDir } from '../lib.js';
import { startHandler, routesFile } from '../handlers.js';

const n = Number(process.argv[2] || 2000);
const c = Number(process.argv[3] || 20);
const tmp = tempDir();
const h = await startHandler((ev) => ({ result: { statusCode: 200, body: ev.body } }));
const file = routesFile(tmp.dir, { routes: { $default: { integration: h.url(), twoWay: true } } });
const chatd = await startChatd({ args: ['--routes', file] });
const pct = (lat, p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(3);
try {
  const one = await Client.connect(chatd.url);
  const lat = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    one.send(`m${i}`);
    await one.nextRaw((t) => t === `m${i}`);
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  console.log(`1 client, ${n} sequential round trips: p50 ${pct(lat, 0.5)} ms, p99 ${pct(lat, 0.99)} ms`);
  const many = await Promise.all(Array.from({ length: c }, () => Client.connect(chatd.url)));
  const t0 = performance.now();
  await Promise.all(many.map(async (cl, k) => {
    for (let i = 0; i < n / c; i++) { cl.send(`${k}-${i}`); await cl.nextRaw((t) => t === `${k}-${i}`); }
  }));
  const secs = (performance.now() - t0) / 1000;
  console.log(`${c} clients, ${n} round trips in total: ${(n / secs).toFixed(0)} round trips/s; the handler saw ${h.events.length} events`);
  await Promise.all([one, ...many].map((x) => x.close()));
} finally {
  await chatd.stop();
  await h.close();
  tmp.cleanup();
}
