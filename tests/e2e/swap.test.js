// The swap onto Lambda, proven offline: one scripted chat session runs against chatd's built-in
// app (SQLite) and against the packaged chat-lambda (deploy/template.yaml, DynamoDB), and every
// client receives the same frames in the same order, ids and times aside. Then what only the
// Lambda form has to get right: senders on several instances at once, and a connection whose
// $disconnect never came.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startChatd, startPackagedChat, Client, eventually } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = createRequire(path.join(here, '../../runtimes/package.json'));
const { DynamoDBClient, PutItemCommand, GetItemCommand, ListTablesCommand } = sdk('@aws-sdk/client-dynamodb');

/**
 * The session: three clients; rooms made, joined, left; messages with and without refs;
 * mistakes; history; a disconnect. Each step waits for the frames it causes, so the order of
 * everything every client receives is fixed. Returns each client's frames, in order.
 */
async function session(url) {
  const names = ['alice', 'bob', 'carol'];
  const clients = {};
  for (const n of names) clients[n] = await Client.connect(`${url}?name=${n}`);
  const got = { alice: [], bob: [], carol: [] };
  // Take exactly `count` frames from each named client (and check the others stay quiet).
  const expect = async (counts) => {
    for (const n of names) {
      for (let i = 0; i < (counts[n] ?? 0); i++) got[n].push(await clients[n].nextRaw(() => true, 5000));
    }
    for (const n of names) if (!(n in counts)) assert.ok(await clients[n].quiet(50), `${n} got an extra frame`);
  };
  const { alice, bob, carol } = clients;
  alice.send({ action: 'createRoom', roomId: 'lobby', ref: 'c1' }); await expect({ alice: 1 });
  alice.send({ action: 'createRoom', roomId: 'lobby', ref: 'c2' }); await expect({ alice: 1 });
  alice.send({ action: 'joinRoom', roomId: 'lobby', ref: 'j1' }); await expect({ alice: 1 });
  bob.send({ action: 'joinRoom', roomId: 'lobby', ref: 'j2' }); await expect({ bob: 1, alice: 1 });
  carol.send({ action: 'joinRoom', roomId: 'nope', ref: 'j3' }); await expect({ carol: 1 });
  alice.send({ action: 'sendMessage', roomId: 'lobby', message: 'hi "bob" \u00e9 <b>', ref: 's1' }); await expect({ alice: 1, bob: 1 });
  bob.send({ action: 'sendMessage', roomId: 'lobby', message: 'no ref' }); await expect({ alice: 1, bob: 1 });
  carol.send({ action: 'sendMessage', roomId: 'lobby', message: 'x', ref: 's2' }); await expect({ carol: 1 });
  carol.send({ action: 'sendmessage', message: 'to everyone' }); await expect({ alice: 1, bob: 1, carol: 1 });
  carol.send('not json'); await expect({ carol: 1 });
  carol.send({ action: 'dance', ref: 'd' }); await expect({ carol: 1 });
  carol.send({ action: 'sendMessage', roomId: 'lobby', message: 'x'.repeat(9000), ref: 'big' }); await expect({ carol: 1 });
  carol.send({ action: 'joinRoom', roomId: 'lobby', ref: 'j4' }); await expect({ carol: 1, alice: 1, bob: 1 });
  carol.send({ action: 'listRooms', ref: 'l' }); await expect({ carol: 1 });
  carol.send({ action: 'getMessages', roomId: 'lobby', limit: 1, ref: 'g1' }); await expect({ carol: 1 });
  carol.send({ action: 'getMessages', roomId: 'lobby', before: 2, ref: 'g2' }); await expect({ carol: 1 });
  bob.send({ action: 'leaveRoom', roomId: 'lobby', ref: 'lv' }); await expect({ bob: 1, alice: 1, carol: 1 });
  await bob.close(); await expect({});
  await alice.close(); await expect({ carol: 1 });
  await carol.close();
  return got;
}

/** Frames with what differs between runs replaced: connection ids by name, times by T. */
function normalize(got) {
  const ids = new Map();
  const out = {};
  for (const [name, frames] of Object.entries(got)) {
    out[name] = frames.map((raw) => raw
      .replace(/"sentAt":"[^"]+"/g, '"sentAt":"T"')
      .replace(/"createdAt":"[^"]+"/g, '"createdAt":"T"')
      .replace(/[A-Za-z0-9_-]{15}=/g, (id) => {
        if (!ids.has(id)) ids.set(id, `ID${ids.size}`);
        return ids.get(id);
      }));
  }
  return out;
}

test('the same session gives every client the same frames on SQLite and on the packaged Lambda', async () => {
  const builtIn = await startChatd();
  let sqlite;
  try { sqlite = await session(builtIn.url); } finally { await builtIn.stop(); }
  const lambda = await startPackagedChat({ args: ['--max-instances', '1'] });
  let dynamo;
  try { dynamo = await session(lambda.url); } finally { await lambda.stop(); }
  const a = normalize(sqlite);
  const b = normalize(dynamo);
  assert.equal(a.alice.length + a.bob.length + a.carol.length, 27);
  assert.deepEqual(b, a);
});

let chatd;
let db;
before(async () => {
  chatd = await startPackagedChat();
  const endpoint = /DynamoDB tables at (http:\/\/127\.0\.0\.1:\d+)/.exec(chatd.stderr())[1];
  db = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
after(async () => { await chatd?.stop(); });

test('eight senders at once over several instances: seqs 1..N, each once, every member gets each', async () => {
  const n = 8;
  const per = 6;
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => Client.connect(`${chatd.url}?name=s${i}`)));
  await clients[0].request({ action: 'createRoom', roomId: 'race' }, 10000);
  for (const c of clients) await c.request({ action: 'joinRoom', roomId: 'race' }, 10000);
  for (const c of clients) c.frames.length = 0; // memberJoined notices
  const acks = await Promise.all(clients.map((c, i) => Promise.all(Array.from({ length: per },
    (_, k) => c.request({ action: 'sendMessage', roomId: 'race', message: `${i}:${k}` }, 20000)))));
  const seqs = acks.flat().map((a) => a.seq).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: n * per }, (_, i) => i + 1));
  // Each member hears every other sender's message once (its own came back as the ack).
  for (const [i, c] of clients.entries()) {
    await eventually(() => c.frames.filter((f) => JSON.parse(f).type === 'message').length >= (n - 1) * per, 10000, `client ${i}`);
    const heard = c.frames.map((f) => JSON.parse(f)).filter((f) => f.type === 'message').map((f) => f.seq);
    assert.equal(new Set(heard).size, heard.length, 'no message twice');
    assert.equal(heard.length, (n - 1) * per);
  }
  const instances = new Set([...chatd.stderr().matchAll(/\[ChatFunction\] INIT_START|Init Duration/g)].map((m) => m.index)).size;
  console.log(`instances started: ${instances}`);
  assert.ok(instances >= 2, `the senders were served by ${instances} instance(s)`);
  await Promise.all(clients.map((c) => c.close()));
});

test('a connection whose $disconnect was lost: the next post gets 410 and the function cleans it up', async () => {
  const alice = await Client.connect(`${chatd.url}?name=alice`);
  await alice.request({ action: 'createRoom', roomId: 'ghosts' }, 10000);
  await alice.request({ action: 'joinRoom', roomId: 'ghosts' }, 10000);
  // A member API Gateway no longer knows: stored as the function stores one, never connected
  // here (as when $disconnect is lost on AWS).
  const tables = (await db.send(new ListTablesCommand({}))).TableNames;
  const table = (suffix) => tables.find((t) => t.startsWith(suffix));
  const ghost = 'GhostGhostGhost=';
  const expiresAt = { N: String(Math.floor(Date.now() / 1000) + 3600) };
  await db.send(new PutItemCommand({ TableName: table('ConnectionsTable'), Item: {
    connectionId: { S: ghost }, name: { S: 'ghost' }, connectedAt: { N: '1' }, sourceIp: { S: '127.0.0.1' },
    rooms: { SS: ['ghosts'] }, expiresAt } }));
  await db.send(new PutItemCommand({ TableName: table('MembersTable'), Item: {
    roomId: { S: 'ghosts' }, connectionId: { S: ghost }, name: { S: 'ghost' }, joinOrder: { N: '99' }, expiresAt } }));
  const before = await alice.request({ action: 'listRooms' }, 10000);
  assert.equal(before.rooms.find((r) => r.roomId === 'ghosts').members, 2);

  const ack = await alice.request({ action: 'sendMessage', roomId: 'ghosts', message: 'anyone?' }, 10000);
  assert.equal(ack.type, 'message'); // the sender is not blamed for a gone recipient
  assert.deepEqual(await alice.next((f) => f.type === 'memberLeft', 10000),
    { type: 'memberLeft', roomId: 'ghosts', connectionId: ghost, name: 'ghost' });
  const gone = await db.send(new GetItemCommand({ TableName: table('ConnectionsTable'), Key: { connectionId: { S: ghost } } }));
  assert.equal(gone.Item, undefined);
  const after = await alice.request({ action: 'listRooms' }, 10000);
  assert.equal(after.rooms.find((r) => r.roomId === 'ghosts').members, 1);
  await alice.close();
});
