// chatd's runtime interface client for Node.js functions (nodejs18.x-nodejs22.x semantics).
//
// chatd starts one of these per function instance, in the function's code directory, with
// Lambda's environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_*). It
// runs the loop Lambda's own client runs against the Runtime API (2018-06-01): load the
// handler once, then GET the next invocation, call the handler, POST its result or its error.
// What it promises is what function code sees on Lambda: the same handler resolution (file
// search, ES modules and CommonJS, nested exports), the same context object, the same
// completion rules (promises, callbacks, context.succeed/fail/done, waiting for an empty event
// loop), the same error bodies and log lines. No dependencies: Node's own modules only.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import module, { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API;
const base = '/2018-06-01/runtime';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const requireHere = createRequire(import.meta.url);

// --- the Runtime API -------------------------------------------------------------------------

function call(method, urlPath, body, headers = {}) {
  const [host, port] = runtimeApi.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

const json = { 'Content-Type': 'application/json' };

// --- errors as Lambda's client reports them --------------------------------------------------

const CALLBACKS_REMOVED = 'ERROR: AWS Lambda has removed support for callback-based function handlers starting '
  + 'with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or '
  + 'later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

class RuntimeError extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

/** {errorType, errorMessage, trace}: an Error's name, message and stack lines; other values by type. */
function errorBody(err) {
  if (err instanceof Error) {
    try {
      return clean({ errorType: err.name, errorMessage: err.message, trace: String(err.stack || '').split('\n') });
    } catch {
      return { errorType: 'handled', errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack', trace: [] };
    }
  }
  if (err === undefined) return { errorType: 'string', errorMessage: 'handled', trace: [] };
  return clean({ errorType: typeof err, errorMessage: String(err), trace: [] });
}

function clean(body) {
  // DEL is escaped in what the client posts.
  return JSON.parse(JSON.stringify(body).replace(/\x7f/g, '%7F'));
}

// --- log lines -------------------------------------------------------------------------------

let currentRequestId; // undefined outside an invocation, printed as such
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE', fatal: 'FATAL' };
  for (const [fn, level] of Object.entries(levels)) {
    console[fn] = (...args) => {
      const text = util.format(...args).replace(/\n/g, '\r');
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
    };
  }
}

function logError(prefix, body) {
  const shown = { errorType: body.errorType, errorMessage: body.errorMessage, stack: body.trace };
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\t${prefix} \t${JSON.stringify(shown)}\n`);
}

// --- loading the handler ---------------------------------------------------------------------

/** Whether the package.json nearest to `file` says "type": "module". */
function isModulePackage(file) {
  let dir = path.dirname(file);
  for (;;) {
    if (path.basename(dir) === 'node_modules') return false;
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        return JSON.parse(fs.readFileSync(pkg, 'utf8')).type === 'module';
      } catch (e) {
        console.warn(`${pkg} cannot be read (${e.message}): taken as not a module package`);
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

const isFile = (f) => { try { return fs.statSync(f).isFile(); } catch { return false; } };

async function loadModule(appRoot, moduleRoot, moduleName) {
  const full = path.resolve(appRoot, moduleRoot, moduleName);
  if (isFile(full)) return requireHere(full);
  if (!isModulePackage(full)) {
    if (isFile(`${full}.js`)) return requireHere(`${full}.js`);
  } else if (isFile(`${full}.js`)) {
    return import(pathToFileURL(`${full}.js`).href);
  }
  if (isFile(`${full}.mjs`)) return import(pathToFileURL(`${full}.mjs`).href);
  if (isFile(`${full}.cjs`)) return requireHere(`${full}.cjs`);
  const resolved = requireHere.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] });
  return requireHere(resolved);
}

async function loadHandler(appRoot, handlerString) {
  if (handlerString.includes('..')) {
    throw new RuntimeError('Runtime.MalformedHandlerName', `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.substring(0, handlerString.length - base.length);
  const match = /^([^.]*)\.(.*)$/.exec(base);
  if (!match) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, exportPath] = match;
  let mod;
  try {
    mod = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', String(e));
    if (e && e.code === 'MODULE_NOT_FOUND') throw new RuntimeError('Runtime.ImportModuleError', String(e));
    throw e;
  }
  let fn = mod;
  for (const part of exportPath.split('.')) fn = fn == null ? undefined : fn[part];
  if (fn === undefined) throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof fn !== 'function') throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  // From Node.js 24 on, Lambda's client (RIC 4) runs only (event, context) handlers: one that
  // declares a third parameter, a callback, fails init.
  const major = Number((/^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || '') || [])[1]);
  if (major >= 24 && fn.length >= 3) throw new RuntimeError('Runtime.CallbackHandlerDeprecated', CALLBACKS_REMOVED);
  return fn;
}

// --- one invocation --------------------------------------------------------------------------

function makeContext(headers, complete) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const parse = (h) => (headers[h] === undefined ? undefined : JSON.parse(headers[h]));
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    succeed: (result) => complete(null, result, false),
    fail: (err) => complete(err === undefined ? 'handled' : err, undefined, false),
    done: (err, result) => complete(err, result, false),
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse('lambda-runtime-client-context'),
    identity: parse('lambda-runtime-cognito-identity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  return ctx;
}

/** Run one invocation; resolves once its result or error has been posted. */
function invoke(handler, next) {
  const id = next.headers['lambda-runtime-aws-request-id'];
  const trace = next.headers['lambda-runtime-trace-id'];
  if (trace === undefined) delete process.env._X_AMZN_TRACE_ID; else process.env._X_AMZN_TRACE_ID = trace;
  currentRequestId = id;
  const where = `${base}/invocation/${encodeURIComponent(id)}`;
  return new Promise((settle) => {
    let done = false;
    let returnedThenable = false;
    const post = async (err, result) => {
      if (err !== null && err !== undefined) {
        const body = errorBody(err);
        logError('Invoke Error', body);
        await call('POST', `${where}/error`, JSON.stringify(body), json);
      } else {
        let text;
        try {
          text = JSON.stringify(result === undefined ? null : result);
        } catch (e) {
          const body = errorBody(new RuntimeError('Runtime.SerializationError', e.message));
          await call('POST', `${where}/error`, JSON.stringify(body), json);
          return settle();
        }
        await call('POST', `${where}/response`, text, json);
      }
      settle();
    };
    const complete = (err, result, fromCallback) => {
      if (done) {
        console.warn('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
        return;
      }
      done = true;
      process.removeListener('beforeExit', onEmptyLoop);
      if (fromCallback && ctx.callbackWaitsForEmptyEventLoop) {
        // Lambda posts a callback's result once the event loop has nothing left to do.
        process.once('beforeExit', () => { post(err, result); });
      } else {
        post(err, result);
      }
    };
    // A handler that neither returns a promise nor calls back finishes when the loop drains.
    const onEmptyLoop = () => {
      if (done) return;
      if (returnedThenable) {
        complete(new RuntimeError('Runtime.NodeJsExit', 'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled.'), undefined, false);
      } else {
        complete(null, null, false);
      }
    };
    process.once('beforeExit', onEmptyLoop);
    const ctx = makeContext(next.headers, complete);
    let event;
    try {
      event = JSON.parse(next.body);
    } catch {
      event = next.body;
    }
    failInvocation = (err) => complete(err, undefined, false);
    try {
      const r = handler(event, ctx, (err, result) => complete(err, result, true));
      if (r && typeof r.then === 'function') {
        returnedThenable = true;
        r.then((v) => complete(null, v, false), (e) => complete(e === undefined ? 'handled' : e, undefined, false));
      }
    } catch (e) {
      complete(e, undefined, false);
    }
  });
}

// --- process-level failures ------------------------------------------------------------------

let failInvocation = null; // set while an invocation runs

async function fatal(err, exitCode, during) {
  const body = errorBody(err);
  if (during === 'init') {
    logError('Uncaught Exception', body);
    await call('POST', `${base}/init/error`, JSON.stringify(body), { ...json, 'Lambda-Runtime-Function-Error-Type': body.errorType }).catch(() => {});
  } else if (failInvocation) {
    await new Promise((resolve) => {
      const id = currentRequestId;
      logError('Invoke Error', body);
      call('POST', `${base}/invocation/${encodeURIComponent(id)}/error`, JSON.stringify(body), json).then(resolve, resolve);
    });
  }
  process.exit(exitCode);
}

let phase = 'init';
process.on('uncaughtException', (e) => { fatal(e, 129, phase); });
process.on('unhandledRejection', (e) => { fatal(e, 128, phase); });

// --- the loop --------------------------------------------------------------------------------

/** The AWS SDK chatd provides (runtimes/node_modules), for ES modules as NODE_PATH is for CommonJS. */
function provideSdk() {
  const dir = process.env.LAMBDA_RUNTIME_DIR;
  if (!dir || !fs.existsSync(path.join(dir, 'node_modules')) || typeof module.register !== 'function') return;
  const parentURL = pathToFileURL(path.join(dir, 'index.mjs')).href;
  module.register('./sdk-resolve.mjs', import.meta.url, { data: { parentURL } });
}

/**
 * Code written for AWS posts to the @connections API at https://{apiId}.execute-api.{region}.
 * amazonaws.com/{stage}, or at https://{domainName}/{stage} with the Host its client used.
 * Those requests go to chatd instead (CHATD_MANAGEMENT_URL, its plain http:// address), the
 * path unchanged; nothing else is touched. When chatd itself serves TLS, https:// to its own
 * address is already right and only the execute-api names are redirected.
 */
function routeManagementApi() {
  const target = process.env.CHATD_MANAGEMENT_URL && new URL(process.env.CHATD_MANAGEMENT_URL);
  if (!target) return;
  const own = new Set((process.env.CHATD_OWN_HOSTS || '').split(',').filter(Boolean));
  const ours = (host, port) => /\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host || '') ||
    (target.protocol === 'http:' && own.has(`${host}:${port || 443}`));
  // The SDK's own agent is an https one, which plain http cannot use; this one keeps connections
  // open as the SDK's does (Node 18's global agent would open one per request).
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const original = https.request;
  https.request = function request(...args) {
    let [url, options, cb] = args;
    if (typeof url === 'string' || url instanceof URL) {
      const u = new URL(url);
      if (typeof options === 'function') { cb = options; options = {}; }
      options = { ...(options || {}), hostname: u.hostname, port: u.port, path: u.pathname + u.search };
    } else {
      cb = options;
      options = url || {};
    }
    const host = options.hostname || (options.host || '').split(':')[0];
    if (!ours(host, options.port)) return original.apply(this, args);
    const { agent, ...rest } = options;
    return http.request({ ...rest, protocol: 'http:', hostname: target.hostname, host: undefined, port: target.port,
                          agent: keepAlive }, cb);
  };
  https.get = function get(...args) {
    const req = https.request(...args);
    req.end();
    return req;
  };
  module.syncBuiltinESMExports();
}

async function main() {
  // chatd reads this process's output. Once that pipe is gone, so is chatd: end here rather
  // than report the failed write, which would fail again, forever.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => process.exit(1));
  patchConsole();
  provideSdk();
  routeManagementApi();
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = await loadHandler(appRoot, process.env._HANDLER || '');
  phase = 'invoke';
  for (;;) {
    const next = await call('GET', `${base}/invocation/next`);
    if (next.status !== 200) throw new Error(`the Runtime API answered ${next.status} to /invocation/next`);
    await invoke(handler, next);
    failInvocation = null;
  }
}

main().catch((e) => fatal(e, 129, phase));
