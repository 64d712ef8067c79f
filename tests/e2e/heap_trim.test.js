// After a burst, chatd gives the memory it freed back to the system. 800 clients fill one room:
// each join answers the joiner with the member list and tells every member, about 320,000
// frames in all, and glibc keeps most of what they used once they are gone. Within a few
// seconds of the burst chatd's resident memory must fall, the log must say so, /metrics must
// count it, and the room must still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startChatd, eventually } from './lib.js';

const sanitized = process.env.CHATD_SANITIZED === '1';
const members = 800; // under the 1,024 descriptors a test process may have by default

let chatd;
// Under a sanitizer the only test is skipped, so no chatd is started for it.
before(async () => { if (!sanitized) chatd = await startChatd(); });
after(async () => { await chatd?.stop(); });

const rssBytes = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${chatd.proc.pid}/status`, 'utf8'))[1]) * 1024;

async function returnedBytes() {
  const text = await (await fetch(`${chatd.http}/metrics`)).text();
  const m = /^chatd_heap_returned_bytes_total (\d+)$/m.exec(text);
  assert.ok(m, 'chatd_heap_returned_bytes_total is on /metrics');
  return Number(m[1]);
}

/** A client that counts frames by type instead of keeping them. */
function member(i) {
  const ws = new WebSocket(`${chatd.url}?name=m${i}`);
  const c = { ws, counts: {}, last: null };
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    c.counts[f.type] = (c.counts[f.type] || 0) + 1;
    c.last = f;
  });
  c.open = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return c;
}

test('freed memory goes back to the system after 800 clients fill one room', { skip: sanitized && 'the sanitizer has its own allocator' }, async () => {
  assert.equal(await returnedBytes(), 0, 'nothing to give back before the burst');
  const clients = [];
  for (let i = 0; i < members; i += 100) {
    const batch = Array.from({ length: Math.min(100, members - i) }, (_, k) => member(i + k));
    await Promise.all(batch.map((c) => c.open));
    clients.push(...batch);
  }
  clients[0].ws.send(JSON.stringify({ action: 'createRoom', roomId: 'big' }));
  await eventually(() => clients[0].counts.roomCreated === 1, 5000, 'room created');
  for (const c of clients) c.ws.send(JSON.stringify({ action: 'joinRoom', roomId: 'big' }));
  // Every join answered, and every member told of each one who joined after it.
  const expected = (members * (members - 1)) / 2;
  await eventually(() => clients.every((c) => c.counts.joined === 1)
    && clients.reduce((n, c) => n + (c.counts.memberJoined || 0), 0) === expected, 60000, 'every join announced');
  const peak = rssBytes();

  await eventually(async () => (await returnedBytes()) > 0, 15000, 'a heap trim');
  const returned = await returnedBytes();
  const now = rssBytes();
  assert.ok(returned >= 16 << 20, `${returned} bytes given back`);
  assert.ok(now < peak - (16 << 20), `RSS ${now} bytes after the trim, ${peak} after the burst`);
  assert.match(chatd.stderr(), /heap: gave [\d.]+ MB of freed memory back to the system/);

  // The room works as before.
  clients[1].ws.send(JSON.stringify({ action: 'sendMessage', roomId: 'big', message: 'still here' }));
  await eventually(() => clients.every((c) => c.last?.type === 'message' && c.last.message === 'still here'),
    10000, 'the message after the trim reaches every member');
  for (const c of clients) c.ws.close();
});
