// Seed 004, the rooms app: createRoom, joinRoom, sendMessage to members only, leaveRoom,
// listRooms, getMessages, and cleanup on disconnect, over real sockets to the real binary.
// Every scenario runs twice: on chatd's built-in app (SQLite) and on the same app as the
// packaged Lambda function (deploy/template.yaml, chat-lambda.zip, DynamoDB), with the same
// frames expected. One Lambda instance, as one warm function: API Gateway does not keep one
// connection's messages in order across concurrent instances, and the order test needs it.
import { test, after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, startPackagedChat, Client } from './lib.js';

const backends = {
  'built-in app on SQLite': () => startChatd(),
  'packaged chat-lambda on DynamoDB': () => startPackagedChat({ args: ['--max-instances', '1'] }),
};

for (const [backend, start] of Object.entries(backends)) describe(backend, () => {
  let chatd;
  before(async () => { chatd = await start(); });
  after(async () => { await chatd.stop(); });

  const connect = (name) => Client.connect(`${chatd.url}?name=${encodeURIComponent(name)}`);
  const withoutRef = ({ ref, ...rest }) => rest;
  const ID = /^[A-Za-z0-9_-]{15}=$/;

  test('seed 004: three clients; room messages reach the members only, in order', async () => {
    const [alice, bob, carol] = await Promise.all([connect('alice'), connect('bob'), connect('carol')]);

    assert.deepEqual(withoutRef(await alice.request({ action: 'createRoom', roomId: 'lobby' })),
      { type: 'roomCreated', roomId: 'lobby' });
    const aJoined = await alice.request({ action: 'joinRoom', roomId: 'lobby' });
    assert.equal(aJoined.type, 'joined');
    assert.equal(aJoined.members.length, 1);
    const aliceId = aJoined.members[0].connectionId;
    assert.match(aliceId, ID);
    assert.equal(aJoined.members[0].name, 'alice');
    assert.deepEqual(aJoined.recent, []);

    const bJoined = await bob.request({ action: 'joinRoom', roomId: 'lobby' });
    assert.deepEqual(bJoined.members.map((m) => m.name), ['alice', 'bob']);
    const bobId = bJoined.members[1].connectionId;
    assert.deepEqual(await alice.next((f) => f.type === 'memberJoined'),
      { type: 'memberJoined', roomId: 'lobby', connectionId: bobId, name: 'bob' });

    // An unknown room is refused.
    const nope = await carol.request({ action: 'joinRoom', roomId: 'nope' });
    assert.deepEqual(withoutRef(nope), {
      type: 'error', code: 'RoomNotFound', message: "room 'nope' does not exist", action: 'joinRoom',
    });

    // A member's message: stored with seq 1, the sender's copy carries its ref (the ack).
    const ack = await alice.request({ action: 'sendMessage', roomId: 'lobby', message: 'hi all' });
    assert.equal(ack.type, 'message');
    assert.equal(ack.seq, 1);
    assert.equal(ack.connectionId, aliceId);
    assert.equal(ack.name, 'alice');
    assert.match(ack.sentAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const atBob = await bob.next((f) => f.type === 'message');
    assert.deepEqual(atBob, withoutRef(ack));
    assert.ok(await carol.quiet(300), 'carol is not in the room and hears nothing');

    // A non-member cannot post.
    const notIn = await carol.request({ action: 'sendMessage', roomId: 'lobby', message: 'x' });
    assert.equal(notIn.code, 'NotInRoom');

    // Order is kept per sender.
    for (let i = 0; i < 20; i++) bob.send({ action: 'sendMessage', roomId: 'lobby', message: `n${i}` });
    for (let i = 0; i < 20; i++) {
      const m = await alice.next((f) => f.type === 'message');
      assert.equal(m.message, `n${i}`);
      assert.equal(m.seq, 2 + i);
    }

    // listRooms shows member counts.
    const rooms = await carol.request({ action: 'listRooms' });
    assert.deepEqual(rooms.rooms.map((r) => [r.roomId, r.members]), [['lobby', 2]]);

    // leaveRoom: left to the caller, memberLeft to the others; then bob hears nothing.
    assert.deepEqual(withoutRef(await bob.request({ action: 'leaveRoom', roomId: 'lobby' })),
      { type: 'left', roomId: 'lobby' });
    assert.deepEqual(await alice.next((f) => f.type === 'memberLeft'),
      { type: 'memberLeft', roomId: 'lobby', connectionId: bobId, name: 'bob' });
    alice.send({ action: 'sendMessage', roomId: 'lobby', message: 'after bob left' });
    await alice.next((f) => f.type === 'message');
    assert.ok(await bob.quiet(300, (t) => t.includes('after bob left')));

    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  test('history: joined carries the newest 20; getMessages pages back with before/limit', async () => {
    const alice = await connect('alice');
    await alice.request({ action: 'createRoom', roomId: 'history' });
    await alice.request({ action: 'joinRoom', roomId: 'history' });
    for (let i = 1; i <= 45; i++) {
      await alice.request({ action: 'sendMessage', roomId: 'history', message: `m${i}` });
    }
    const bob = await connect('bob');
    const joined = await bob.request({ action: 'joinRoom', roomId: 'history' });
    assert.deepEqual(joined.recent.map((m) => m.seq), Array.from({ length: 20 }, (_, i) => 26 + i));

    const seen = [];
    let before;
    for (let pages = 0; pages < 10; pages++) {
      const page = await bob.request({ action: 'getMessages', roomId: 'history', limit: 10, ...(before ? { before } : {}) });
      assert.equal(page.type, 'messages');
      assert.ok(page.messages.length <= 10);
      seen.unshift(...page.messages.map((m) => m.seq));
      if (!page.hasMore) break;
      before = page.messages[0].seq;
    }
    assert.deepEqual(seen, Array.from({ length: 45 }, (_, i) => i + 1), 'every message once, in order, no gaps');
    const dflt = await bob.request({ action: 'getMessages', roomId: 'history' });
    assert.equal(dflt.messages.length, 45); // default limit 50 covers all 45
    const bad = await bob.request({ action: 'getMessages', roomId: 'history', limit: 500 });
    assert.equal(bad.code, 'BadRequest');
    await Promise.all([alice.close(), bob.close()]);
  });

  test('disconnect: the others are told and the membership is gone', async () => {
    const [alice, bob, carol] = await Promise.all([connect('alice'), connect('bob'), connect('carol')]);
    await alice.request({ action: 'createRoom', roomId: 'bye' });
    await alice.request({ action: 'joinRoom', roomId: 'bye' });
    const bJoined = await bob.request({ action: 'joinRoom', roomId: 'bye' });
    await carol.request({ action: 'joinRoom', roomId: 'bye' });
    const bobId = bJoined.members.find((m) => m.name === 'bob').connectionId;
    await bob.close();
    for (const c of [alice, carol]) {
      assert.deepEqual(await c.next((f) => f.type === 'memberLeft'),
        { type: 'memberLeft', roomId: 'bye', connectionId: bobId, name: 'bob' });
    }
    const rooms = await alice.request({ action: 'listRooms' });
    assert.equal(rooms.rooms.find((r) => r.roomId === 'bye').members, 2);
    const rejoin = await carol.request({ action: 'joinRoom', roomId: 'bye' });
    assert.deepEqual(rejoin.members.map((m) => m.name).sort(), ['alice', 'carol']);
    // A dropped TCP connection (no close frame) is cleaned up too.
    alice.ws.terminate();
    assert.equal((await carol.next((f) => f.type === 'memberLeft')).name, 'alice');
    await carol.close();
  });

  test('createRoom without roomId makes one; RoomExists for a taken id', async () => {
    const c = await connect('dave');
    const made = await c.request({ action: 'createRoom' });
    assert.equal(made.type, 'roomCreated');
    assert.match(made.roomId, /^room-[A-Za-z0-9_.-]{1,59}$/);
    const again = await c.request({ action: 'createRoom', roomId: made.roomId });
    assert.equal(again.code, 'RoomExists');
    await c.close();
  });
});
