// chatd's Node.js runtime client (runtimes/node/ric.mjs) against a Runtime API played by this
// test on loopback: handler resolution, the context object, completion rules, the error
// bodies and the log lines that Lambda's own client produces (docs: template mode, section 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runtimeApi } from './runtime_api.js';

const ric = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtimes/node/ric.mjs');

/** A code directory with `files`, and the client started in it with Lambda's environment. */
function start(api, files, handler, env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-ric-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const proc = spawn(process.execPath, [ric], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`,
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: 'fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/03/[$LATEST]0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '' };
  proc.stdout.on('data', (d) => { out.text += d; });
  proc.stderr.on('data', (d) => { out.text += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  const stop = () => { proc.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); return exited; };
  return { proc, out, exited, stop, dir };
}

async function withClient(files, handler, body, env) {
  const api = await runtimeApi();
  const c = start(api, files, handler, env);
  try {
    await body(api, c);
  } finally {
    await c.stop();
    api.close();
  }
}

test('an ES module async handler: the result is posted and the context is Lambda\'s', async () => {
  await withClient({
    'index.mjs': `export const handler = async (event, context) => ({
      echo: event.n, id: context.awsRequestId, name: context.functionName, memory: context.memoryLimitInMB,
      arn: context.invokedFunctionArn, left: context.getRemainingTimeInMillis() > 0, trace: process.env._X_AMZN_TRACE_ID,
      group: context.logGroupName, waits: context.callbackWaitsForEmptyEventLoop });`,
  }, 'index.handler', async (api) => {
    const r = await api.invoke({ n: 1 });
    assert.equal(r.kind, 'response');
    assert.deepEqual(r.json, { echo: 1, id: 'req-1', name: 'fn', memory: '128', arn: 'arn:aws:lambda:us-east-1:123456789012:function:fn', left: true, trace: 'Root=1-5759e988-bd862e3fe1be46a994272793', group: '/aws/lambda/fn', waits: true });
    assert.equal(r.headers['content-type'], 'application/json');
    // The same process serves the next invocation.
    assert.equal((await api.invoke({ n: 2 })).json.echo, 2);
  });
});

test('CommonJS and callback handlers: the response waits for an empty event loop unless told not to', async () => {
  await withClient({
    'app.js': `let order = [];
      exports.wait = (event, context, callback) => { order = []; setTimeout(() => order.push('timer'), 200); callback(null, { order }); };
      exports.now = (event, context, callback) => { context.callbackWaitsForEmptyEventLoop = false; order = []; setTimeout(() => order.push('timer'), 200); callback(null, { order }); };
      exports.nothing = () => {};
      exports.twice = async (event, context) => { context.succeed(1); context.succeed(2); };`,
  }, 'app.wait', async (api) => {
    // The timer ran before the response was posted (the result object is serialized then).
    assert.deepEqual((await api.invoke({})).json, { order: ['timer'] });
  });
  await withClient({ 'app.js': `exports.now = (e, context, cb) => { context.callbackWaitsForEmptyEventLoop = false; const o = []; setTimeout(() => o.push('timer'), 200); cb(null, { o }); };` },
    'app.now', async (api) => {
      assert.deepEqual((await api.invoke({})).json, { o: [] });
    });
  await withClient({ 'app.js': 'exports.nothing = () => {};' }, 'app.nothing', async (api) => {
    const r = await api.invoke({});
    assert.equal(r.kind, 'response');
    assert.equal(r.body, 'null');
  });
  await withClient({ 'app.js': 'exports.twice = (e, context) => { context.succeed(1); context.succeed(2); };' }, 'app.twice', async (api, c) => {
    assert.equal((await api.invoke({})).body, '1');
    await new Promise((r) => setTimeout(r, 100));
    assert.match(c.out.text, /WARN\tInvocation has already been reported as done\. Cannot call complete more than once per invocation\./);
  });
});

test('handler paths: nested exports in a subdirectory, "type": "module", .cjs', async () => {
  await withClient({
    'package.json': '{"type":"module"}',
    'src/handlers/app.js': 'export const obj = { fn: async () => "nested" };',
  }, 'src/handlers/app.obj.fn', async (api) => {
    assert.equal((await api.invoke({})).json, 'nested');
  });
  await withClient({ 'lib.cjs': 'module.exports.go = async () => "cjs";' }, 'lib.go', async (api) => {
    assert.equal((await api.invoke({})).json, 'cjs');
  });
});

test('invocation errors have Lambda\'s bodies, and the log says Invoke Error', async () => {
  const cases = [
    ['async () => { throw new TypeError("bad thing"); }', 'TypeError', 'bad thing', (t) => assert.equal(t[0], 'TypeError: bad thing')],
    ['() => { throw new Error("sync boom"); }', 'Error', 'sync boom', (t) => assert.ok(t.length > 1)],
    ['async () => Promise.reject("just a string")', 'string', 'just a string', (t) => assert.deepEqual(t, [])],
    ['async () => Promise.reject(undefined)', 'string', 'handled', (t) => assert.deepEqual(t, [])],
    ['async () => Promise.reject({ code: 42 })', 'object', '[object Object]', (t) => assert.deepEqual(t, [])],
    ['(e, c, cb) => cb("Unauthorized")', 'string', 'Unauthorized', (t) => assert.deepEqual(t, [])],
    ['(e, c, cb) => cb(new Error("cb failed"))', 'Error', 'cb failed', (t) => assert.equal(t[0], 'Error: cb failed')],
  ];
  for (const [fn, type, message, checkTrace] of cases) {
    await withClient({ 'index.js': `exports.handler = ${fn};` }, 'index.handler', async (api, c) => {
      const r = await api.invoke({});
      assert.equal(r.kind, 'error', fn);
      assert.equal(r.json.errorType, type, fn);
      assert.equal(r.json.errorMessage, message, fn);
      checkTrace(r.json.trace);
      assert.equal(r.headers['lambda-runtime-function-error-type'], undefined);
      await new Promise((res) => setTimeout(res, 50));
      assert.match(c.out.text, /\treq-1\tERROR\tInvoke Error \t\{"errorType":/);
    });
  }
});

test('init errors go to /init/error with the error type header, and the process exits 129', async () => {
  const cases = [
    [{ 'index.js': 'exports.handler = async () => 1;' }, 'nope.handler', 'Runtime.ImportModuleError', /^Error: Cannot find module 'nope'/],
    [{ 'index.js': 'require("not-installed-pkg"); exports.handler = async () => 1;' }, 'index.handler', 'Runtime.ImportModuleError', /^Error: Cannot find module 'not-installed-pkg'/],
    [{ 'index.js': 'exports.other = 1;' }, 'index.handler', 'Runtime.HandlerNotFound', /^index\.handler is undefined or not exported$/],
    [{ 'index.js': 'exports.handler = 5;' }, 'index.handler', 'Runtime.HandlerNotFound', /^index\.handler is not a function$/],
    [{ 'index.js': 'exports.handler = async () => { ;; } }' }, 'index.handler', 'Runtime.UserCodeSyntaxError', /^SyntaxError: /],
    [{ 'index.js': 'throw new Error("init exploded");' }, 'index.handler', 'Error', /^init exploded$/],
    [{ 'index.js': '' }, 'index', 'Runtime.MalformedHandlerName', /^Bad handler$/],
    [{ 'index.js': '' }, '../index.handler', 'Runtime.MalformedHandlerName', /is not a valid handler name/],
  ];
  for (const [files, handler, type, message] of cases) {
    await withClient(files, handler, async (api, c) => {
      const r = await api.initError();
      assert.equal(r.json.errorType, type, handler);
      assert.match(r.json.errorMessage, message, handler);
      assert.equal(r.headers['lambda-runtime-function-error-type'], type);
      assert.equal(await c.exited, 129);
    });
  }
});

test('nodejs24.x refuses callback handlers at init, as RIC 4 does; nodejs22.x still runs them', async () => {
  const files = { 'index.js': 'exports.handler = (event, context, callback) => callback(null, "called back");' };
  await withClient(files, 'index.handler', async (api, c) => {
    const r = await api.initError();
    assert.equal(r.json.errorType, 'Runtime.CallbackHandlerDeprecated');
    assert.match(r.json.errorMessage, /^ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node\.js 24\./);
    assert.equal(await c.exited, 129);
  }, { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' });
  await withClient(files, 'index.handler', async (api) => {
    assert.equal((await api.invoke({})).body, '"called back"');
  }, { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' });
  const twoArgs = { 'index.mjs': 'export const handler = async (event, context) => context.functionName;' };
  await withClient(twoArgs, 'index.handler', async (api) => {
    assert.equal((await api.invoke({})).body, '"fn"');
  }, { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' });
});

test('log lines: time, request id, level, the message on one line', async () => {
  await withClient({
    'index.js': 'console.log("at init"); exports.handler = async () => { console.log("hello", { a: 1 }, "multi\\nline"); console.error("bad"); console.warn("careful"); return 1; };',
  }, 'index.handler', async (api, c) => {
    await api.invoke({});
    await new Promise((r) => setTimeout(r, 50));
    assert.match(c.out.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tINFO\tat init$/m);
    assert.match(c.out.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tINFO\thello \{ a: 1 \} multi\rline$/m);
    assert.match(c.out.text, /\treq-1\tERROR\tbad$/m);
    assert.match(c.out.text, /\treq-1\tWARN\tcareful$/m);
  });
});

test('an uncaught exception during an invocation fails it, and the process exits 129', async () => {
  await withClient({ 'index.js': 'exports.handler = () => new Promise(() => { setTimeout(() => { throw new RangeError("late"); }, 10); });' }, 'index.handler', async (api, c) => {
    const r = await api.invoke({});
    assert.equal(r.kind, 'error');
    assert.equal(r.json.errorType, 'RangeError');
    assert.equal(r.json.errorMessage, 'late');
    assert.equal(await c.exited, 129);
  });
});
