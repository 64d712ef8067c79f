// TLS with a throwaway CA made by the openssl CLI: wss:// and https:// (the web client, the
// management API) for a client that trusts the CA; refusal for one that does not; and the AWS
// tutorial's sendmessage, unchanged, building https://${domainName}/${stage} from the event
// and posting through the SDK with the CA trusted the usual Node way (NODE_EXTRA_CA_CERTS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startChatd, Client, tempDir, chatdBin, makeTestCa } from './lib.js';
import { routesFile } from './handlers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = tempDir();
const file = (name) => path.join(tmp.dir, name);
let ca;

before(() => { ca = makeTestCa(tmp.dir); });

after(() => tmp.cleanup());

const tlsArgs = () => ['--tls-cert', file('server.pem'), '--tls-key', file('server.key')];

function get(url, options = {}) {
  return new Promise((resolve, reject) => {
    https.get(url, options, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

test('a client that trusts the CA gets wss:// and https://; one that does not is refused', async () => {
  const chatd = await startChatd({ args: tlsArgs() });
  try {
    assert.match(chatd.url, /^wss:\/\/127\.0\.0\.1:\d+\/dev$/);
    // https: health, the web client (with its CSP), the management API.
    assert.equal((await get(`${chatd.http}/healthz`, { ca })).body, 'ok\n');
    const page = await get(`${chatd.http}/`, { ca });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-security-policy'], /connect-src 'self' ws: wss:/);

    const c = await Client.connect(`${chatd.url}?name=secure`, { ca });
    const created = await c.request({ action: 'createRoom', roomId: 'tls' });
    assert.equal(created.type, 'roomCreated');
    // $connect saw the TLS connection as API Gateway reports it.
    const gone = await get(`${chatd.http}/dev/@connections/AAAAAAAAAAAAAAA=`, { ca });
    assert.equal(gone.status, 410);

    // Not trusted: the TLS handshake fails on the client side.
    await assert.rejects(Client.connect(chatd.url), (e) => /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/.test(e.code));
    await assert.rejects(get(`${chatd.http}/healthz`), (e) => /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/.test(e.code));
    // Plain ws:// or http:// to the TLS port: a plain-text 400 that says what to use, and
    // chatd keeps serving.
    await assert.rejects(Client.connect(chatd.url.replace('wss:', 'ws:')), /HTTP 400/);
    const plain = await fetch(`${chatd.http.replace('https:', 'http:')}/healthz`);
    assert.equal(plain.status, 400);
    assert.equal(await plain.text(), 'chatd serves TLS on this port: use https:// or wss://\n');
    const after = await c.request({ action: 'listRooms' });
    assert.equal(after.type, 'rooms');
    await c.close();
  } finally {
    await chatd.stop();
  }
});

test('the AWS tutorial functions post to https://${domainName}/${stage} unchanged', async () => {
  const handler = spawn(process.execPath, [path.join(here, 'tutorial_handler.mjs')], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: file('ca.pem') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('handler did not start')), 10000);
    handler.stdout.on('data', (d) => {
      const m = /handler listening on (\d+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  const url = (p) => `http://127.0.0.1:${port}/${p}`;
  const routes = routesFile(tmp.dir, {
    routeSelectionExpression: '$request.body.action',
    routes: {
      $connect: { integration: url('connect') },
      $disconnect: { integration: url('disconnect') },
      sendmessage: { integration: url('sendmessage') },
    },
  });
  const chatd = await startChatd({ args: [...tlsArgs(), '--routes', routes] });
  try {
    const clients = await Promise.all([1, 2].map(() => Client.connect(chatd.url, { ca })));
    clients[0].send({ action: 'sendmessage', message: 'over TLS, end to end' });
    for (const c of clients) assert.equal(await c.nextRaw(undefined, 5000), 'over TLS, end to end');
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await chatd.stop();
    handler.kill('SIGTERM');
  }
});

test("wss:// or https:// to a plain chatd: refused, and chatd's log says what to do", async () => {
  const chatd = await startChatd();
  try {
    await assert.rejects(Client.connect(chatd.url.replace('ws:', 'wss:')));
    await assert.rejects(fetch(`${chatd.http.replace('http:', 'https:')}/healthz`));
    const line = 'INFO a TLS handshake reached this plain port from 127.0.0.1: connect with ws:// and ' +
      'http://, or start chatd with --tls-cert and --tls-key';
    for (let i = 0; i < 50 && chatd.stderr().split(line).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(chatd.stderr().split(line).length - 1, 2, chatd.stderr());
    assert.equal((await fetch(`${chatd.http}/healthz`)).status, 200);
  } finally {
    await chatd.stop();
  }
});

test('unreadable or mismatched TLS files stop chatd at start with one line and exit 2', () => {
  const run = (args) => {
    try {
      execFileSync(chatdBin, ['--port', '0', '--db', ':memory:', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
      return { status: 0, stderr: '' };
    } catch (e) {
      return { status: e.status, stderr: String(e.stderr) };
    }
  };
  let r = run(['--tls-cert', file('missing.pem'), '--tls-key', file('server.key')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^chatd: --tls-cert '.*missing\.pem': not a readable PEM certificate/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  r = run(['--tls-cert', file('server.pem'), '--tls-key', file('ca.key')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^chatd: --tls-key '.*ca\.key': not a readable PEM private key for the certificate/);
  r = run(['--tls-cert', file('server.pem')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--tls-cert needs --tls-key/);
});
