// Small HTTP "Lambda" handlers for the conformance tests: each POST carries an API Gateway
// event; the test decides the answer (a proxy result, a function error, an HTTP error, a
// delay). Loopback only; every server is closed by its test.
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Start a handler. `handle(event, req)` returns (or resolves to) one of:
 *   { result }            -> 200 with JSON.stringify(result) (a proxy result, or null)
 *   { raw, status }       -> that HTTP status with that raw body
 *   { delayMs, ...same }  -> the same, after a delay
 */
export async function startHandler(handle = () => ({ result: { statusCode: 200 } })) {
  const events = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      let event;
      try { event = JSON.parse(body); } catch { event = { unparsable: body }; }
      events.push(event);
      const answer = (await handle(event, req)) ?? { result: null };
      const send = () => {
        if (res.destroyed) return;
        const status = answer.status ?? 200;
        const text = 'raw' in answer ? answer.raw : JSON.stringify(answer.result ?? null);
        res.writeHead(status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
        res.end(text);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs); else send();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    events,
    url: (p = '/invoke') => `http://127.0.0.1:${port}${p}`,
    /** Events whose routeKey is `key`. */
    of: (key) => events.filter((e) => e.requestContext?.routeKey === key),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/** Write a routes file into `dir` and return its path. */
export function routesFile(dir, api, name = 'routes.json') {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(api));
  return file;
}

/** $connect, $disconnect and a two-way $default, all on handler `h`. */
export function oneHandlerRoutes(h) {
  return {
    routes: {
      $connect: { integration: h.url() },
      $disconnect: { integration: h.url() },
      $default: { integration: h.url(), twoWay: true },
    },
  };
}

/**
 * A bare WebSocket client over a TCP socket, for what `ws` hides: the size of each frame the
 * server sends. Resolves once the 101 arrives; `frames` fills with {fin, opcode, length, data}.
 */
export function rawClient(port, pathAndQuery = '/dev') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    const frames = [];
    let buf = Buffer.alloc(0);
    let open = false;
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error('raw client timed out')); });
    sock.on('connect', () => sock.write(
      `GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        if (!head.startsWith('HTTP/1.1 101')) { reject(new Error(head.split('\r\n')[0])); sock.destroy(); return; }
        open = true;
        resolve({ frames, sock, close: () => sock.destroy() });
      }
      buf = takeFrames(buf, (f) => frames.push(f));
    });
  });
}

/**
 * Parse every complete server frame at the start of `buf`, calling `onFrame` with
 * {fin, opcode, masked, length, data}; returns the bytes left over.
 */
export function takeFrames(buf, onFrame) {
  for (;;) {
    if (buf.length < 2) return buf;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) { if (buf.length < 4) return buf; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) return buf; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf.length < off + len) return buf;
    onFrame({ fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, masked: (buf[1] & 0x80) !== 0, length: len, data: buf.subarray(off, off + len) });
    buf = buf.subarray(off + len);
  }
}
