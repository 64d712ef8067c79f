// Helpers for the end-to-end tests: start the real chatd binary on a free loopback port and
// talk to it with real WebSocket clients. Everything here is bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const chatdBin = process.env.CHATD_BIN || path.resolve(here, '../../build/dev/chatd');

/** Write `files` ({relative path: text}) under `root`, making the directories. */
export function writeTree(root, files) {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'chatd-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Start chatd on 127.0.0.1 with port 0 and wait for its "listening" line. `ulimit` runs it
 * under `ulimit <ulimit>` (e.g. '-Sn 256'), through a shell that execs it (same pid).
 */
export async function startChatd({ db = ':memory:', args = [], env = {}, ulimit } = {}) {
  const argv = [chatdBin, '--host', '127.0.0.1', '--port', '0', '--db', db, ...args];
  const [cmd, ...cmdArgs] = ulimit ? ['sh', '-c', `ulimit ${ulimit} && exec "$@"`, 'sh', ...argv] : argv;
  const proc = spawn(cmd, cmdArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  let secure = false;
  let stage = 'dev';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chatd did not start: ${stderr}`)), 10000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on (wss?):\/\/127\.0\.0\.1:(\d+)\/(\S*) /.exec(stdout);
      if (m) { clearTimeout(timer); secure = m[1] === 'wss'; stage = m[3]; resolve(Number(m[2])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chatd exited ${code}: ${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    port,
    proc,
    stage, // the one chatd printed: --stage, or the template's
    url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/${stage}`,
    http: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    stderr: () => stderr,
    exited,
    /** Send a signal and wait (bounded) for the process to end. */
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/**
 * A throwaway CA made with the openssl CLI in `dir` (ca.pem, ca.key) and a server certificate
 * it signed for localhost and 127.0.0.1 (server.pem, server.key); `extraCas` names more CAs
 * (NAME.pem) that sign nothing. Returns the CA's PEM.
 */
export function makeTestCa(dir, extraCas = []) {
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const name of ['ca', ...extraCas]) {
    openssl('req', '-x509', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2', '-subj', `/CN=chatd test ${name}`);
  }
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
    'keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('ext.cnf'));
  return readFileSync(file('ca.pem'));
}

/** chat-lambda.zip of this build (lambda/package.sh), next to the chatd binary's tree. */
export const chatLambdaZip = process.env.CHAT_LAMBDA_ZIP ||
  path.join(path.dirname(chatdBin), 'lambda', 'chat-lambda.zip');

/**
 * chatd running deploy/template.yaml, unchanged, with this build's chat-lambda.zip as its
 * CodeUri (dist/chat-lambda.zip beside a copy of the template): the chat app as the packaged
 * Lambda function on local DynamoDB. Extra `args` and `env` go to chatd.
 */
export async function startPackagedChat({ args = [], env = {} } = {}) {
  const { dir, cleanup } = tempDir();
  mkdirSync(path.join(dir, 'dist'));
  copyFileSync(path.resolve(here, '../../deploy/template.yaml'), path.join(dir, 'template.yaml'));
  copyFileSync(chatLambdaZip, path.join(dir, 'dist', 'chat-lambda.zip'));
  try {
    const chatd = await startChatd({ args: ['--template', path.join(dir, 'template.yaml'), ...args], env });
    const stop = chatd.stop.bind(chatd);
    chatd.stop = async (signal) => { const r = await stop(signal); cleanup(); return r; };
    return chatd;
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** A WebSocket client that queues what it receives, so tests can wait for frames. */
export class Client {
  constructor(url, options = {}) {
    this.url = url;
    this.frames = [];
    this.waiters = [];
    this.ws = new WebSocket(url, options);
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('message', (data) => {
      this.frames.push(data.toString());
      this.flush();
    });
  }

  static async connect(url, options) {
    const c = new Client(url, options);
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return c;
  }

  flush() {
    for (const w of [...this.waiters]) {
      const i = this.frames.findIndex(w.match);
      if (i >= 0) {
        const [f] = this.frames.splice(i, 1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(f);
      }
    }
  }

  /** The next raw frame matching `match` (a predicate on the text), within `ms`. */
  nextRaw(match = () => true, ms = 3000) {
    return new Promise((resolve, reject) => {
      const w = { match, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching frame within ${ms} ms; have: ${JSON.stringify(this.frames)}`));
      }, ms);
      this.waiters.push(w);
      this.flush();
    });
  }

  /** The next JSON frame for which `match(obj)` holds. */
  async next(match = () => true, ms) {
    const safe = (t) => { try { return match(JSON.parse(t)); } catch { return false; } };
    return JSON.parse(await this.nextRaw(safe, ms));
  }

  /** Resolves true if no frame matching `match` arrives within `ms`. */
  async quiet(ms = 300, match = () => true) {
    try { await this.nextRaw(match, ms); return false; } catch { return true; }
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  /** Send a request with a fresh ref and return the direct reply carrying that ref. */
  async request(obj, ms) {
    const ref = `r${Math.random().toString(36).slice(2, 10)}`;
    this.send({ ...obj, ref });
    return this.next((f) => f.ref === ref, ms);
  }

  close(code, reason) { this.ws.close(code, reason); return this.closed; }
}

/** Wait until `cond()` is true, polling, for at most `ms`. */
export async function eventually(cond, ms = 3000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
