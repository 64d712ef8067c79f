// Informal measurement (not a test): start chatd on a SQLite file, have one client send N
// room messages one after another (each waits for its stored acknowledgement), and have a
// second client join the room and receive every one. Prints ack latency percentiles.
// Usage: node tests/e2e/measure/ack_latency.js [N]   (loopback only; bounded by N)
import { performance } from 'node:perf_hooks';
import { startChatd, Client, tempDir } from '../lib.js';

const n = Number(process.argv[2] || 2000);
const tmp = tempDir();
const chatd = await startChatd({ db: `${tmp.dir}/measure.db` });
try {
  const sender = await Client.connect(`${chatd.url}?name=sender`);
  const reader = await Client.connect(`${chatd.url}?name=reader`);
  await sender.request({ action: 'createRoom', roomId: 'm' });
  await sender.request({ action: 'joinRoom', roomId: 'm' });
  await reader.request({ action: 'joinRoom', roomId: 'm' });
  const lat = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const ack = await sender.request({ action: 'sendMessage', roomId: 'm', message: `msg ${i}` });
    lat.push(performance.now() - s);
    if (ack.seq !== i + 1) throw new Error(`seq ${ack.seq} != ${i + 1}`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  for (let i = 0; i < n; i++) await reader.next((f) => f.type === 'message' && f.seq === i + 1, 5000);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(3);
  console.log(`sequential sendMessage acks: n=${n} in ${elapsed.toFixed(2)} s (${(n / elapsed).toFixed(0)}/s), ` +
    `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1].toFixed(3)} ms; reader got all ${n} in order`);
  await Promise.all([sender.close(), reader.close()]);
} finally {
  await chatd.stop();
  tmp.cleanup();
}
