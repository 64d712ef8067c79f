// Restart: SIGTERM (and SIGINT, SIGHUP) closes every client with 1001 and exits 0; a new chatd on the same file
// still has the rooms and messages, seq continues without gaps, old connections are gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, Client, tempDir } from './lib.js';

test('clean shutdown then restart keeps rooms and messages; seq continues; old ids are gone', async () => {
  const tmp = tempDir();
  const db = `${tmp.dir}/chatd.db`;
  try {
    let chatd = await startChatd({ db });
    const alice = await Client.connect(`${chatd.url}?name=alice`);
    const bob = await Client.connect(`${chatd.url}?name=bob`);
    await alice.request({ action: 'createRoom', roomId: 'keep' });
    const joined = await alice.request({ action: 'joinRoom', roomId: 'keep' });
    const aliceId = joined.members[0].connectionId;
    await bob.request({ action: 'joinRoom', roomId: 'keep' });
    for (let i = 1; i <= 5; i++) await alice.request({ action: 'sendMessage', roomId: 'keep', message: `before ${i}` });

    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
      if (sig !== 'SIGTERM') {
        chatd = await startChatd({ db });
        const c = await Client.connect(chatd.url);
        const exit = chatd.stop(sig);
        assert.equal((await c.closed).code, 1001);
        assert.equal((await exit).code, 0);
        continue;
      }
      const exit = chatd.stop(sig);
      const [a, b] = await Promise.all([alice.closed, bob.closed]);
      assert.deepEqual(a, { code: 1001, reason: 'Going away' });
      assert.equal(b.code, 1001);
      assert.equal((await exit).code, 0, 'chatd exits 0 after a clean shutdown');
    }

    chatd = await startChatd({ db });
    const carol = await Client.connect(`${chatd.url}?name=carol`);
    const rooms = await carol.request({ action: 'listRooms' });
    assert.deepEqual(rooms.rooms.map((r) => [r.roomId, r.members]), [['keep', 0]], 'memberships are gone');
    const j = await carol.request({ action: 'joinRoom', roomId: 'keep' });
    assert.deepEqual(j.recent.map((m) => m.message), [1, 2, 3, 4, 5].map((i) => `before ${i}`));
    assert.deepEqual(j.members.map((m) => m.name), ['carol']);
    const next = await carol.request({ action: 'sendMessage', roomId: 'keep', message: 'after' });
    assert.equal(next.seq, 6, 'seq continues without a gap');
    const gone = await fetch(`${chatd.http}/dev/@connections/${encodeURIComponent(aliceId)}`, { method: 'POST', body: 'x' });
    assert.equal(gone.status, 410, 'connections of the old run are gone');
    await carol.close();
    assert.equal((await chatd.stop()).code, 0);
  } finally {
    tmp.cleanup();
  }
});

for (const durability of ['full', 'normal']) {
  test(`kill -9 with --durability ${durability}: every acknowledged message is there after a restart`, async () => {
    const tmp = tempDir();
    const db = `${tmp.dir}/chatd.db`;
    try {
      let chatd = await startChatd({ db, args: ['--durability', durability] });
      const alice = await Client.connect(chatd.url);
      await alice.request({ action: 'createRoom', roomId: 'crash' });
      await alice.request({ action: 'joinRoom', roomId: 'crash' });
      // Acknowledged ones are awaited; the last ten are in flight when the process dies.
      for (let i = 1; i <= 40; i++) await alice.request({ action: 'sendMessage', roomId: 'crash', message: `m${i}` });
      for (let i = 41; i <= 50; i++) alice.send({ action: 'sendMessage', roomId: 'crash', message: `m${i}` });
      const killed = await chatd.stop('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');
      chatd = await startChatd({ db, args: ['--durability', durability] });
      const bob = await Client.connect(chatd.url);
      await bob.request({ action: 'joinRoom', roomId: 'crash' });
      const page = await bob.request({ action: 'getMessages', roomId: 'crash', limit: 50 });
      const seqs = page.messages.map((m) => m.seq);
      assert.ok(seqs.length >= 40, `only ${seqs.length} of 40 acknowledged messages survived`);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seq is 1..n without a gap');
      await bob.close();
      await chatd.stop();
    } finally {
      tmp.cleanup();
    }
  });
}

test('bad start-up settings fail with one line and exit code 2', async () => {
  const { spawnSync } = await import('node:child_process');
  const { chatdBin } = await import('./lib.js');
  for (const args of [['--port', 'x'], ['--db', '/nonexistent/dir/chat.db', '--port', '0'], ['--nope']]) {
    const r = spawnSync(chatdBin, args, { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^chatd: .+\n$/);
  }
});
