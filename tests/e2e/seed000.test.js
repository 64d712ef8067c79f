// Seed 000, the AWS tutorial: wscat users type {"action":"sendmessage",...} and every connected
// client, the sender included, sees the text. Uses the real wscat from npm.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChatd, Client, eventually } from './lib.js';

const wscatBin = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/.bin/wscat');
let chatd;
before(async () => { chatd = await startChatd(); });
after(async () => { await chatd.stop(); });

/** Start wscat with an open stdin (it exits when stdin ends) and collect what it prints. */
function wscat(args) {
  const proc = spawn(wscatBin, ['--no-color', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { text: '', proc };
  proc.stdout.on('data', (d) => { out.text += d; });
  proc.stderr.on('data', (d) => { out.text += d; });
  out.done = new Promise((resolve) => proc.on('exit', resolve));
  out.kill = () => { proc.stdin.end(); proc.kill('SIGTERM'); return out.done; };
  return out;
}

test('seed 000: a line typed into wscat reaches every wscat and ws client, the sender included', async () => {
  const watcher = await Client.connect(chatd.url);
  const typist = wscat(['-c', chatd.url]);
  const listener = wscat(['-c', chatd.url]);
  try {
    // wscat prints nothing on connect when not on a terminal: probe until both hear us.
    let n = 0;
    await eventually(() => {
      watcher.send({ action: 'sendmessage', message: `probe-${++n}` });
      return /probe-/.test(typist.text) && /probe-/.test(listener.text);
    }, 8000, 'wscat clients to connect');
    typist.proc.stdin.write('{"action":"sendmessage","message":"Hello, World!"}\n');
    assert.equal(await watcher.nextRaw((t) => t === 'Hello, World!'), 'Hello, World!');
    await eventually(() => /Hello, World!/.test(typist.text) && /Hello, World!/.test(listener.text),
      3000, 'both wscat clients to print Hello, World!');
  } finally {
    await typist.kill();
    await listener.kill();
    await watcher.close();
  }
});

test('seed 000: wscat -x sends on connect and prints its own broadcast', async () => {
  const watcher = await Client.connect(chatd.url);
  const once = wscat(['-c', chatd.url, '-x', '{"action":"sendmessage","data":"hi from wscat"}', '-w', '1']);
  assert.equal(await watcher.nextRaw((t) => t === 'hi from wscat'), 'hi from wscat');
  await once.done;
  assert.match(once.text, /^hi from wscat$/m);
  await watcher.close();
});

test('seed 000: sendmessage is raw text to everyone; the SAM sample data field works', async () => {
  const clients = await Promise.all([1, 2, 3].map(() => Client.connect(chatd.url)));
  clients[0].send({ action: 'sendmessage', message: 'Hello, World!' });
  for (const c of clients) assert.equal(await c.nextRaw(), 'Hello, World!');
  clients[2].send({ action: 'sendmessage', data: 'hi' });
  for (const c of clients) assert.equal(await c.nextRaw(), 'hi');
  // Text that looks like JSON is still delivered unchanged.
  clients[1].send({ action: 'sendmessage', message: '{"a": 1}' });
  for (const c of clients) assert.equal(await c.nextRaw(), '{"a": 1}');
  await Promise.all(clients.map((c) => c.close()));
});

test('seed 000: the WebSocket endpoint is served at / as well as /{stage}', async () => {
  const root = await Client.connect(`ws://127.0.0.1:${chatd.port}/`);
  const staged = await Client.connect(chatd.url);
  root.send({ action: 'sendmessage', message: 'from root' });
  assert.equal(await staged.nextRaw(), 'from root');
  await root.close();
  await staged.close();
});
