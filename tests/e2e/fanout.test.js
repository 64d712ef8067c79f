// A message sent to many connections is framed once and the same bytes go to each of them;
// one too long for a single frame is split per connection. Checked frame by frame over raw
// sockets, as a browser's WebSocket would hide the framing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startChatd, eventually } from './lib.js';
import { rawClient } from './handlers.js';

let chatd;
before(async () => { chatd = await startChatd({ args: ['--max-message-bytes', String(100 * 1024)] }); });
after(async () => { await chatd.stop(); });

/** A text message as masked client frames: one, or (a client frame holds at most 32 KB) several. */
function clientMessage(text) {
  const data = Buffer.from(text);
  const frames = [];
  for (let off = 0; off === 0 || off < data.length; off += 32 * 1024) {
    const piece = data.subarray(off, off + 32 * 1024);
    const first = (off + piece.length >= data.length ? 0x80 : 0) | (off === 0 ? 1 : 0);
    const mask = crypto.randomBytes(4);
    const head = piece.length < 126 ? Buffer.from([first, 0x80 | piece.length])
      : Buffer.from([first, 0x80 | 126, piece.length >> 8, piece.length & 0xff]);
    frames.push(head, mask, Buffer.from(piece.map((b, i) => b ^ mask[i % 4])));
  }
  return Buffer.concat(frames);
}

const messages = (raw) => {
  // Whole messages from the frames so far: a first frame, its continuations, the last with FIN.
  const out = [];
  let parts = [];
  for (const f of raw.frames) {
    assert.equal(f.masked, false);
    assert.equal(f.opcode, parts.length === 0 ? 1 : 0, 'text, then continuations');
    parts.push(f);
    if (f.fin) { out.push(parts); parts = []; }
  }
  return out;
};

test('a broadcast reaches every connection: one frame each, or frames of at most 32 KB when longer', async () => {
  const clients = await Promise.all([0, 1, 2].map(() => rawClient(chatd.port)));
  const long = 'L'.repeat(70 * 1024);
  const texts = ['hello everyone', 'x'.repeat(300), long, 'after the long one'];
  for (const t of texts) clients[0].sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: t })));
  for (const [i, c] of clients.entries()) {
    await eventually(() => messages(c).length >= texts.length, 5000, `client ${i}: all messages`);
    const got = messages(c);
    assert.equal(got.length, texts.length);
    for (const [k, parts] of got.entries()) {
      assert.equal(Buffer.concat(parts.map((f) => f.data)).toString(), texts[k], `client ${i}, message ${k}`);
      for (const f of parts) assert.ok(f.length <= 32 * 1024, `frame of ${f.length} bytes`);
      assert.equal(parts.length, texts[k].length > 32 * 1024 ? 3 : 1, `client ${i}, message ${k}: frames`);
    }
  }
  for (const c of clients) c.close();
});

test('a broadcast after a connection closes reaches the others, and a newcomer hears the next one', async () => {
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => rawClient(chatd.port)));
  a.sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: 'one' })));
  await eventually(() => messages(c).length === 1, 3000, 'first broadcast');
  b.close();
  a.sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: 'two' })));
  await eventually(() => messages(c).length === 2, 3000, 'second broadcast');
  const d = await rawClient(chatd.port);
  a.sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: 'three' })));
  await eventually(() => messages(d).length === 1, 3000, 'the newcomer hears the third');
  await eventually(() => messages(c).length === 3, 3000, 'third broadcast');
  assert.deepEqual(messages(c).map((m) => m[0].data.toString()), ['one', 'two', 'three']);
  assert.equal(messages(d)[0][0].data.toString(), 'three');
  for (const x of [a, c, d]) x.close();
});

test('clients dropping in the middle of a stream of broadcasts: the rest get every message, chatd stays up', async () => {
  // A connection that ends while a write to it is queued (corked) is written to, or not,
  // after its close: the sanitizer build checks that no session is used after it is freed.
  const stay = await Promise.all(Array.from({ length: 10 }, () => rawClient(chatd.port)));
  const drop = await Promise.all(Array.from({ length: 30 }, () => rawClient(chatd.port)));
  const total = 200;
  for (let i = 0; i < total; i++) {
    stay[0].sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: `m${i}` })));
    if (i % 6 === 0 && drop.length) {
      const c = drop.pop();
      if (i % 12 === 0) c.sock.resetAndDestroy(); else c.close();
    }
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  for (const [k, c] of stay.entries()) {
    await eventually(() => messages(c).length === total, 10000, `client ${k}: all ${total}`);
    assert.deepEqual(messages(c).map((m) => m[0].data.toString()), Array.from({ length: total }, (_, i) => `m${i}`));
  }
  const late = await rawClient(chatd.port); // still accepting, still broadcasting
  stay[1].sock.write(clientMessage(JSON.stringify({ action: 'sendmessage', message: 'still here' })));
  await eventually(() => messages(late).length === 1, 3000, 'a later broadcast');
  for (const c of [...stay, ...drop, late]) c.close();
});
