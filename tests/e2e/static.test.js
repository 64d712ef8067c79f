// Static files over real HTTP from the real binary: content types, validators and 304s,
// caching headers, the security headers, index.html, 404 and hostile paths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startChatd, tempDir } from './lib.js';

const tmp = tempDir();
const root = path.join(tmp.dir, 'www');
let chatd;

before(async () => {
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(root, 'app.js'), 'export const x = 1;\n');
  writeFileSync(path.join(root, 'style.css'), 'body{}');
  writeFileSync(path.join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(root, 'sub', 'index.html'), 'sub');
  writeFileSync(path.join(tmp.dir, 'secret.txt'), 'secret');
  chatd = await startChatd({ args: ['--static', root] });
});

after(async () => { await chatd?.stop(); tmp.cleanup(); });

/** A raw request line, so hostile paths reach chatd exactly as written. */
function raw(target) {
  return new Promise((resolve, reject) => {
    const s = net.connect(chatd.port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    setTimeout(() => { s.destroy(); reject(new Error('no answer')); }, 5000);
  });
}

test('index.html for / and for a directory, with the right content types', async () => {
  for (const [p, type, body] of [
    ['/', 'text/html; charset=utf-8', '<!doctype html><title>t</title>'],
    ['/sub/', 'text/html; charset=utf-8', 'sub'],
    ['/app.js', 'text/javascript; charset=utf-8', 'export const x = 1;\n'],
    ['/style.css', 'text/css; charset=utf-8', 'body{}'],
    ['/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
  ]) {
    const res = await fetch(chatd.http + p);
    assert.equal(res.status, 200, p);
    assert.equal(res.headers.get('content-type'), type, p);
    assert.equal(await res.text(), body, p);
  }
});

test('/chatd.json tells the web client the stage', async () => {
  const res = await fetch(`${chatd.http}/chatd.json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const info = await res.json();
  assert.equal(info.stage, 'dev');
  assert.match(info.version, /^\d+\.\d+\.\d+$/);
});

test('ETag and Last-Modified validators answer 304 with no body, and change with the file', async () => {
  const first = await fetch(`${chatd.http}/app.js`);
  const etag = first.headers.get('etag');
  const modified = first.headers.get('last-modified');
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.match(modified, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.equal(first.headers.get('cache-control'), 'no-cache');

  const same = await fetch(`${chatd.http}/app.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(same.status, 304);
  assert.equal(await same.text(), '');
  assert.equal(same.headers.get('etag'), etag);
  const listed = await fetch(`${chatd.http}/app.js`, { headers: { 'If-None-Match': `"nope", W/${etag}` } });
  assert.equal(listed.status, 304, 'weak comparison over a list');
  const other = await fetch(`${chatd.http}/app.js`, { headers: { 'If-None-Match': '"other"' } });
  assert.equal(other.status, 200);

  const since = await fetch(`${chatd.http}/app.js`, { headers: { 'If-Modified-Since': modified } });
  assert.equal(since.status, 304);
  const older = await fetch(`${chatd.http}/app.js`, { headers: { 'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT' } });
  assert.equal(older.status, 200);
  const junk = await fetch(`${chatd.http}/app.js`, { headers: { 'If-Modified-Since': 'yesterday' } });
  assert.equal(junk.status, 200, 'an unparseable date is ignored');
  // If-None-Match wins over If-Modified-Since.
  const both = await fetch(`${chatd.http}/app.js`, { headers: { 'If-None-Match': '"other"', 'If-Modified-Since': modified } });
  assert.equal(both.status, 200);

  // An edited file gets a new validator.
  writeFileSync(path.join(root, 'app.js'), 'export const x = 2;\n');
  const later = new Date(Date.now() + 5000);
  utimesSync(path.join(root, 'app.js'), later, later);
  const edited = await fetch(`${chatd.http}/app.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(edited.status, 200);
  assert.notEqual(edited.headers.get('etag'), etag);
  assert.equal(await edited.text(), 'export const x = 2;\n');
});

test('security headers on every file', async () => {
  const res = await fetch(`${chatd.http}/`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const csp = res.headers.get('content-security-policy');
  for (const part of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(part), `${part} in ${csp}`);
  }
});

test('HEAD has the headers and no body', async () => {
  const res = await fetch(`${chatd.http}/app.js`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), String('export const x = 2;\n'.length));
  assert.equal(await res.text(), '');
});

test('missing files are 404 and hostile paths never leave the root', async () => {
  assert.equal((await fetch(`${chatd.http}/missing.js`)).status, 404);
  for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00']) {
    const reply = await raw(target);
    assert.match(reply, /^HTTP\/1\.1 (400|404) /, target);
    assert.ok(!reply.includes('secret\n') && !reply.endsWith('secret'), target);
  }
  const post = await fetch(`${chatd.http}/app.js`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
});
