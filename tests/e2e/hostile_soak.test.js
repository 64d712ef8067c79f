// A bounded soak under hostile traffic, over plain TCP and over TLS. For a few seconds a
// handful of raw-socket clients send chatd everything a broken or malicious client might:
// requests with every field of the wrong type or size, truncated and nested JSON, protocol
// violations, invalid UTF-8, fragments with pings in between, random bytes, malformed
// handshakes and HTTP requests, management calls with made-up ids and bodies, connections
// that vanish mid-frame or stop reading. Meanwhile four well-behaved clients chat in one room
// (which hostile clients also join and post to).
//
// Afterwards: every well-behaved client saw every message of its room exactly once, in `seq`
// order with no gap, and got an acknowledgement for each of its own; no HTTP answer was a 5xx;
// chatd still serves, stops cleanly on SIGTERM (exit 0, no sanitizer report) and its database
// passes SQLite's integrity check, with each room's messages numbered 1..n.
//
// The traffic is drawn from a seeded generator; CHATD_SOAK_SEED=N replays the same choices
// (timing still differs from run to run). The seed is in every failure message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startChatd, Client, tempDir } from './lib.js';

const seed = Number(process.env.CHATD_SOAK_SEED ?? crypto.randomInt(2 ** 31));
const hostileMs = 8000;
const honestCount = 4;
const honestMessages = 120;
const hostileLoops = 6;
const httpLoops = 2;

/** mulberry32: small, fast, seedable. */
function generator(s) {
  let a = s >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (xs) => xs[int(xs.length)];
  const chance = (p) => next() < p;
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, chance, bytes };
}

/**
 * How the raw clients reach chatd: plain TCP, or TLS without checking the certificate. Node
 * cannot end a TLS socket's connection with a reset, so over TLS a reset is a plain close.
 */
const plain = { connect: (port) => net.connect(port, '127.0.0.1'), ready: 'connect', reset: (s) => s.resetAndDestroy() };
const secure = {
  connect: (port) => tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }),
  ready: 'secureConnect',
  reset: (s) => s.destroy(),
};
let transport = plain;

// ---- what hostile clients send ------------------------------------------------------------

function anyValue(r, depth = 0) {
  switch (r.int(depth > 2 ? 7 : 9)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 3.5, 1e-300]);
    case 3: return r.pick(['', 'calm', 'h1', 'h2', '../etc', 'a b', 'x'.repeat(65), 'z'.repeat(9000),
      '\u0000', '\ud83d\ude00', 'caf\u00e9', '"}{', '\\u0000']);
    case 4: return `h${r.int(4)}`;
    case 5: return 'm'.repeat(r.int(200));
    case 6: return r.int(1000);
    case 7: return Array.from({ length: r.int(4) }, () => anyValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(4) }, (_, i) => [`k${i}`, anyValue(r, depth + 1)]));
  }
}

/** A JSON request, mostly chatd's own actions with fields plausible, wrong or absent. */
function request(r) {
  const req = {};
  if (!r.chance(0.05)) {
    req.action = r.chance(0.85)
      ? r.pick(['createRoom', 'joinRoom', 'leaveRoom', 'sendMessage', 'getMessages', 'listRooms', 'sendmessage'])
      : anyValue(r);
  }
  const room = () => (r.chance(0.7) ? r.pick(['calm', 'h1', 'h2', 'h3']) : anyValue(r));
  if (r.chance(0.9)) req.roomId = room();
  if (r.chance(0.8)) req.message = r.chance(0.7) ? `hostile ${r.int(1e6)} ${'\u00e9\ud83d\ude00'.repeat(r.int(5))}` : anyValue(r);
  if (r.chance(0.3)) req.ref = r.chance(0.7) ? `h${r.int(1e6)}` : anyValue(r);
  if (r.chance(0.2)) req.limit = anyValue(r);
  if (r.chance(0.2)) req.before = anyValue(r);
  if (r.chance(0.1)) req[`extra${r.int(3)}`] = anyValue(r);
  return JSON.stringify(req);
}

function malformedText(r) {
  switch (r.int(6)) {
    case 0: return request(r).slice(0, r.int(40));
    case 1: return '['.repeat(r.int(3000)) + ']'.repeat(r.int(3000));
    case 2: return '{"a":'.repeat(r.int(2000));
    case 3: return r.bytes(r.int(64)).toString('latin1');
    case 4: return `{"action":"sendMessage","roomId":"calm","message":"${'\\ud800'.repeat(r.int(4) + 1)}"}`;
    default: return '{"action":"sendMessage","roomId":"calm","message":' + '1'.repeat(r.int(400) + 1) + '}';
  }
}

/** One client frame; `len` overrides the length field (to lie about it). */
function frame(r, first, payload, { masked = true, len } = {}) {
  const n = len ?? payload.length;
  const head = [first];
  const m = masked ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff);
  else {
    head.push(m | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(n));
    head.push(...big);
  }
  const mask = r.bytes(4);
  const body = masked ? Buffer.from(payload.map((b, i) => b ^ mask[i % 4])) : payload;
  return Buffer.concat([Buffer.from(head), masked ? mask : Buffer.alloc(0), body]);
}

const text = (s) => Buffer.from(s);

/**
 * Bytes for one hostile step, or a verb for the socket ('reset', 'end', 'pause'). `room` is
 * the room this connection joined, if it did.
 */
function hostileStep(r, room, { fatal = true } = {}) {
  const k = fatal ? r.next() : r.next() * 0.8; // below 0.8: nothing that ends the connection
  if (k < 0.15) {
    // A well-formed post, mostly to the room it joined.
    const message = r.pick(['plain', '\u00e9t\u00e9 \ud83d\ude00', '"quoted" \\ </script>', '\u0000\u001f', 'm'.repeat(8192)]);
    const roomId = room && r.chance(0.8) ? room : r.pick(['calm', 'h1', 'h2', 'h3']);
    return frame(r, 0x81, text(JSON.stringify({ action: 'sendMessage', roomId, message })));
  }
  if (k < 0.45) {
    const payload = text(request(r));
    if (r.chance(0.8) || payload.length < 4) return frame(r, 0x81, payload);
    // In pieces, with a ping between them.
    const cut = 1 + r.int(payload.length - 2);
    return Buffer.concat([frame(r, 0x01, payload.subarray(0, cut)), frame(r, 0x89, r.bytes(r.int(20))),
      frame(r, 0x80, payload.subarray(cut))]);
  }
  if (k < 0.65) return frame(r, 0x81, text(malformedText(r)));
  if (k < 0.72) return frame(r, 0x89, r.bytes(r.int(126)));
  if (k < 0.74) return frame(r, 0x8a, r.bytes(r.int(126)));
  if (k < 0.80) return frame(r, 0x81, text(malformedText(r)));
  if (k < 0.88) {
    // Breaks the protocol: each of these ends the connection.
    switch (r.int(11)) {
      case 0: return frame(r, 0x81, text(request(r)), { masked: false });
      case 1: return frame(r, 0x81 | (0x10 << r.int(3)), text(request(r)));
      case 2: return frame(r, 0x80 | r.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xf]), r.bytes(r.int(30)));
      case 3: return frame(r, 0x80, text('orphan continuation'));
      case 4: return frame(r, 0x82, r.bytes(r.int(100)));
      case 5: return frame(r, 0x81, Buffer.from([0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff]));
      case 6: return frame(r, 0x88, Buffer.from([r.int(256), r.int(256), ...r.bytes(r.int(10))]));
      case 7: return frame(r, 0x81, Buffer.alloc(0), { len: r.pick([200000, 2 ** 40, 2 ** 53 - 1]) });
      case 8: return frame(r, 0x89, r.bytes(126));
      case 9: return frame(r, 0x09, r.bytes(4));
      default: return Buffer.concat([frame(r, 0x01, text('{"action":')), frame(r, 0x81, text('x'))]);
    }
  }
  if (k < 0.92) return r.bytes(1 + r.int(300));
  if (k < 0.94) return frame(r, 0x81, text(request(r))).subarray(0, 3 + r.int(6)); // a frame cut short
  if (k < 0.96) return 'pause';
  if (k < 0.98) return 'reset';
  return 'end';
}

function handshake(r) {
  const key = crypto.randomBytes(16).toString('base64');
  const good = `GET /dev?name=h${r.int(100)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  if (r.chance(0.85)) return good;
  return r.pick([
    good.replace(key, 'short'),
    good.replace('Version: 13', `Version: ${r.int(30)}`),
    good.replace('/dev?name=', '/dev?name=%00%ff'),
    good.replace('/dev', `/${'../'.repeat(r.int(10))}etc/passwd`),
    good.replace('\r\n\r\n', `\r\nX-Big: ${'b'.repeat(20000 + r.int(20000))}\r\n\r\n`),
    good.slice(0, r.int(good.length)),
    good.replace('HTTP/1.1', 'HTTP/9.9'),
  ]);
}

/**
 * One hostile WebSocket client's life: a handshake, then steps until it or chatd ends it.
 * With `member`, it joins the shared room and sends only what chatd answers with an error
 * or a delivery, never a protocol violation, until the deadline; then it resets the
 * connection.
 */
function hostileClient(r, port, deadline, { member = false } = {}) {
  return new Promise((resolve) => {
    const sock = transport.connect(port);
    let timer = null;
    let upgraded = null;
    const done = () => { clearTimeout(timer); sock.destroy(); resolve(upgraded); };
    sock.setTimeout(3000, done);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('data', (d) => { upgraded ??= d.subarray(0, 12).toString() === 'HTTP/1.1 101'; });
    sock.on(transport.ready, () => {
      sock.write(member ? handshake(generator(0)) : handshake(r));
      // Half of them create and join a room first (the shared one half of the time).
      let room = null;
      if (member || r.chance(0.5)) {
        room = member || r.chance(0.5) ? 'calm' : r.pick(['h1', 'h2', 'h3']);
        sock.write(frame(r, 0x81, text(JSON.stringify({ action: 'createRoom', roomId: room }))));
        sock.write(frame(r, 0x81, text(JSON.stringify({ action: 'joinRoom', roomId: room }))));
      }
      let steps = member ? Infinity : 50 + r.int(200);
      const step = () => {
        if (member && Date.now() > deadline && !sock.destroyed) { transport.reset(sock); return resolve(upgraded); }
        if (Date.now() > deadline || steps-- <= 0 || sock.destroyed) return done();
        // A member that left the room by one of its random requests joins again now and then.
        const s = member && r.chance(0.05)
          ? frame(r, 0x81, text(JSON.stringify({ action: 'joinRoom', roomId: room })))
          : hostileStep(r, room, { fatal: !member });
        if (s === 'reset') { transport.reset(sock); return resolve(upgraded); }
        if (s === 'end') { sock.end(); return; }
        if (s === 'pause') sock.pause(); // keeps sending, never reads again
        else sock.write(s);
        timer = setTimeout(step, r.int(4));
      };
      timer = setTimeout(step, 5);
    });
  });
}

// ---- hostile HTTP -------------------------------------------------------------------------

/** Ids of hostile connections that joined the shared room, seen by a well-behaved member. */
const hostileIds = [];

const fakeId = (r) => (hostileIds.length && r.chance(0.4) ? r.pick(hostileIds) : r.pick([
  crypto.randomBytes(11).toString('base64url').slice(0, 15) + '=', 'AAAAAAAAAAAAAAA=', 'short', '',
  '%2e%2e%2f%2e%2e', 'x'.repeat(3000), '%00', 'AAAAAAAAAAAAAAA%3D',
]));

function httpRequest(r) {
  const method = r.pick(['GET', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'BREW']);
  const target = r.chance(0.5) ? `/dev/@connections/${fakeId(r)}` : r.pick([
    `/dev/@connections/${fakeId(r)}`, `/prod/@connections/${fakeId(r)}`, '/@connections/', '/dev/@connections',
    '/healthz', '/metrics', '/', '/index.html', '/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd',
    '/static/..%2f..%2fCMakeLists.txt', '/\u0000', `/${'a/'.repeat(2000)}`, '/dev', '//', '/?q=' + 'q'.repeat(5000),
  ]);
  const body = r.chance(0.5) ? r.bytes(r.pick([0, 10, 1000, 131072, 131073, 300000])) : Buffer.alloc(0);
  const lengthLine = r.pick([`Content-Length: ${body.length}\r\n`, `Content-Length: ${body.length}\r\n`,
    'Content-Length: -1\r\n', 'Content-Length: 99999999999999999999\r\n', 'Transfer-Encoding: chunked\r\n', '']);
  const head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lengthLine}\r\n`;
  if (r.chance(0.1)) return r.bytes(1 + r.int(2000));
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Send one hostile HTTP request; resolves with the status of the answer, if one came. */
function hostileHttp(r, port) {
  return new Promise((resolve) => {
    const sock = transport.connect(port);
    let got = '';
    const done = () => {
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : null);
    };
    sock.setTimeout(1000, done);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('data', (d) => { got += d.toString('latin1'); if (got.includes('\r\n\r\n')) done(); });
    sock.on(transport.ready, () => {
      const req = httpRequest(r);
      if (r.chance(0.1)) sock.write(req.subarray(0, r.int(req.length))); // then goes quiet
      else sock.end(req);
    });
  });
}

// ---- the test -----------------------------------------------------------------------------

/** A frame's JSON, or null: `sendmessage` (the tutorial's route) broadcasts raw text to all. */
const parse = (d) => { try { return JSON.parse(d.toString()); } catch { return null; } };

/** A self-signed certificate for 127.0.0.1 in `dir`: chatd's arguments and the CA to trust. */
function certificate(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { args: ['--tls-cert', `${dir}/cert.pem`, '--tls-key', `${dir}/key.pem`], ca: readFileSync(`${dir}/cert.pem`) };
}

const status = (url, ca) => new Promise((resolve, reject) => {
  (ca ? https : http).get(url, ca ? { ca } : {}, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
});

for (const over of ['plain TCP', 'TLS']) {
  test(`hostile clients cannot hurt well-behaved ones, crash chatd or corrupt its database, over ${over} (seed ${seed})`,
    { timeout: 90000 }, async (t) => {
      const tmp = tempDir();
      const tlsFiles = over === 'TLS' ? certificate(tmp.dir) : null;
      transport = tlsFiles ? secure : plain;
      hostileIds.length = 0;
      // A small queue limit so that clients that stop reading are dropped within the run.
      // The event log and JSON log lines get every hostile body and reason to escape.
      const db = `${tmp.dir}/soak.db`;
      const chatd = await startChatd({
        db,
        args: [...(tlsFiles?.args ?? []), '--max-queued-bytes', '262144', '--event-log', `${tmp.dir}/events.jsonl`,
          '--log-format', 'json'],
      });
      try {
        await soak(t, { chatd, db, dir: tmp.dir, ca: tlsFiles?.ca });
      } finally {
        await chatd.stop('SIGKILL');
        tmp.cleanup();
      }
    });
}

async function soak(t, { chatd, db, dir, ca }) {
  const why = (s) => `${s} (CHATD_SOAK_SEED=${seed})`;
  const join = (name) => Client.connect(`${chatd.url}?name=${name}`, ca ? { ca } : undefined);
  const honest = await Promise.all(Array.from({ length: honestCount }, (_, i) => join(`honest${i}`)));
  await honest[0].request({ action: 'createRoom', roomId: 'calm' });
  for (const c of honest) await c.request({ action: 'joinRoom', roomId: 'calm' });
  const seen = honest.map(() => []);
  honest.forEach((c, i) => c.ws.on('message', (d) => {
    const f = parse(d);
    if (f?.type === 'message' && f.roomId === 'calm') seen[i].push(f);
    // Management calls race the hostile connections' own ends.
    if (i === 0 && f?.type === 'memberJoined' && !f.name.startsWith('honest')) hostileIds.push(f.connectionId);
  }));

  const deadline = Date.now() + hostileMs;
  const statuses = [];
  const upgrades = [];
  const hostile = [
    ...Array.from({ length: hostileLoops }, async (_, i) => {
      const r = generator(seed + i);
      while (Date.now() < deadline) upgrades.push(await hostileClient(r, chatd.port, deadline));
    }),
    (async () => {
      const r = generator(seed + 50);
      while (Date.now() < deadline) upgrades.push(await hostileClient(r, chatd.port, deadline, { member: true }));
    })(),
    ...Array.from({ length: httpLoops }, async (_, i) => {
      const r = generator(seed + 100 + i);
      while (Date.now() < deadline) statuses.push(await hostileHttp(r, chatd.port));
    }),
  ];
  // The well-behaved clients post throughout, each waiting a little between messages.
  const acks = honest.map(() => 0);
  honest.forEach((c, i) => c.ws.on('message', (d) => {
    const f = parse(d);
    if (f?.type === 'message' && f.ref?.startsWith?.(`honest${i}-`)) acks[i]++;
  }));
  const talk = honest.map(async (c, i) => {
    for (let n = 0; n < honestMessages; n++) {
      const ref = `honest${i}-${n}`;
      c.send({ action: 'sendMessage', roomId: 'calm', message: ref, ref });
      await new Promise((res) => setTimeout(res, hostileMs / honestMessages));
    }
  });
  await Promise.all([...hostile, ...talk]);
  // Bytes a hostile client sent just before it went away may still be in chatd's hands.
  await new Promise((res) => setTimeout(res, 500));

  // Everything sent before this marker, which comes after it, has arrived.
  const last = await honest[0].request({ action: 'sendMessage', roomId: 'calm', message: 'the end' });
  await Promise.all(honest.slice(1).map((c) => c.next((f) => f.type === 'message' && f.seq === last.seq, 10000)));

  const answered = statuses.filter((s) => s !== null);
  assert.ok(answered.length > 20, why(`only ${answered.length} hostile HTTP requests were answered`));
  assert.deepEqual(answered.filter((s) => s >= 500), [], why('a hostile HTTP request got a 5xx'));
  assert.deepEqual(acks, honest.map(() => honestMessages), why('every well-behaved message is acknowledged'));
  for (const [i, frames] of seen.entries()) {
    assert.deepEqual(frames.map((f) => f.seq), Array.from({ length: last.seq }, (_, k) => k + 1),
      why(`honest${i} saw every message of the room once, in seq order`));
    for (let s = 0; s < honestCount; s++) {
      const mine = frames.filter((f) => f.name === `honest${s}`).map((f) => f.message);
      assert.deepEqual(mine, [...Array.from({ length: honestMessages }, (_, n) => `honest${s}-${n}`), ...(s === 0 ? ['the end'] : [])],
        why(`honest${i} saw honest${s}'s messages in the order sent`));
    }
  }
  const hostileInCalm = seen[0].length - honestCount * honestMessages - 1;
  assert.ok(hostileInCalm >= 20, why(`hostile clients got messages into the room too (${hostileInCalm}; the test reached the store)`));
  assert.ok(upgrades.filter(Boolean).length > 100, why('most hostile handshakes were accepted'));
  const histogram = {};
  for (const s of statuses) histogram[s ?? 'none'] = (histogram[s ?? 'none'] ?? 0) + 1;
  t.diagnostic(`seed ${seed}: ${upgrades.length} hostile WebSocket connections (${upgrades.filter(Boolean).length} upgraded), ` +
    `${hostileInCalm} hostile messages in the shared room, HTTP answers ${JSON.stringify(histogram)}`);

  // Still serving: a new client joins and hears the next message; health is fine.
  const late = await join('late');
  const joined = await late.request({ action: 'joinRoom', roomId: 'calm' });
  assert.equal(joined.type, 'joined');
  await honest[1].request({ action: 'sendMessage', roomId: 'calm', message: 'welcome' });
  assert.equal((await late.next((f) => f.type === 'message')).message, 'welcome');
  assert.equal(await status(`${chatd.http}/healthz`, ca), 200);
  await Promise.all([...honest, late].map((c) => c.close()));

  const stopped = await chatd.stop('SIGTERM');
  assert.deepEqual(stopped, { code: 0, signal: null }, why(`chatd stopped cleanly; stderr:\n${chatd.stderr().slice(-3000)}`));
  assert.doesNotMatch(chatd.stderr(), /AddressSanitizer|runtime error|LeakSanitizer/, why('no sanitizer report'));

  const lines = (text) => text.split('\n').filter((l) => l.length > 0);
  const events = lines(readFileSync(`${dir}/events.jsonl`, 'utf8')).map((l, i) => {
    try { return JSON.parse(l); } catch { assert.fail(why(`event log line ${i + 1} is not JSON: ${l.slice(0, 200)}`)); }
  });
  const kinds = (k) => events.filter((e) => e.requestContext.eventType === k).length;
  assert.ok(kinds('CONNECT') > 100 && kinds('MESSAGE') > 1000 && kinds('DISCONNECT') > 100,
    why(`the event log has every kind of event (${kinds('CONNECT')} / ${kinds('MESSAGE')} / ${kinds('DISCONNECT')})`));
  // A $connect the app refused (an invalid ?name=) has no $disconnect, as on API Gateway.
  const disconnected = new Set(events.filter((e) => e.requestContext.eventType === 'DISCONNECT').map((e) => e.requestContext.connectionId));
  const unmatched = events.filter((e) => e.requestContext.eventType === 'CONNECT' && !disconnected.has(e.requestContext.connectionId));
  assert.deepEqual(unmatched.filter((e) => !e.queryStringParameters?.name?.startsWith('\u0000')), [],
    why('every connection that opened was closed, except those refused for an invalid name'));
  for (const [i, l] of lines(chatd.stderr()).entries()) {
    assert.doesNotThrow(() => JSON.parse(l), why(`log line ${i + 1} is JSON: ${l.slice(0, 200)}`));
  }

  const sql = (q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();
  assert.equal(sql('PRAGMA integrity_check'), 'ok', why('the database passes its integrity check'));
  assert.equal(sql("SELECT count(*) FROM messages WHERE room_id = 'calm'"), String(last.seq + 1));
  assert.equal(sql('SELECT count(*) FROM (SELECT room_id FROM messages GROUP BY room_id HAVING count(*) != max(seq) OR min(seq) != 1)'), '0',
    why("each room's messages are numbered 1..n"));
  assert.equal(sql('SELECT count(*) FROM connections'), '0', why('every connection was removed when it ended'));
  assert.equal(sql('SELECT count(*) FROM memberships'), '0', why('every membership went with its connection'));
}
