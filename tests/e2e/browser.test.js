// The web client in static/, in real headless Chromium (Debian's, driven by playwright-core),
// against the real chatd binary with a real SQLite file. Two browser profiles, alice and bob,
// each a fresh user-data dir. Screenshots of the main states go to tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startChatd, startPackagedChat, Client, tempDir, writeTree } from './lib.js';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 10000 };

const tmp = tempDir();
const db = path.join(tmp.dir, 'chat.db');
let chatd;
const browsers = [];

/** A fresh browser profile: its own user-data dir, so its own localStorage. */
async function browser(name, viewport = { width: 1100, height: 720 }) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), `chatd-chromium-${name}-`));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args: flags, viewport, timeout: 30000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  const b = { name, context, page, problems, userDataDir };
  browsers.push(b);
  return b;
}

async function open(b, displayName) {
  await b.page.goto(`${chatd.http}/`);
  await b.page.fill('#name', displayName);
  await b.page.click('#connect-button');
  await b.page.waitForSelector('#status[data-state="connected"]', WAIT);
}

const messageTexts = (page) => page.$$eval('#messages .message:not(.pending) .text', (els) => els.map((e) => e.textContent));
const shot = (b, file) => b.page.screenshot({ path: path.join(artifacts, file), fullPage: true });

async function sendFrom(b, text) {
  await b.page.fill('#text', text);
  await b.page.press('#text', 'Enter');
}

async function waitForText(b, text) {
  await b.page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((e) => e.textContent === t),
    text, WAIT);
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  chatd = await startChatd({ db, args: ['--static', path.resolve(here, '../../static')] });
});

after(async () => {
  for (const b of browsers) {
    await b.context.close().catch(() => {});
    rmSync(b.userDataDir, { recursive: true, force: true });
  }
  await chatd?.stop();
  tmp.cleanup();
});

test('two browsers: rooms, members, messages both ways, unread counts, text stays text, reload, restart', async () => {
  const alice = await browser('alice');
  const bob = await browser('bob');

  await open(alice, 'alice');
  assert.equal(await alice.page.textContent('#status'), 'Connected');
  await shot(alice, '01-connected.png');

  // alice creates a room and is in it.
  await alice.page.fill('#new-room', 'lobby');
  await alice.page.click('#create-form button[type="submit"]');
  await alice.page.waitForSelector('#views button[data-room="lobby"][aria-current="true"]', WAIT);
  assert.equal(await alice.page.textContent('#view-title'), '# lobby');
  await alice.page.waitForSelector('#members li:has-text("alice")', WAIT);

  // bob sees it in the room list and joins; alice's member list updates.
  await open(bob, 'bob');
  await bob.page.click('#room-list button[data-room="lobby"]', WAIT);
  await bob.page.waitForSelector('#views button[data-room="lobby"][aria-current="true"]', WAIT);
  await alice.page.waitForSelector('#members li:has-text("bob")', WAIT);
  assert.equal(await alice.page.textContent('#members-heading'), 'Members (2)');

  // Messages both ways; the sender's copy is confirmed (no longer pending) once stored.
  await sendFrom(alice, 'hello bob');
  await waitForText(bob, 'hello bob');
  await waitForText(alice, 'hello bob');
  await sendFrom(bob, 'hi alice');
  await waitForText(alice, 'hi alice');
  assert.deepEqual(await messageTexts(alice.page), ['hello bob', 'hi alice']);
  assert.equal(await alice.page.locator('#messages .pending').count(), 0);
  await shot(alice, '02-room-conversation.png');

  // Unread count on a room not in view.
  await alice.page.click('#views button[data-room=""]');
  assert.equal(await alice.page.textContent('#view-title'), 'Everyone');
  await sendFrom(bob, 'are you there?');
  await alice.page.waitForSelector('#views button[data-room="lobby"] .badge', WAIT);
  assert.equal(await alice.page.getAttribute('#views button[data-room="lobby"]', 'aria-label'), '# lobby, 1 unread');
  await shot(alice, '03-unread.png');
  await alice.page.click('#views button[data-room="lobby"]');
  assert.equal(await alice.page.locator('#views button[data-room="lobby"] .badge').count(), 0);

  // Everyone view: the tutorial's sendmessage reaches both.
  await alice.page.click('#views button[data-room=""]');
  await bob.page.click('#views button[data-room=""]');
  await sendFrom(bob, 'broadcast from bob');
  await waitForText(alice, 'broadcast from bob');
  await waitForText(bob, 'broadcast from bob');
  await alice.page.click('#views button[data-room="lobby"]');
  await bob.page.click('#views button[data-room="lobby"]');

  // Hostile text is shown as text: no element is created, no script runs.
  const hostile = '<img src=x onerror=alert(1)>';
  await sendFrom(bob, hostile);
  await waitForText(alice, hostile);
  assert.equal(await alice.page.locator('#messages img').count(), 0);
  assert.equal(await alice.page.locator('#messages .text', { hasText: hostile }).count(), 1);

  // Server errors are shown in words.
  await alice.page.fill('#new-room', 'lobby');
  await alice.page.click('#create-form button[type="submit"]');
  await alice.page.waitForSelector('#error:not([hidden])', WAIT);
  assert.match(await alice.page.textContent('#error-text'), /already exists.*RoomExists/);
  await shot(alice, '04-error.png');
  await alice.page.click('#error-dismiss');

  // Reload: the tab reconnects, rejoins lobby and shows the history from the database.
  await alice.page.reload();
  await alice.page.waitForSelector('#status[data-state="connected"]', WAIT);
  await alice.page.waitForSelector('#views button[data-room="lobby"][aria-current="true"]', WAIT);
  await waitForText(alice, 'hi alice');
  assert.deepEqual(await messageTexts(alice.page), ['hello bob', 'hi alice', 'are you there?', hostile]);
  assert.equal(await alice.page.inputValue('#name'), 'alice');

  // A message shows as pending until the server acknowledges it (stored): pause chatd to see it.
  chatd.proc.kill('SIGSTOP');
  await sendFrom(alice, 'sent while chatd is paused');
  await alice.page.waitForSelector('#messages .pending:has-text("sent while chatd is paused")', WAIT);
  assert.equal(await alice.page.textContent('#messages .pending .note'), 'sending…');
  await shot(alice, '05-pending.png');
  chatd.proc.kill('SIGCONT');
  await waitForText(alice, 'sent while chatd is paused');
  assert.equal(await alice.page.locator('#messages .pending').count(), 0);

  // Kill chatd outright, restart it on the same port and file: both tabs come back by themselves.
  const port = chatd.port;
  await chatd.stop('SIGKILL');
  await alice.page.waitForSelector('#status[data-state="reconnecting"]', WAIT);
  assert.match(await alice.page.textContent('#status'), /^Reconnecting/);
  await shot(alice, '06-reconnecting.png');
  chatd = await startChatd({ db, args: ['--port', String(port), '--static', path.resolve(here, '../../static')] });
  for (const b of [alice, bob]) {
    await b.page.waitForSelector('#status[data-state="connected"]', { timeout: 20000 });
    await b.page.waitForSelector('#views button[data-room="lobby"]', WAIT);
  }
  await alice.page.waitForSelector('#members li:has-text("bob")', WAIT);
  await sendFrom(alice, 'back after the restart');
  await waitForText(bob, 'back after the restart');
  assert.deepEqual((await messageTexts(bob.page)).slice(-3), [hostile, 'sent while chatd is paused', 'back after the restart']);

  // While chatd was down, a reconnection attempt may have been refused; Chromium logs that on
  // the console. It is expected here, and nothing else may be there.
  const refused = /^console: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/dev\?name=\w+' failed: Error in connection establishment: net::ERR_CONNECTION_REFUSED$/;
  for (const b of [alice, bob]) assert.deepEqual(b.problems.filter((p) => !refused.test(p)), [], `${b.name}: errors in the page`);
});

test('history pages load on scroll and timestamps are local', async () => {
  // 60 stored messages written by a plain WebSocket client.
  const writer = await Client.connect(`${chatd.url}?name=writer`);
  await writer.request({ action: 'createRoom', roomId: 'history' });
  await writer.request({ action: 'joinRoom', roomId: 'history' });
  for (let i = 1; i <= 60; i += 1) await writer.request({ action: 'sendMessage', roomId: 'history', message: `line ${i}` });

  const carol = await browser('carol');
  await open(carol, 'carol');
  await carol.page.click('#room-list button[data-room="history"]');
  await waitForText(carol, 'line 60');
  let texts = await messageTexts(carol.page);
  assert.equal(texts.length, 20, 'joinRoom brings the newest 20');
  assert.equal(texts[0], 'line 41');
  // Scrolling to the top asks for the page before the oldest one shown.
  await carol.page.$eval('#scroller', (s) => { s.scrollTop = 0; s.dispatchEvent(new Event('scroll')); });
  await waitForText(carol, 'line 1');
  texts = await messageTexts(carol.page);
  assert.deepEqual(texts, Array.from({ length: 60 }, (_, i) => `line ${i + 1}`));
  assert.equal(await carol.page.isHidden('#older'), true, 'no more pages');
  // Each message carries its time as ISO in datetime and shows it in the browser's local time.
  const stamp = await carol.page.$eval('#messages time', (t) => ({ iso: t.getAttribute('datetime'), shown: t.textContent }));
  assert.equal(stamp.shown, await carol.page.evaluate((iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }), stamp.iso));
  await writer.close();
  assert.deepEqual(carol.problems, []);
});

test('keyboard only, labelled inputs, and a phone-width screen', async () => {
  const dave = await browser('dave', { width: 390, height: 844 });
  await dave.page.goto(`${chatd.http}/`);
  // Every input has a label a screen reader can announce.
  const unlabelled = await dave.page.$$eval('input', (els) => els.filter((e) => e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, []);
  // Nothing is wider than the screen.
  assert.ok(await dave.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  await dave.page.waitForSelector('#status[data-state="connected"]', WAIT);
  // Keyboard only: Tab to the rooms toggle, open it, Tab to a room and join it with Enter.
  await dave.page.focus('#toggle-nav');
  await dave.page.keyboard.press('Enter');
  assert.equal(await dave.page.getAttribute('#toggle-nav', 'aria-expanded'), 'true');
  await dave.page.focus('#room-list button[data-room="lobby"]');
  await dave.page.keyboard.press('Enter');
  await dave.page.waitForSelector('#views button[data-room="lobby"][aria-current="true"]', WAIT);
  // Joining moves focus to the message box; typing and Enter send.
  await dave.page.focus('#text');
  await dave.page.keyboard.type('typed without a mouse');
  await dave.page.keyboard.press('Enter');
  await waitForText(dave, 'typed without a mouse');
  await shot(dave, '07-phone.png');
  assert.deepEqual(dave.problems, []);
});

test('the default endpoint follows the stage chatd serves', async () => {
  const prod = await startChatd({ args: ['--stage', 'prod', '--static', path.resolve(here, '../../static')] });
  try {
    const frank = await browser('frank');
    await frank.page.goto(`${prod.http}/`);
    await frank.page.waitForSelector('#status[data-state="connected"]', WAIT);
    assert.equal(await frank.page.inputValue('#endpoint'), `ws://127.0.0.1:${prod.port}/prod`);
    assert.deepEqual(frank.problems, []);
  } finally {
    await prod.stop();
  }
});

test('the page is served with a strict Content-Security-Policy and works with no other origin', async () => {
  const res = await fetch(`${chatd.http}/`);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // Every request the page makes goes to chatd itself (no CDN, no fonts from elsewhere).
  const erin = await browser('erin');
  const others = [];
  erin.page.on('request', (r) => { if (!r.url().startsWith(chatd.http) && !r.url().startsWith(`ws://127.0.0.1:${chatd.port}`)) others.push(r.url()); });
  await open(erin, 'erin');
  assert.deepEqual(others, []);
  assert.deepEqual(erin.problems, []);
});

/** Alice and bob in two browsers on `pageUrl`: a room made, joined, a message each way. */
async function chatInRoom(pageUrl, room) {
  const [alice, bob] = [await browser(`alice-${room}`), await browser(`bob-${room}`)];
  for (const [b, n] of [[alice, 'alice'], [bob, 'bob']]) {
    await b.page.goto(pageUrl);
    await b.page.fill('#name', n);
    await b.page.click('#connect-button');
    await b.page.waitForSelector('#status[data-state="connected"]', WAIT);
  }
  await alice.page.fill('#new-room', room);
  await alice.page.click('#create-form button[type="submit"]');
  await alice.page.waitForSelector(`#views button[data-room="${room}"][aria-current="true"]`, WAIT);
  await bob.page.click('#refresh-rooms');
  await bob.page.click(`#room-list button[data-room="${room}"]`, WAIT);
  await bob.page.waitForSelector(`#views button[data-room="${room}"][aria-current="true"]`, WAIT);
  await alice.page.waitForSelector('#members li:has-text("bob")', WAIT);
  await sendFrom(alice, `hello from alice in ${room}`);
  await waitForText(bob, `hello from alice in ${room}`);
  await sendFrom(bob, `hello from bob in ${room}`);
  await waitForText(alice, `hello from bob in ${room}`);
  return [alice, bob];
}

test('the web client works the same against the packaged chat-lambda on DynamoDB', async () => {
  const lambda = await startPackagedChat({ args: ['--static', path.resolve(here, '../../static')] });
  try {
    const [alice, bob] = await chatInRoom(`${lambda.http}/`, 'lambda-room');
    assert.equal(await alice.page.inputValue('#endpoint'), `ws://127.0.0.1:${lambda.port}/prod`);
    await shot(bob, '08-lambda.png');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  } finally {
    await lambda.stop();
  }
});

test('served from elsewhere (as from S3 behind CloudFront), the client connects where chatd.json says', async () => {
  const lambda = await startPackagedChat();
  // A plain file server standing in for the bucket: static/ plus the chatd.json a deployment
  // publishes, naming the API's endpoint.
  const site = tempDir();
  const root = path.resolve(here, '../../static');
  const files = Object.fromEntries(readdirSync(root).filter((f) => !f.startsWith('.')).map((f) => [f, readFileSync(path.join(root, f))]));
  writeTree(site.dir, { ...files, 'chatd.json': JSON.stringify({ endpoint: lambda.url }) });
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    if (name.includes('..') || !Object.hasOwn({ ...files, 'chatd.json': 1 }, name)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(name)] ?? 'application/octet-stream' }).end(readFileSync(path.join(site.dir, name)));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const [alice, bob] = await chatInRoom(`http://127.0.0.1:${server.address().port}/`, 'cdn-room');
    assert.equal(await alice.page.inputValue('#endpoint'), lambda.url);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  } finally {
    server.close();
    site.cleanup();
    await lambda.stop();
  }
});
