// Conformance, docs/contract.md §5-§7: frame and message limits, timeouts, close codes seen by
// $disconnect, and the management API's rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { startChatd, Client, tempDir, eventually } from './lib.js';
import { startHandler, routesFile, oneHandlerRoutes, rawClient } from './handlers.js';

let tmp;
let h;
let chatd;
before(async () => {
  tmp = tempDir();
  h = await startHandler((ev) => ({
    result: { statusCode: 200, body: ev.requestContext.eventType === 'MESSAGE' ? `len=${ev.body.length}` : undefined },
  }));
  const file = routesFile(tmp.dir, oneHandlerRoutes(h));
  chatd = await startChatd({ args: ['--routes', file] });
});
after(async () => { await chatd.stop(); await h.close(); tmp.cleanup(); });

/** The $disconnect event of the connection whose $connect was the latest before `since`. */
async function disconnectOf(id) {
  await eventually(() => h.of('$disconnect').some((e) => e.requestContext.connectionId === id), 5000, `$disconnect of ${id}`);
  return h.of('$disconnect').find((e) => e.requestContext.connectionId === id).requestContext;
}

async function connectWithId(url = chatd.url, options) {
  const n = h.of('$connect').length;
  const c = await Client.connect(url, options);
  c.id = h.of('$connect')[n].requestContext.connectionId;
  return c;
}

test('§6 a binary frame closes the connection with 1003', async () => {
  const c = await connectWithId();
  c.ws.send(Buffer.from('binary'), { binary: true });
  assert.equal((await c.closed).code, 1003);
  assert.equal((await disconnectOf(c.id)).disconnectStatusCode, 1003);
});

test('§6 a single frame over 32 KB closes the connection with 1009', async () => {
  const c = await connectWithId();
  c.send('x'.repeat(32 * 1024 + 1));
  assert.equal((await c.closed).code, 1009);
  assert.equal((await disconnectOf(c.id)).disconnectStatusCode, 1009);
});

test('§6 a frame of exactly 32 KB is accepted', async () => {
  const c = await connectWithId();
  c.send('y'.repeat(32 * 1024));
  assert.equal(await c.nextRaw(), `len=${32 * 1024}`);
  await c.close();
});

test('§6 a fragmented message of up to 128 KB is reassembled and delivered', async () => {
  const c = await connectWithId();
  const piece = 'z'.repeat(32 * 1024);
  for (let i = 0; i < 4; i++) c.ws.send(piece, { fin: i === 3 });
  assert.equal(await c.nextRaw(), `len=${128 * 1024}`);
  await c.close();
});

test('§6 a fragmented message over 128 KB closes the connection with 1009', async () => {
  const c = await connectWithId();
  const piece = 'z'.repeat(30 * 1024);
  for (let i = 0; i < 5; i++) c.ws.send(piece, { fin: i === 4 });
  assert.equal((await c.closed).code, 1009);
  assert.equal((await disconnectOf(c.id)).disconnectStatusCode, 1009);
});

test('§6 idle timeout: no traffic closes with 1001 "Going away"; $disconnect says the same', async () => {
  const file = routesFile(tmp.dir, { routes: { $connect: { integration: h.url() }, $disconnect: { integration: h.url() } } }, 'idle.json');
  const gw = await startChatd({ args: ['--routes', file, '--idle-timeout', '0.5'] });
  const n = h.of('$connect').length;
  const c = await Client.connect(gw.url);
  const id = h.of('$connect')[n].requestContext.connectionId;
  const started = Date.now();
  const closed = await c.closed;
  assert.deepEqual(closed, { code: 1001, reason: 'Going away' });
  assert.ok(Date.now() - started >= 450);
  const d = await disconnectOf(id);
  assert.equal(d.disconnectStatusCode, 1001);
  assert.equal(d.disconnectReason, 'Going away');
  await gw.stop();
});

test('§6 traffic in either direction resets the idle timer', async () => {
  const file = routesFile(tmp.dir, { routes: { $default: { integration: h.url(), twoWay: true } } }, 'idle2.json');
  const gw = await startChatd({ args: ['--routes', file, '--idle-timeout', '0.6'] });
  const c = await Client.connect(gw.url);
  const started = Date.now();
  for (let i = 0; i < 6; i++) { // 1.8 s of traffic, one message every 0.3 s
    await new Promise((r) => setTimeout(r, 300));
    c.send('ping');
    await c.nextRaw();
  }
  assert.equal(c.ws.readyState, WebSocket.OPEN, 'still open after 3x the idle timeout');
  assert.deepEqual(await c.closed, { code: 1001, reason: 'Going away' });
  assert.ok(Date.now() - started >= 1800);
  await gw.stop();
});

test('§6 maximum connection duration closes with 1001 even with traffic', async () => {
  const file = routesFile(tmp.dir, { routes: { $default: { integration: h.url(), twoWay: true } } }, 'max.json');
  const gw = await startChatd({ args: ['--routes', file, '--max-connection-duration', '0.8'] });
  const c = await Client.connect(gw.url);
  const timer = setInterval(() => { if (c.ws.readyState === WebSocket.OPEN) c.send('busy'); }, 100);
  const closed = await c.closed;
  clearInterval(timer);
  assert.deepEqual(closed, { code: 1001, reason: 'Going away' });
  await gw.stop();
});

test('§7 a client close frame without a status code: $disconnect gets 1005 and the AWS reason', async () => {
  const c = await connectWithId();
  c.ws.close(); // ws sends a close frame with no status code
  await c.closed;
  const d = await disconnectOf(c.id);
  assert.equal(d.disconnectStatusCode, 1005);
  assert.equal(d.disconnectReason, 'Client-side close frame status not set');
});

test('§7 a client close with a code and reason is passed through to $disconnect', async () => {
  const c = await connectWithId();
  await c.close(1000, 'see you');
  const d = await disconnectOf(c.id);
  assert.equal(d.disconnectStatusCode, 1000);
  assert.equal(d.disconnectReason, 'see you');
});

test('§7 DeleteConnection closes the client with 1000 and $disconnect gets "Connection Closed Normally"', async () => {
  const c = await connectWithId();
  const api = new ApiGatewayManagementApiClient({
    endpoint: `${chatd.http}/dev`, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1,
  });
  await api.send(new DeleteConnectionCommand({ ConnectionId: c.id }));
  assert.equal((await c.closed).code, 1000);
  const d = await disconnectOf(c.id);
  assert.equal(d.disconnectStatusCode, 1000);
  assert.equal(d.disconnectReason, 'Connection Closed Normally');
  await assert.rejects(api.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: 'x' })), (e) => e.name === 'GoneException');
  api.destroy();
});

test('§7 a dropped TCP connection: $disconnect gets 1006', async () => {
  const c = await connectWithId();
  c.ws.terminate();
  assert.equal((await disconnectOf(c.id)).disconnectStatusCode, 1006);
});

test('§5 POST data over 32 KB reaches the client as frames of at most 32 KB', async () => {
  const raw = await rawClient(chatd.port);
  await eventually(() => h.of('$connect').length > 0, 2000);
  const id = h.of('$connect').at(-1).requestContext.connectionId;
  const data = 'q'.repeat(100 * 1024);
  const res = await fetch(`${chatd.http}/dev/@connections/${encodeURIComponent(id)}`, { method: 'POST', body: data });
  assert.equal(res.status, 200);
  await eventually(() => raw.frames.reduce((n, f) => n + f.length, 0) >= data.length, 3000, 'all frames');
  assert.ok(raw.frames.length >= 4);
  for (const f of raw.frames) assert.ok(f.length <= 32 * 1024, `frame of ${f.length} bytes`);
  assert.equal(raw.frames[0].opcode, 1, 'a text message');
  assert.ok(raw.frames.slice(1).every((f) => f.opcode === 0), 'continuations');
  assert.ok(raw.frames.at(-1).fin);
  assert.equal(Buffer.concat(raw.frames.map((f) => f.data)).toString(), data);
  raw.close();
});

test('§5 the stage is required in the management path: anything else is 403 {"message":"Forbidden"}', async () => {
  for (const p of ['/@connections/AAAAAAAAAAAAAAA%3D', '/prod/@connections/AAAAAAAAAAAAAAA%3D', '/dev/@connections', '/dev/x/@connections/AAAAAAAAAAAAAAA%3D']) {
    const res = await fetch(`${chatd.http}${p}`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 403, p);
    assert.equal(res.headers.get('x-amzn-errortype'), 'ForbiddenException');
    assert.deepEqual(await res.json(), { message: 'Forbidden' });
  }
});

test('§5 a malformed connection id is 400 BadRequestException "Invalid connectionId: ..."', async () => {
  const res = await fetch(`${chatd.http}/dev/@connections/cjy8i76bx002884le6n17d49b`, { method: 'POST', body: 'x' });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-amzn-errortype'), 'BadRequestException');
  assert.deepEqual(await res.json(), { message: 'Invalid connectionId: cjy8i76bx002884le6n17d49b' });
});

test('§5 POST data over 131072 bytes is 413 PayloadTooLargeException', async () => {
  const c = await connectWithId();
  const res = await fetch(`${chatd.http}/dev/@connections/${encodeURIComponent(c.id)}`, { method: 'POST', body: 'x'.repeat(131073) });
  assert.equal(res.status, 413);
  assert.equal(res.headers.get('x-amzn-errortype'), 'PayloadTooLargeException');
  assert.ok((await res.json()).message.length > 0);
  assert.ok(await c.quiet(200));
  await c.close();
});

test('§5 every management error carries x-amzn-ErrorType; 410 has an empty body', async () => {
  const gone = await fetch(`${chatd.http}/dev/@connections/AAAAAAAAAAAAAAA%3D`);
  assert.equal(gone.status, 410);
  assert.equal(gone.headers.get('x-amzn-errortype'), 'GoneException');
  assert.equal(gone.headers.get('content-length'), '0');
  assert.equal(await gone.text(), '');
  const put = await fetch(`${chatd.http}/dev/@connections/AAAAAAAAAAAAAAA%3D`, { method: 'PUT', body: 'x' });
  assert.ok(put.headers.get('x-amzn-errortype'));
});

test('§5 signatures are accepted unchecked', async () => {
  const c = await connectWithId();
  const res = await fetch(`${chatd.http}/dev/@connections/${encodeURIComponent(c.id)}`, {
    method: 'POST',
    body: 'signed?',
    headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=garbage, SignedHeaders=host, Signature=00', 'X-Amz-Date': '20000101T000000Z' },
  });
  assert.equal(res.status, 200);
  assert.equal(await c.nextRaw(), 'signed?');
  await c.close();
});

test('§3 a plain GET of the WebSocket URL is 426', async () => {
  const res = await fetch(`${chatd.http}/dev`);
  assert.equal(res.status, 426);
});
