// Bad input: each gets the specified error, the connection stays usable, other clients are
// unaffected, and nothing is stored.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startChatd, Client, tempDir } from './lib.js';

let chatd;
let tmp;
before(async () => {
  tmp = tempDir();
  chatd = await startChatd({ db: `${tmp.dir}/bad.db`, args: ['--max-queued-bytes', '1048576'] });
});
after(async () => { await chatd.stop(); tmp.cleanup(); });

const connect = (name) => Client.connect(`${chatd.url}?name=${name}`);

/** Write `bytes` to chatd over a raw TCP socket; resolves with all it answers before it closes. */
const rawHttp = (bytes) => new Promise((resolve, reject) => {
  const s = net.connect(chatd.port, '127.0.0.1', () => s.write(bytes));
  let data = '';
  s.on('data', (d) => { data += d; });
  s.on('end', () => resolve(data));
  s.on('error', reject);
  s.setTimeout(3000, () => { s.destroy(); reject(new Error('no answer within 3 s')); });
});

test('malformed frames get error frames with the right code; the connection stays usable', async () => {
  const alice = await connect('alice');
  const bystander = await connect('bystander');
  await alice.request({ action: 'createRoom', roomId: 'safe' });
  await alice.request({ action: 'joinRoom', roomId: 'safe' });
  await bystander.request({ action: 'joinRoom', roomId: 'safe' });
  await alice.next((f) => f.type === 'memberJoined');

  const cases = [
    ['not json', 'BadRequest'],
    ['[1,2,3]', 'BadRequest'],
    ['"just a string"', 'BadRequest'],
    ['null', 'BadRequest'],
    ['{"action":', 'BadRequest'],
    ['['.repeat(5000) + ']'.repeat(5000), 'BadRequest'],
    [JSON.stringify({ action: 'x'.repeat(50), pad: 'y'.repeat(30000) }), 'UnknownAction'],
    ['{}', 'UnknownAction'],
    ['{"action":"nope"}', 'UnknownAction'],
    ['{"action":"SENDMESSAGE"}', 'UnknownAction'],
    ['{"action":42}', 'BadRequest'],
    ['{"action":"sendMessage","roomId":"safe","message":7}', 'BadRequest'],
    ['{"action":"sendMessage","roomId":"safe","message":""}', 'BadRequest'],
    ['{"action":"sendMessage","roomId":"safe"}', 'BadRequest'],
    [JSON.stringify({ action: 'sendMessage', roomId: 'safe', message: 'z'.repeat(8193) }), 'MessageTooLarge'],
    ['{"action":"sendMessage","roomId":["safe"],"message":"x"}', 'BadRequest'],
    ['{"action":"joinRoom","roomId":"../etc"}', 'BadRequest'],
    ['{"action":"joinRoom","roomId":"a b"}', 'BadRequest'],
    [JSON.stringify({ action: 'joinRoom', roomId: 'r'.repeat(65) }), 'BadRequest'],
    ['{"action":"joinRoom","roomId":""}', 'BadRequest'],
    ['{"action":"createRoom","roomId":{"x":1}}', 'BadRequest'],
    ['{"action":"getMessages","roomId":"safe","limit":-1}', 'BadRequest'],
    ['{"action":"getMessages","roomId":"safe","before":"9"}', 'BadRequest'],
    ['{"action":"listRooms","ref":{"no":1}}', 'BadRequest'],
    ['{"action":"sendmessage","message":null}', 'BadRequest'],
  ];
  for (const [frame, code] of cases) {
    alice.send(frame);
    const f = await alice.next((x) => x.type === 'error');
    assert.equal(f.code, code, `frame ${frame.slice(0, 60)}`);
    assert.equal(typeof f.message, 'string');
    assert.ok(f.message.length > 0);
  }
  // Still usable, nothing was stored, the bystander heard nothing of it.
  const page = await alice.request({ action: 'getMessages', roomId: 'safe' });
  assert.deepEqual(page.messages, []);
  const rooms = await alice.request({ action: 'listRooms' });
  assert.deepEqual(rooms.rooms.map((r) => r.roomId), ['safe']);
  assert.ok(await bystander.quiet(200));
  const ok = await alice.request({ action: 'sendMessage', roomId: 'safe', message: 'still here' });
  assert.equal(ok.seq, 1);
  await Promise.all([alice.close(), bystander.close()]);
});

test('a binary frame closes the connection with 1003', async () => {
  const c = await connect('binary');
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await c.closed).code, 1003);
});

test('a message over 128 KB closes the connection with 1009; others are unaffected', async () => {
  const other = await connect('other');
  const c = await connect('huge');
  c.send(JSON.stringify({ action: 'sendmessage', message: 'x'.repeat(140 * 1024) }));
  assert.equal((await c.closed).code, 1009);
  assert.ok(await other.quiet(200));
  other.send({ action: 'sendmessage', message: 'fine' });
  assert.equal(await other.nextRaw(), 'fine');
  await other.close();
});

test('an invalid ?name= refuses the handshake with HTTP 400', async () => {
  for (const name of ['', '%01bad', 'n'.repeat(33)]) {
    await assert.rejects(Client.connect(`${chatd.url}?name=${name}`), /HTTP 400/);
  }
});

test('a client that stops reading is dropped; it never holds up the others', async () => {
  const slow = await connect('slow');
  const fast = await connect('fast');
  slow.ws._socket.pause(); // stop reading: the server's queue for it grows
  const text = 'p'.repeat(8000);
  // 12 MB in rounds of 50 (400 KB, well under the limit for a client that reads): more than
  // the 1 MiB queue limit plus what the kernel's socket buffers absorb for the slow one.
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 50; i++) fast.send({ action: 'sendmessage', message: text });
    for (let i = 0; i < 50; i++) await fast.nextRaw((t) => t === text, 5000);
  }
  slow.ws._socket.resume();
  const closed = await slow.closed;
  assert.equal(closed.code, 1006);
  await fast.close();
});

test('HTTP: health, 426 for a plain GET of the WebSocket URL, hostile static paths', async () => {
  assert.equal((await fetch(`${chatd.http}/healthz`)).status, 200);
  const plain = await fetch(`${chatd.http}/dev`);
  assert.equal(plain.status, 426);
  const raw = (path) => rawHttp(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  for (const p of ['/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '/static/..%5c..%5cetc/passwd']) {
    const res = await raw(p);
    assert.match(res, /^HTTP\/1\.1 (400|404)/, p);
    assert.doesNotMatch(res, /root:/);
  }
  const index = await fetch(`${chatd.http}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal((await fetch(`${chatd.http}/no-such-file.js`)).status, 404);
});

test('HTTP: a request that cannot be parsed gets 400 or 431 saying why, then the connection ends', async () => {
  const cases = [
    ['\x01\x02 hello\r\n\r\n', 400, 'malformed HTTP request: bad method'],
    ['GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed HTTP request: bad target'],
    ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, 'malformed HTTP request: bad Content-Length'],
    ['POST /dev/@connections/AAAAAAAAAAAAAAA= HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n', 400,
      'malformed HTTP request: bad Content-Length'],
    ['POST /dev/@connections/AAAAAAAAAAAAAAA= HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400,
      'malformed HTTP request: bad chunk'],
    [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`, 431, 'request headers are over 16 KB'],
  ];
  for (const [bytes, status, body] of cases) {
    const res = await rawHttp(Buffer.from(bytes, 'latin1'));
    assert.match(res, new RegExp(`^HTTP/1\\.1 ${status} `), JSON.stringify(bytes.slice(0, 40)));
    assert.match(res, /\r\nConnection: close\r\n/i);
    assert.equal(res.split('\r\n\r\n')[1], `${body}\n`);
  }
  assert.equal((await fetch(`${chatd.http}/healthz`)).status, 200);
});
