// A Lambda Runtime API (2018-06-01) played on loopback for the runtime-client tests: queued
// invocations go out on GET /next with Lambda's headers; every POST is recorded.
import http from 'node:http';

/** A Runtime API on a free loopback port. */
export async function runtimeApi() {
  const queue = [];
  const parked = [];
  const posts = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
        parked.push(res);
        flush();
        return;
      }
      posts.push({ path: req.url, headers: req.headers, body });
      res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      for (const w of waiters.splice(0)) w();
    });
  });
  function flush() {
    while (queue.length && parked.length) {
      const inv = queue.shift();
      parked.shift().writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': inv.id,
        // Generous: a slow first import on a loaded machine must not use up the time left.
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30000),
        'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:fn',
        'Lambda-Runtime-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
      }).end(JSON.stringify(inv.event));
    }
  }
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  /** The first recorded POST to `urlPath`, waiting up to 5 s for it. */
  async function postTo(urlPath) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const p = posts.find((x) => x.path === urlPath);
      if (p) return p;
      if (Date.now() > deadline) throw new Error(`no POST to ${urlPath}; posts: ${JSON.stringify(posts.map((x) => x.path))}`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
    }
  }
  let n = 0;
  return {
    port: server.address().port,
    posts,
    /** Queue one invocation and wait for its outcome. */
    async invoke(event) {
      const id = `req-${++n}`;
      queue.push({ id, event });
      flush();
      const outcome = await Promise.race([
        postTo(`/2018-06-01/runtime/invocation/${id}/response`).then((p) => ({ kind: 'response', ...p })),
        postTo(`/2018-06-01/runtime/invocation/${id}/error`).then((p) => ({ kind: 'error', ...p })),
      ]);
      return { ...outcome, json: JSON.parse(outcome.body) };
    },
    initError: () => postTo('/2018-06-01/runtime/init/error').then((p) => ({ ...p, json: JSON.parse(p.body) })),
    close: () => { for (const r of parked) r.destroy(); server.close(); },
  };
}
