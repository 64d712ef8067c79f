// The WebSocket protocol itself (RFC 6455) as chatd's own frame layer speaks it, checked with
// hand-made frames over a raw TCP socket: what a browser or the `ws` package would never send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { startChatd, tempDir, eventually } from './lib.js';
import { startHandler, routesFile, oneHandlerRoutes, takeFrames } from './handlers.js';

let tmp;
let h;
let chatd;
before(async () => {
  tmp = tempDir();
  h = await startHandler((ev) => ({
    result: { statusCode: 200, body: ev.requestContext.eventType === 'MESSAGE' ? `got ${ev.body}` : undefined },
  }));
  const file = routesFile(tmp.dir, oneHandlerRoutes(h));
  chatd = await startChatd({ args: ['--routes', file] });
});
after(async () => { await chatd.stop(); await h.close(); tmp.cleanup(); });

/** One client frame: `first` is FIN/RSV/opcode, the payload masked unless told otherwise. */
function frame(first, payload, { masked = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const head = [first];
  const m = masked ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else throw new Error('test frames stay under 64 KB');
  const mask = crypto.randomBytes(4);
  const body = Buffer.from(data.map((b, i) => (masked ? b ^ mask[i % 4] : b)));
  return Buffer.concat([Buffer.from(head), masked ? mask : Buffer.alloc(0), body]);
}

const closePayload = (code, reason = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

/**
 * A raw WebSocket client: the handshake by hand, then every server frame parsed and kept.
 * `ended` resolves when the server closes the TCP connection.
 */
function connect({ key = crypto.randomBytes(16).toString('base64'), version = '13' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(chatd.port, '127.0.0.1');
    const frames = [];
    const waiters = [];
    let buf = Buffer.alloc(0);
    let head = null;
    const ended = new Promise((r) => sock.on('close', r));
    sock.setTimeout(15000, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('connect', () => sock.write(
      `GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`));
    sock.on('end', () => { if (!head) reject(new Error('closed during the handshake')); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        const status = Number(head.split(' ')[1]);
        const c = {
          status, head, sock, frames, ended,
          connectionId: h.of('$connect').at(-1)?.requestContext.connectionId,
          send: (bytes) => sock.write(bytes),
          /** The next frame from the server (bounded wait). */
          next: (ms = 5000) => new Promise((res, rej) => {
            if (frames.length) return res(frames.shift());
            const t = setTimeout(() => rej(new Error('no frame from the server')), ms);
            waiters.push((f) => { clearTimeout(t); res(f); });
          }),
        };
        resolve(c);
      }
      buf = takeFrames(buf, (f) => { if (waiters.length) waiters.shift()(f); else frames.push(f); });
    });
  });
}

const closeOf = (f) => ({ opcode: f.opcode, code: f.data.length >= 2 ? f.data.readUInt16BE(0) : null, reason: f.data.subarray(2).toString() });

async function disconnectOf(id) {
  await eventually(() => h.of('$disconnect').some((e) => e.requestContext.connectionId === id), 8000, `$disconnect of ${id}`);
  return h.of('$disconnect').find((e) => e.requestContext.connectionId === id).requestContext;
}

test('the 101 carries the RFC 6455 accept key; server frames are unmasked', async () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const c = await connect({ key });
  assert.equal(c.status, 101);
  assert.match(c.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
  c.send(frame(0x81, 'hi'));
  const f = await c.next();
  assert.deepEqual([f.fin, f.opcode, f.masked, f.data.toString()], [true, 1, false, 'got hi']);
  c.sock.destroy();
});

test('a ping is answered with a pong carrying its payload; the connection stays open', async () => {
  const c = await connect();
  c.send(frame(0x89, 'are you there?'));
  const pong = await c.next();
  assert.equal(pong.opcode, 0xA);
  assert.equal(pong.data.toString(), 'are you there?');
  c.send(frame(0x81, 'still here'));
  assert.equal((await c.next()).data.toString(), 'got still here');
  c.sock.destroy();
});

test('frames arriving a byte at a time, fragmented messages and pipelined frames', async () => {
  const c = await connect();
  const bytes = Buffer.concat([
    frame(0x01, 'frag'), frame(0x8A, ''), frame(0x00, 'men'), frame(0x80, 'ted'),
    frame(0x81, 'é€😀'), frame(0x81, 'x'.repeat(200)),
  ]);
  for (let i = 0; i < 40; i++) { c.send(bytes.subarray(i, i + 1)); await new Promise((r) => setImmediate(r)); }
  c.send(bytes.subarray(40));
  assert.equal((await c.next()).data.toString(), 'got fragmented');
  assert.equal((await c.next()).data.toString(), 'got é€😀');
  assert.equal((await c.next()).data.toString(), `got ${'x'.repeat(200)}`);
  c.sock.destroy();
});

test('the client closes with a code and reason: chatd answers with the same and ends the TCP connection', async () => {
  const c = await connect();
  c.send(frame(0x88, closePayload(4000, 'bye now')));
  const f = closeOf(await c.next());
  assert.deepEqual(f, { opcode: 8, code: 4000, reason: 'bye now' });
  await c.ended;
  const d = await disconnectOf(c.connectionId);
  assert.equal(d.disconnectStatusCode, 4000);
  assert.equal(d.disconnectReason, 'bye now');
});

for (const [name, bytes, code, reason] of [
  ['an unmasked frame', frame(0x81, 'hello', { masked: false }), 1002, /masked/],
  ['a reserved bit (no extension was negotiated)', frame(0xC1, 'hello'), 1002, /reserved/],
  ['an unknown opcode', frame(0x83, 'hello'), 1002, /opcode/],
  ['a continuation with nothing to continue', frame(0x80, 'hello'), 1002, /continuation/],
  ['a close frame with an invalid code', frame(0x88, closePayload(1005)), 1002, /close code/],
  ['invalid UTF-8 in a text frame', frame(0x81, Buffer.from([0x68, 0xc0, 0xaf])), 1007, /UTF-8/],
]) {
  test(`${name}: close ${code} with a reason that says what was wrong; $disconnect gets it`, async () => {
    const c = await connect();
    c.send(bytes);
    const f = closeOf(await c.next());
    assert.equal(f.opcode, 8);
    assert.equal(f.code, code);
    assert.match(f.reason, reason);
    // A client that answers is let go at once; one that does not is cut off within 5 s.
    c.send(frame(0x88, closePayload(code)));
    await c.ended;
    const d = await disconnectOf(c.connectionId);
    assert.equal(d.disconnectStatusCode, code);
    assert.match(d.disconnectReason, reason);
  });
}

test('handshakes chatd cannot complete are refused before $connect runs', async () => {
  const connects = h.of('$connect').length;
  const badKey = await connect({ key: 'short' });
  assert.equal(badKey.status, 400);
  const oldVersion = await connect({ version: '8' });
  assert.equal(oldVersion.status, 426);
  assert.match(oldVersion.head, /\r\nSec-WebSocket-Version: 13\r\n/i);
  await Promise.all([badKey.ended, oldVersion.ended]);
  assert.equal(h.of('$connect').length, connects);
});

test('a client that never answers our close is cut off after 5 s', async () => {
  const c = await connect();
  c.send(frame(0x82, 'binary'));
  const f = closeOf(await c.next());
  assert.equal(f.code, 1003);
  const started = Date.now();
  await c.ended;
  const waited = Date.now() - started;
  assert.ok(waited > 3000 && waited < 9000, `closed after ${waited} ms`);
  assert.equal((await disconnectOf(c.connectionId)).disconnectStatusCode, 1003);
});
