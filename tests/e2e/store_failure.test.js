// When the store fails, the client gets API Gateway's "Internal server error" frame, stays
// connected, and nothing half-done is stored. The failure is real: another process (the
// sqlite3 shell) holds the database's write lock past chatd's 5 s busy timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startChatd, Client, tempDir } from './lib.js';

test('a store failure gives the Internal server error frame; the connection stays usable', async () => {
  const tmp = tempDir();
  const db = `${tmp.dir}/locked.db`;
  const chatd = await startChatd({ db });
  try {
    const alice = await Client.connect(`${chatd.url}?name=alice`);
    const bob = await Client.connect(`${chatd.url}?name=bob`);
    await alice.request({ action: 'createRoom', roomId: 'r' });
    await alice.request({ action: 'joinRoom', roomId: 'r' });
    await bob.request({ action: 'joinRoom', roomId: 'r' });
    await alice.request({ action: 'sendMessage', roomId: 'r', message: 'one' });

    const shell = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
    let shellOut = '';
    shell.stdout.on('data', (d) => { shellOut += d; });
    shell.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
    const end = Date.now() + 5000;
    while (!shellOut.includes('locked')) {
      if (Date.now() > end) throw new Error('sqlite3 did not take the lock');
      await new Promise((r) => setTimeout(r, 20));
    }

    alice.send({ action: 'sendMessage', roomId: 'r', message: 'two', ref: 'x' });
    const raw = await alice.nextRaw((t) => t.startsWith('{"message": '), 15000);
    assert.match(raw, /^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$/);

    shell.stdin.end('ROLLBACK;\n');
    await new Promise((r) => shell.on('exit', r));

    // Still connected; the failed message was not stored and seq has no gap.
    const ack = await alice.request({ action: 'sendMessage', roomId: 'r', message: 'three' });
    assert.equal(ack.seq, 2);
    const history = await bob.request({ action: 'getMessages', roomId: 'r' });
    assert.deepEqual(history.messages.map((m) => m.message), ['one', 'three']);
    await Promise.all([alice.close(), bob.close()]);
  } finally {
    await chatd.stop();
    tmp.cleanup();
  }
});
