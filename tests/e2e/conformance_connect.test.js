// Conformance, docs/contract.md §3: $connect decides the handshake. Each test is named after the rule.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startChatd, Client, tempDir, eventually } from './lib.js';
import { startHandler, routesFile } from './handlers.js';

let tmp;
before(() => { tmp = tempDir(); });
after(() => tmp.cleanup());

/** chatd whose $connect, $disconnect and $default go to `handler`. */
async function gatewayWith(handler, extra = {}, args = []) {
  const file = routesFile(tmp.dir, {
    routes: {
      $connect: { integration: handler.url('/connect') },
      $disconnect: { integration: handler.url('/disconnect') },
      $default: { integration: handler.url('/default') },
      ...extra,
    },
  }, `routes-${Math.random().toString(36).slice(2)}.json`);
  return startChatd({ args: ['--routes', file, '--integration-timeout', '1', ...args] });
}

/** The HTTP status a handshake gets (101 when it is accepted). */
function handshakeStatus(url, protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on('open', () => { ws.close(); resolve({ status: 101, protocol: ws.protocol }); });
    ws.on('unexpected-response', (req, res) => { resolve({ status: res.statusCode }); req.destroy(); });
    ws.on('error', reject);
  });
}

test('§3 $connect returning 2xx (201) completes the handshake', async () => {
  const h = await startHandler((ev) => ({ result: ev.requestContext.routeKey === '$connect' ? { statusCode: 201 } : null }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 101);
  await chatd.stop(); await h.close();
});

for (const code of [301, 400, 401, 403, 501]) {
  test(`§3 $connect returning ${code} refuses the handshake with HTTP ${code}`, async () => {
    const h = await startHandler((ev) => ({ result: ev.requestContext.routeKey === '$connect' ? { statusCode: code, body: 'nope' } : null }));
    const chatd = await gatewayWith(h);
    assert.equal((await handshakeStatus(chatd.url)).status, code);
    await chatd.stop(); await h.close();
  });
}

test('§3 $connect function error ({errorMessage, errorType}) refuses with 502', async () => {
  const h = await startHandler(() => ({ result: { errorMessage: 'boom', errorType: 'Error' } }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 502);
  await chatd.stop(); await h.close();
});

test('§3 $connect integration answering HTTP 500 refuses with 502', async () => {
  const h = await startHandler(() => ({ status: 500, raw: 'internal' }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 502);
  await chatd.stop(); await h.close();
});

test('§3 $connect integration unreachable refuses with 502', async () => {
  const h = await startHandler();
  await h.close(); // nothing listens there any more
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 502);
  await chatd.stop();
});

test('§3 $connect integration timeout refuses with 504', async () => {
  const h = await startHandler(() => ({ delayMs: 2500, result: { statusCode: 200 } }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 504);
  await chatd.stop(); await h.close();
});

test('§3 $connect returning nothing (null) accepts the connection', async () => {
  const h = await startHandler(() => ({ result: null }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 101);
  await chatd.stop(); await h.close();
});

test('§3 no $connect route: the connection is accepted', async () => {
  const h = await startHandler();
  const file = routesFile(tmp.dir, { routes: { $default: { integration: h.url() } } }, 'noconnect.json');
  const chatd = await startChatd({ args: ['--routes', file] });
  assert.equal((await handshakeStatus(chatd.url)).status, 101);
  await chatd.stop(); await h.close();
});

test('§3 only Sec-WebSocket-Protocol of the $connect headers reaches the 101', async () => {
  const h = await startHandler((ev) => ({
    result: ev.requestContext.routeKey !== '$connect' ? null : {
      statusCode: 200,
      headers: { 'Sec-WebSocket-Protocol': 'chat.v2', 'X-Custom': 'must-not-leak', 'Set-Cookie': 'a=b' },
    },
  }));
  const chatd = await gatewayWith(h);
  const upgradeHeaders = await new Promise((resolve, reject) => {
    const ws = new WebSocket(chatd.url, ['chat.v1', 'chat.v2']);
    ws.on('upgrade', (res) => resolve({ headers: res.headers, ws }));
    ws.on('error', reject);
  });
  assert.equal(upgradeHeaders.headers['sec-websocket-protocol'], 'chat.v2');
  assert.equal(upgradeHeaders.headers['x-custom'], undefined);
  assert.equal(upgradeHeaders.headers['set-cookie'], undefined);
  upgradeHeaders.ws.close();
  await chatd.stop(); await h.close();
});

test('§3 a refused $connect is not followed by $disconnect', async () => {
  const h = await startHandler((ev) => ({ result: ev.requestContext.routeKey === '$connect' ? { statusCode: 403 } : null }));
  const chatd = await gatewayWith(h);
  assert.equal((await handshakeStatus(chatd.url)).status, 403);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.of('$connect').length, 1);
  assert.equal(h.of('$disconnect').length, 0);
  await chatd.stop(); await h.close();
});

test('§3 the upgrade waits for $connect, and posting to the new id meanwhile gives 410', async () => {
  let postStatus;
  let chatdHttp;
  const h = await startHandler(async (ev) => {
    if (ev.requestContext.routeKey !== '$connect') return { result: null };
    const id = encodeURIComponent(ev.requestContext.connectionId);
    postStatus = (await fetch(`${chatdHttp}/dev/@connections/${id}`, { method: 'POST', body: 'early' })).status;
    return { delayMs: 300, result: { statusCode: 200 } };
  });
  const chatd = await gatewayWith(h);
  chatdHttp = chatd.http;
  const started = Date.now();
  const c = await Client.connect(chatd.url);
  assert.ok(Date.now() - started >= 280, 'no 101 before $connect finished');
  assert.equal(postStatus, 410);
  assert.ok(await c.quiet(200), 'the early post was not delivered');
  await c.close();
  await chatd.stop(); await h.close();
});

test('§7 $disconnect fires exactly once for an accepted connection', async () => {
  const h = await startHandler(() => ({ result: { statusCode: 200 } }));
  const chatd = await gatewayWith(h);
  const c = await Client.connect(chatd.url);
  await c.close(4000, 'done');
  await eventually(() => h.of('$disconnect').length === 1, 3000, '$disconnect');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.of('$disconnect').length, 1);
  const ev = h.of('$disconnect')[0];
  assert.equal(ev.requestContext.disconnectStatusCode, 4000);
  assert.equal(ev.requestContext.disconnectReason, 'done');
  await chatd.stop(); await h.close();
});
