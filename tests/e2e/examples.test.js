// The README's "your own handler" examples, run for real: chatd routes echo and boom to the
// Node and the Python handler in docs/examples, the rest to the built-in chat app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChatd, Client, tempDir } from './lib.js';
import { routesFile } from './handlers.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/examples');

function startExample(command, args) {
  const proc = spawn(command, args, { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not start`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stop: () => proc.kill() }); }
    });
    proc.on('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
  });
}

for (const [lang, command, file] of [['Node', process.execPath, 'handler.mjs'], ['Python', 'python3', 'handler.py']]) {
  test(`docs/examples: the ${lang} handler serves echo (two-way) and boom (function error) next to the chat app`, async () => {
    const tmp = tempDir();
    const handler = await startExample(command, [path.join(examples, file)]);
    const api = JSON.parse(readFileSync(path.join(examples, 'routes.json'), 'utf8'));
    for (const r of Object.values(api.routes)) if (r.integration !== 'chat') r.integration = handler.url;
    const chatd = await startChatd({ args: ['--routes', routesFile(tmp.dir, api)] });
    try {
      const c = await Client.connect(`${chatd.url}?name=dev`);
      c.send({ action: 'echo', text: 'hello handler' });
      const echoed = await c.next((f) => 'echo' in f);
      assert.equal(echoed.echo, 'hello handler');
      assert.match(echoed.connectionId, /^[A-Za-z0-9_-]{15}=$/);
      c.send({ action: 'boom' });
      assert.match(await c.nextRaw((t) => t.startsWith('{"message": ')), /^\{"message": "Internal server error"/);
      c.send({ action: 'sendmessage', message: 'chat still works' });
      assert.equal(await c.nextRaw(), 'chat still works');
      await c.close();
    } finally {
      await chatd.stop();
      handler.stop();
      tmp.cleanup();
    }
  });
}
