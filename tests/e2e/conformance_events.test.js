// Conformance, docs/contract.md §1: the events chatd hands an integration, field by field, and the
// --event-log that shows them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startChatd, Client, tempDir, eventually } from './lib.js';
import { startHandler, routesFile } from './handlers.js';

const ID = /^[A-Za-z0-9_-]{15}=$/;
const CLF = /^\d\d\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d\d:\d\d:\d\d \+0000$/;

let tmp;
let h;
let chatd;
let logFile;
before(async () => {
  tmp = tempDir();
  logFile = `${tmp.dir}/events.jsonl`;
  h = await startHandler(() => ({ result: { statusCode: 200 } }));
  const file = routesFile(tmp.dir, {
    routes: {
      $connect: { integration: h.url() },
      $disconnect: { integration: h.url() },
      $default: { integration: h.url() },
      sendmessage: { integration: h.url() },
    },
  });
  chatd = await startChatd({ args: ['--routes', file, '--api-id', 'abc123defg', '--event-log', logFile] });
});
after(async () => { await chatd.stop(); await h.close(); tmp.cleanup(); });

/** Connect, send `frames`, close with `code`; return this connection's three kinds of event. */
async function session({ query = '', headers = {}, frames = [], code, reason } = {}) {
  const before = h.events.length;
  const c = await Client.connect(`${chatd.url}${query}`, { headers });
  for (const f of frames) c.send(f);
  await eventually(() => h.events.length >= before + 1 + frames.length, 3000, 'events');
  await (code ? c.close(code, reason) : c.close());
  await eventually(() => h.events.slice(before).some((e) => e.requestContext.eventType === 'DISCONNECT'), 3000, 'disconnect');
  const mine = h.events.slice(before);
  return {
    connect: mine.find((e) => e.requestContext.eventType === 'CONNECT'),
    messages: mine.filter((e) => e.requestContext.eventType === 'MESSAGE'),
    disconnect: mine.find((e) => e.requestContext.eventType === 'DISCONNECT'),
  };
}

test('§1.3 CONNECT headers: the client\'s casing, X-Forwarded-*, X-Amzn-Trace-Id; no Connection or Upgrade', async () => {
  const { connect } = await session({ headers: { 'User-Agent': 'conformance/1', 'X-Custom-Thing': 'v' } });
  const hd = connect.headers;
  assert.equal(hd['X-Custom-Thing'], 'v');
  assert.equal(hd['User-Agent'], 'conformance/1');
  assert.equal(hd.Host, `127.0.0.1:${chatd.port}`);
  assert.equal(hd['X-Forwarded-For'], '127.0.0.1');
  assert.equal(hd['X-Forwarded-Port'], String(chatd.port));
  assert.equal(hd['X-Forwarded-Proto'], 'http');
  assert.match(hd['X-Amzn-Trace-Id'], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  for (const k of Object.keys(hd)) assert.ok(!/^(connection|upgrade|content-length)$/i.test(k), k);
  assert.ok(hd['Sec-WebSocket-Key']);
  assert.deepEqual(Object.keys(connect.multiValueHeaders).sort(), Object.keys(hd).sort());
  assert.deepEqual(connect.multiValueHeaders['X-Custom-Thing'], ['v']);
  assert.equal(connect.body, undefined);
  assert.equal(connect.isBase64Encoded, false);
});

test('§1.3 CONNECT query string: last value wins in the single map, all values in the multi map', async () => {
  const { connect } = await session({ query: '?token=abc&x=1&x=2&e=%3D' });
  assert.deepEqual(connect.queryStringParameters, { token: 'abc', x: '2', e: '=' });
  assert.deepEqual(connect.multiValueQueryStringParameters, { token: ['abc'], x: ['1', '2'], e: ['='] });
});

test('§1.1 CONNECT without a query string has no query maps at all', async () => {
  const { connect } = await session();
  assert.ok(!('queryStringParameters' in connect));
  assert.ok(!('multiValueQueryStringParameters' in connect));
});

test('§1.1 MESSAGE: no headers, the body unmodified, a messageId, isBase64Encoded false', async () => {
  const raw = '{"action":"sendmessage",  "data":"héllo"}';
  const { messages } = await session({ frames: [raw, 'not json'] });
  const [m, d] = messages;
  assert.ok(!('headers' in m) && !('multiValueHeaders' in m) && !('queryStringParameters' in m));
  assert.equal(m.body, raw);
  assert.equal(m.requestContext.routeKey, 'sendmessage');
  assert.equal(m.requestContext.eventType, 'MESSAGE');
  assert.match(m.requestContext.messageId, ID);
  assert.equal(m.isBase64Encoded, false);
  assert.equal(d.requestContext.routeKey, '$default');
  assert.equal(d.body, 'not json');
  assert.notEqual(m.requestContext.messageId, d.requestContext.messageId);
});

test('§1.4 DISCONNECT: exactly the four fixed headers, the close code and reason', async () => {
  const { disconnect, connect } = await session({ code: 4001, reason: 'bye now' });
  assert.deepEqual(disconnect.headers, { Host: `127.0.0.1:${chatd.port}`, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' });
  assert.deepEqual(disconnect.multiValueHeaders, { Host: [`127.0.0.1:${chatd.port}`], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] });
  assert.equal(disconnect.requestContext.routeKey, '$disconnect');
  assert.equal(disconnect.requestContext.disconnectStatusCode, 4001);
  assert.equal(disconnect.requestContext.disconnectReason, 'bye now');
  assert.ok(!('messageId' in disconnect.requestContext));
  assert.deepEqual(disconnect.requestContext.identity, connect.requestContext.identity);
});

test('§1.2 requestId equals extendedRequestId, is new for every event, and ids have the AWS shape', async () => {
  const { connect, messages, disconnect } = await session({ frames: ['a', 'b'] });
  const all = [connect, ...messages, disconnect];
  const ids = new Set();
  for (const e of all) {
    assert.equal(e.requestContext.requestId, e.requestContext.extendedRequestId);
    assert.match(e.requestContext.requestId, ID);
    assert.match(e.requestContext.connectionId, ID);
    ids.add(e.requestContext.requestId);
  }
  assert.equal(ids.size, all.length);
  assert.ok(!('messageId' in connect.requestContext));
});

test('§1.2 requestTime is CLF in UTC; requestTimeEpoch and connectedAt are ms; connectedAt is the same on every event', async () => {
  const t0 = Date.now();
  const { connect, messages, disconnect } = await session({ frames: ['x'] });
  for (const e of [connect, ...messages, disconnect]) {
    const rc = e.requestContext;
    assert.match(rc.requestTime, CLF);
    assert.ok(rc.requestTimeEpoch >= t0 - 5 && rc.requestTimeEpoch <= Date.now());
    assert.equal(rc.connectedAt, connect.requestContext.connectedAt);
    assert.ok(rc.requestTimeEpoch >= rc.connectedAt);
  }
  assert.ok(connect.requestContext.requestTimeEpoch - connect.requestContext.connectedAt <= 50);
});

test('§1.2 identity.userAgent is omitted when the client sends no User-Agent', async () => {
  const { connect } = await session(); // the ws library sends no User-Agent
  assert.deepEqual(connect.requestContext.identity, { sourceIp: '127.0.0.1' });
  const withUa = await session({ headers: { 'User-Agent': 'ua/2' } });
  assert.deepEqual(withUa.connect.requestContext.identity, { userAgent: 'ua/2', sourceIp: '127.0.0.1' });
});

test('§1.2 apiId, domainName (the Host used), stage and messageDirection', async () => {
  const { connect } = await session();
  const rc = connect.requestContext;
  assert.equal(rc.apiId, 'abc123defg');
  assert.equal(rc.domainName, `127.0.0.1:${chatd.port}`);
  assert.equal(rc.stage, 'dev');
  assert.equal(rc.messageDirection, 'IN');
  assert.equal(rc.eventType, 'CONNECT');
  assert.equal(rc.routeKey, '$connect');
});

test('--event-log writes every event handed to an integration as one JSON line', async () => {
  const { connect, disconnect } = await session({ frames: ['logged frame'] });
  const id = connect.requestContext.connectionId;
  await eventually(() => {
    try { return readFileSync(logFile, 'utf8').includes(disconnect.requestContext.requestId); } catch { return false; }
  }, 3000, 'the event log to catch up');
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const mine = lines.filter((e) => e.requestContext.connectionId === id);
  assert.deepEqual(mine.map((e) => e.requestContext.eventType), ['CONNECT', 'MESSAGE', 'DISCONNECT']);
  assert.deepEqual(mine[0], connect, 'the logged event is exactly what the integration received');
  assert.equal(mine[1].body, 'logged frame');
});
