// chat-lambda.zip as Lambda gets it: the layout provided.al2023 needs, nothing loaded from the
// system but /bin/sh (so Amazon Linux 2023's glibc 2.34 is never asked for the newer symbols
// the Debian-built binary needs), and it runs: through bootstrap, with an empty environment
// but the Runtime API's address, it reports its own mistakes to the Runtime API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chatLambdaZip, tempDir } from './lib.js';

let pkg;
let cleanup;

before(() => {
  ({ dir: pkg, cleanup } = tempDir());
  // Unpack with the modes the zip records (Python's zipfile keeps them in external_attr).
  execFileSync('python3', ['-c', `
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = info.external_attr >> 16
        if mode: os.chmod(path, mode & 0o7777)
`, chatLambdaZip, pkg]);
});
after(() => cleanup?.());

const mode = (p) => statSync(path.join(pkg, p)).mode & 0o777;
const glibcVersions = (text) => [...new Set([...text.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => `${m[1]}.${m[2]}`))]
  .sort((a, b) => { const [x1, y1] = a.split('.').map(Number); const [x2, y2] = b.split('.').map(Number); return x1 - x2 || y1 - y2; });

test('the package has bootstrap, the binary, the loader and libc, executable where it must be', () => {
  assert.equal(mode('bootstrap'), 0o755);
  assert.equal(mode('bin/chat-lambda'), 0o755);
  assert.equal(mode('lib/ld-linux-x86-64.so.2'), 0o755);
  assert.ok(statSync(path.join(pkg, 'lib/libc.so.6')).isFile());
  const bootstrap = readFileSync(path.join(pkg, 'bootstrap'), 'utf8');
  assert.ok(bootstrap.startsWith('#!/bin/sh\n'));
  // Nothing but the shell itself: no dirname, readlink, env ... that the image might lack.
  const commands = bootstrap.split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(commands, ['root=${LAMBDA_TASK_ROOT:-${0%/*}}', 'exec']);
});

test('every library the binary loads comes from the package, never from the system', () => {
  const listing = execFileSync(path.join(pkg, 'lib/ld-linux-x86-64.so.2'),
    ['--list', '--library-path', path.join(pkg, 'lib'), path.join(pkg, 'bin/chat-lambda')], { encoding: 'utf8' });
  const resolved = [...listing.matchAll(/=> (\S+)/g)].map((m) => m[1]);
  assert.ok(resolved.length >= 2, listing);
  const fromSystem = resolved.filter((p) => !p.startsWith(path.join(pkg, 'lib') + '/'));
  assert.deepEqual(fromSystem, [], `loaded from the system:\n${listing}`);
  // And every ELF file's DT_NEEDED is in lib/ (readelf), so none is looked for elsewhere.
  const shipped = new Set(readdirSync(path.join(pkg, 'lib')));
  for (const f of ['bin/chat-lambda', ...[...shipped].map((n) => `lib/${n}`)]) {
    const dynamic = execFileSync('readelf', ['-d', path.join(pkg, f)], { encoding: 'utf8' });
    for (const [, needed] of dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
      assert.ok(shipped.has(needed), `${f} needs ${needed}, which is not in lib/`);
    }
  }
});

test('every GLIBC version the binary and its libraries need is in the packed libc', () => {
  const needs = glibcVersions(execFileSync('objdump', ['-T', path.join(pkg, 'bin/chat-lambda')], { encoding: 'utf8' }));
  const has = new Set(glibcVersions(execFileSync('objdump', ['-T', path.join(pkg, 'lib/libc.so.6')], { encoding: 'utf8' })));
  const newest = needs[needs.length - 1];
  // Why the loader and libc travel with it: Amazon Linux 2023 has glibc 2.34.
  console.log(`chat-lambda needs GLIBC ${needs.join(', ')}; the packed libc defines up to ${[...has].pop()}`);
  for (const v of needs) assert.ok(has.has(v), `packed libc lacks GLIBC_${v}`);
  // Every library in lib/ is checked the same way against the packed libc.
  for (const n of readdirSync(path.join(pkg, 'lib')).filter((n) => n !== 'libc.so.6' && n !== 'ld-linux-x86-64.so.2')) {
    for (const v of glibcVersions(execFileSync('objdump', ['-T', path.join(pkg, 'lib', n)], { encoding: 'utf8' }))) {
      assert.ok(has.has(v), `${n} needs GLIBC_${v}, which the packed libc lacks`);
    }
  }
  assert.ok(newest, 'objdump found GLIBC versions');
});

/** A Runtime API with one event queued; it records what the function posts. */
async function fakeRuntime(event) {
  const posts = [];
  let served = false;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
        if (served || !event) { res.writeHead(500).end('{"errorType":"ContainerError"}'); return; }
        served = true;
        res.writeHead(200, {
          'Lambda-Runtime-Aws-Request-Id': 'req-1',
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 3000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:chat',
          'Lambda-Runtime-Trace-Id': 'Root=1-0-0',
        }).end(event);
        return;
      }
      posts.push({ url: req.url, type: req.headers['lambda-runtime-function-error-type'], body: JSON.parse(body) });
      res.writeHead(202).end('{"status":"OK"}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { posts, port: server.address().port, close: () => server.close() };
}

function runBootstrap(env) {
  return new Promise((resolve) => {
    const p = spawn(path.join(pkg, 'bootstrap'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

test('started by bootstrap with no table names, it posts /init/error and exits', async () => {
  const rt = await fakeRuntime(null);
  try {
    const { code } = await runBootstrap({ AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${rt.port}`, LAMBDA_TASK_ROOT: pkg });
    assert.equal(code, 1);
    assert.equal(rt.posts.length, 1);
    assert.equal(rt.posts[0].url, '/2018-06-01/runtime/init/error');
    assert.equal(rt.posts[0].type, 'Runtime.InitError');
    assert.equal(rt.posts[0].body.errorType, 'Runtime.InitError');
    assert.match(rt.posts[0].body.errorMessage, /CONNECTIONS_TABLE/);
    assert.deepEqual(rt.posts[0].body.stackTrace, []);
  } finally {
    rt.close();
  }
});

test('an event that is not API Gateway\'s gets /error; a failing /next ends the process', async () => {
  const rt = await fakeRuntime('{"hello":"world"}');
  try {
    const { code } = await runBootstrap({
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${rt.port}`,
      LAMBDA_TASK_ROOT: pkg,
      CONNECTIONS_TABLE: 'c', ROOMS_TABLE: 'r', MEMBERS_TABLE: 'm', MESSAGES_TABLE: 'g',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
    });
    assert.equal(code, 1);
    assert.equal(rt.posts.length, 1);
    assert.equal(rt.posts[0].url, '/2018-06-01/runtime/invocation/req-1/error');
    assert.equal(rt.posts[0].body.errorType, 'Runtime.InvalidEvent');
    assert.match(rt.posts[0].body.errorMessage, /requestContext/);
  } finally {
    rt.close();
  }
});
