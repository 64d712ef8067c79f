// chatd's Python runtime client (runtimes/python/ric.py) against a Runtime API played by this
// test on loopback: handler resolution, the context object, Lambda's error bodies and log
// format (docs: template mode, section 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runtimeApi } from './runtime_api.js';

const ric = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtimes/python/ric.py');

async function withClient(files, handler, body) {
  const api = await runtimeApi();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-pyric-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const proc = spawn('python3', [ric], {
    cwd: dir,
    env: {
      PATH: process.env.PATH, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1',
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`, _HANDLER: handler, LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: 'pyfn', AWS_LAMBDA_FUNCTION_VERSION: '$LATEST', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '' };
  proc.stdout.on('data', (d) => { out.text += d; });
  proc.stderr.on('data', (d) => { out.text += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    await body(api, { out, exited });
  } finally {
    proc.kill('SIGKILL');
    await exited;
    api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a handler\'s result is posted, with Lambda\'s context', async () => {
  await withClient({
    'app.py': `import logging, os
def handler(event, context):
    logging.getLogger().info("info via logging")
    print("raw print")
    return {"n": event["n"], "id": context.aws_request_id, "name": context.function_name,
            "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis() > 0,
            "arn": context.invoked_function_arn, "trace": os.environ.get("_X_AMZN_TRACE_ID")}
`,
  }, 'app.handler', async (api, c) => {
    const r = await api.invoke({ n: 7 });
    assert.equal(r.kind, 'response');
    assert.deepEqual(r.json, { n: 7, id: 'req-1', name: 'pyfn', memory: '256', left: true, arn: 'arn:aws:lambda:us-east-1:123456789012:function:fn', trace: 'Root=1-5759e988-bd862e3fe1be46a994272793' });
    assert.equal((await api.invoke({ n: 8 })).json.n, 8); // the same process, warm
    assert.match(c.out.text, /^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tinfo via logging$/m);
    assert.match(c.out.text, /^raw print$/m);
  });
  await withClient({ 'pkg/inner/mod.py': 'def h(event, context):\n    return "nested"\n' }, 'pkg/inner/mod.h', async (api) => {
    assert.equal((await api.invoke({})).json, 'nested');
  });
});

test('errors: a raised exception, a result that is not JSON', async () => {
  await withClient({ 'app.py': 'class MyErr(Exception):\n    pass\ndef handler(event, context):\n    raise MyErr("custom failure")\ndef bad(event, context):\n    return object()\n' }, 'app.handler', async (api, c) => {
    const r = await api.invoke({});
    assert.equal(r.kind, 'error');
    assert.equal(r.json.errorType, 'MyErr');
    assert.equal(r.json.errorMessage, 'custom failure');
    assert.equal(r.json.requestId, 'req-1');
    assert.match(r.json.stackTrace[0], /File ".*app\.py", line 4, in handler/);
    assert.ok(r.json.stackTrace.every((t) => !t.includes('ric.py')), 'the client\'s own frames are left out');
    assert.match(c.out.text, /\[ERROR\] MyErr: custom failure\rTraceback \(most recent call last\):\r\u00a0\u00a0File /);
  });
  await withClient({ 'app.py': 'def bad(event, context):\n    return object()\n' }, 'app.bad', async (api) => {
    const r = await api.invoke({});
    assert.equal(r.json.errorType, 'Runtime.MarshalError');
    assert.equal(r.json.errorMessage, 'Unable to marshal response: Object of type object is not JSON serializable');
  });
});

test('init errors go to /init/error with the error type header, and the process exits 1', async () => {
  const cases = [
    [{}, 'nope.handler', 'Runtime.ImportModuleError', "Unable to import module 'nope': No module named 'nope'"],
    [{ 'app.py': 'import not_installed_pkg\n' }, 'app.handler', 'Runtime.ImportModuleError', "Unable to import module 'app': No module named 'not_installed_pkg'"],
    [{ 'app.py': 'x = 1\n' }, 'app.handler', 'Runtime.HandlerNotFound', "Handler 'handler' missing on module 'app'"],
    [{ 'app.py': 'def handler(e, c):\n    return {\n' }, 'app.handler', 'Runtime.UserCodeSyntaxError', /^Syntax error in module 'app': /],
    [{ 'app.py': 'raise RuntimeError("init exploded")\n' }, 'app.handler', 'RuntimeError', 'init exploded'],
    [{}, 'nodot', 'Runtime.MalformedHandlerName', "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"],
    [{}, 'sys.handler', 'Runtime.BuiltInModuleConflict', 'Cannot use built-in module sys as a handler module'],
  ];
  for (const [files, handler, type, message] of cases) {
    await withClient(files, handler, async (api, c) => {
      const r = await api.initError();
      assert.equal(r.json.errorType, type, handler);
      if (message instanceof RegExp) assert.match(r.json.errorMessage, message); else assert.equal(r.json.errorMessage, message);
      assert.equal(r.headers['lambda-runtime-function-error-type'], type);
      assert.equal(await c.exited, 1);
      assert.match(c.out.text, /LAMBDA_WARNING: Unhandled exception/);
    });
  }
});
