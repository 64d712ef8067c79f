// Conformance, docs/contract.md §2 (route selection) and §4 (route responses and error frames).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, Client, tempDir } from './lib.js';
import { startHandler, routesFile } from './handlers.js';

const FRAME = (msg) => new RegExp(`^\\{"message": "${msg}", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\\}$`);

let tmp;
let h;
let chatd;
// The handler answers by route: echo (two-way), oneway, throws, malformed, http500, slow, ...
before(async () => {
  tmp = tempDir();
  h = await startHandler((ev, req) => {
    const body = (() => { try { return JSON.parse(ev.body); } catch { return {}; } })();
    switch (req.url) {
      case '/echo': return { result: { statusCode: 200, body: `echo:${body.text ?? ''}` } };
      case '/status500': return { result: { statusCode: 500, body: 'body despite 500' } };
      case '/empty': return { result: { statusCode: 200, body: '' } };
      case '/nobody': return { result: { statusCode: 200 } };
      case '/oneway': return { result: { statusCode: 200, body: 'never sent' } };
      case '/throws': return { result: { errorMessage: 'boom', errorType: 'Error', stackTrace: [] } };
      case '/malformed': return { result: { ConnectionId: 'x', Data: 'y', statusCode: 200 } };
      case '/http500': return { status: 500, raw: 'oops' };
      case '/slow': return { delayMs: 2000, result: { statusCode: 200, body: 'late' } };
      case '/route': return { result: { statusCode: 200, body: `routeKey=${ev.requestContext.routeKey}` } };
      default: return { result: null };
    }
  });
  const api = {
    routeSelectionExpression: '$request.body.action',
    routes: {
      echo: { integration: h.url('/echo'), twoWay: true },
      status500: { integration: h.url('/status500'), twoWay: true },
      empty: { integration: h.url('/empty'), twoWay: true },
      nobody: { integration: h.url('/nobody'), twoWay: true },
      oneway: { integration: h.url('/oneway') },
      throws: { integration: h.url('/throws') },
      throwsTwoWay: { integration: h.url('/throws'), twoWay: true },
      malformed: { integration: h.url('/malformed'), twoWay: true },
      http500: { integration: h.url('/http500'), twoWay: true },
      slow: { integration: h.url('/slow'), twoWay: true },
      1: { integration: h.url('/route'), twoWay: true },
      sendmessage: { integration: 'chat' },
    },
  };
  chatd = await startChatd({ args: ['--routes', routesFile(tmp.dir, api), '--integration-timeout', '1'] });
});
after(async () => { await chatd.stop(); await h.close(); tmp.cleanup(); });

test('§4 a two-way route sends the body back as one frame', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'echo', text: 'hi' });
  assert.equal(await c.nextRaw(), 'echo:hi');
  await c.close();
});

test('§4 a two-way route sends the body even when statusCode is 500', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'status500' });
  assert.equal(await c.nextRaw(), 'body despite 500');
  await c.close();
});

test('§4 a two-way route with an empty or absent body sends nothing', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'empty' });
  c.send({ action: 'nobody' });
  c.send({ action: 'echo', text: 'marker' });
  assert.equal(await c.nextRaw(), 'echo:marker', 'the first frame to arrive is the marker');
  await c.close();
});

test('§4 a one-way route sends nothing back', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'oneway' });
  assert.ok(await c.quiet(400));
  await c.close();
});

test('§4 a function error gives the exact Internal server error frame; the connection stays open', async () => {
  const c = await Client.connect(chatd.url);
  for (const action of ['throws', 'throwsTwoWay']) {
    c.send({ action });
    assert.match(await c.nextRaw(), FRAME('Internal server error'));
  }
  c.send({ action: 'echo', text: 'still open' });
  assert.equal(await c.nextRaw(), 'echo:still open');
  await c.close();
});

test('§4 a malformed proxy result gives the Internal server error frame', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'malformed' });
  assert.match(await c.nextRaw(), FRAME('Internal server error'));
  await c.close();
});

test('§4 an integration answering HTTP 500 gives the Internal server error frame', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'http500' });
  assert.match(await c.nextRaw(), FRAME('Internal server error'));
  await c.close();
});

test('§4 an integration timeout gives the Endpoint request timed out frame; the connection stays open', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'slow' });
  const frame = await c.nextRaw(() => true, 4000);
  assert.match(frame, FRAME('Endpoint request timed out'));
  assert.equal(JSON.parse(frame).connectionId.length, 16);
  c.send({ action: 'echo', text: 'after timeout' });
  assert.equal(await c.nextRaw((t) => t.startsWith('echo:'), 4000), 'echo:after timeout');
  await c.close();
});

test('§2 matching is exact and case-sensitive: Echo and ECHO do not select echo (Forbidden without $default)', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 'Echo', text: 'x' });
  assert.match(await c.nextRaw(), FRAME('Forbidden'));
  c.send({ action: 'ECHO', text: 'x' });
  assert.match(await c.nextRaw(), FRAME('Forbidden'));
  c.send({ action: 'echo', text: 'routed' });
  assert.equal(await c.nextRaw(), 'echo:routed');
  await c.close();
});

test('§2 no route and no $default: the Forbidden frame, byte-exact; the connection stays open', async () => {
  const c = await Client.connect(chatd.url);
  for (const frame of ['hello', '{"hello":"world"}', '[1]', '{"action":"nope"}', '{"action":""}']) {
    c.send(frame);
    const f = await c.nextRaw();
    assert.match(f, FRAME('Forbidden'));
  }
  c.send({ action: 'echo', text: 'open' });
  assert.equal(await c.nextRaw(), 'echo:open');
  await c.close();
});

test('§2 a numeric selection value is stringified: action 1 selects route "1"', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: 1 });
  assert.equal(await c.nextRaw(), 'routeKey=1');
  await c.close();
});

test('§2 lifecycle keys are never selected by a frame: {"action":"$connect"} is unmatched', async () => {
  const c = await Client.connect(chatd.url);
  c.send({ action: '$connect' });
  assert.match(await c.nextRaw(), FRAME('Forbidden'));
  await c.close();
});

test('§2 unmatched frames reach $default with routeKey "$default"', async () => {
  const handler = await startHandler((ev) => ({ result: { statusCode: 200, body: `${ev.requestContext.routeKey}|${ev.body}` } }));
  const file = routesFile(tmp.dir, { routes: { $default: { integration: handler.url(), twoWay: true } } }, 'default.json');
  const gw = await startChatd({ args: ['--routes', file] });
  const c = await Client.connect(gw.url);
  c.send('not json at all');
  assert.equal(await c.nextRaw(), '$default|not json at all');
  c.send('{"action":"whatever"}');
  assert.equal(await c.nextRaw(), '$default|{"action":"whatever"}');
  await c.close();
  await gw.stop(); await handler.close();
});

test('§2 a template expression ${request.body.service}/${request.body.action} selects "chat/join"', async () => {
  const handler = await startHandler((ev) => ({ result: { statusCode: 200, body: ev.requestContext.routeKey } }));
  const file = routesFile(tmp.dir, {
    routeSelectionExpression: '${request.body.service}/${request.body.action}',
    routes: { 'chat/join': { integration: handler.url(), twoWay: true }, $default: { integration: handler.url(), twoWay: true } },
  }, 'template.json');
  const gw = await startChatd({ args: ['--routes', file] });
  const c = await Client.connect(gw.url);
  c.send({ service: 'chat', action: 'join' });
  assert.equal(await c.nextRaw(), 'chat/join');
  c.send({ service: 'chat' });
  assert.equal(await c.nextRaw(), '$default');
  await c.close();
  await gw.stop(); await handler.close();
});

test('§4 $disconnect results and errors are ignored', async () => {
  const handler = await startHandler((ev) => (ev.requestContext.routeKey === '$disconnect'
    ? { result: { errorMessage: 'disconnect failed', errorType: 'Error' } }
    : { result: { statusCode: 200 } }));
  const file = routesFile(tmp.dir, {
    routes: { $connect: { integration: handler.url() }, $disconnect: { integration: handler.url() }, $default: { integration: handler.url() } },
  }, 'disc.json');
  const gw = await startChatd({ args: ['--routes', file] });
  for (let i = 0; i < 3; i++) {
    const c = await Client.connect(gw.url);
    await c.close();
  }
  const c = await Client.connect(gw.url);
  assert.equal(c.ws.readyState, 1, 'chatd still accepts connections');
  await c.close();
  await gw.stop(); await handler.close();
});
