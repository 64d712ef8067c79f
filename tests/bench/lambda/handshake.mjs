// One WebSocket handshake, timed: from the request to the open (with chatd --template, the
// $connect invocation inside it; the first one after a start is a cold start). Prints JSON.
//   node handshake.mjs URL
import { createRequire } from 'node:module';

// ws from the end-to-end tests' packages (scripts/test.sh installs them).
const WebSocket = createRequire(new URL('../../e2e/package.json', import.meta.url))('ws');

const [url] = process.argv.slice(2);
if (!/^wss?:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(url)) throw new Error('loopback only');
const timer = setTimeout(() => { console.error('handshake: no answer within 60 s'); process.exit(1); }, 60000);
const t0 = process.hrtime.bigint();
const ws = new WebSocket(`${url}?name=cold`);
await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
clearTimeout(timer);
ws.close();
console.log(JSON.stringify({ open_ms: openMs }));
