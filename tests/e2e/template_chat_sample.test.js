// A chat app in the shape of AWS's published SAM WebSocket sample (tests/e2e/apps/sam-chat:
// three ES-module functions on SDK v3 and DynamoDB, no dependencies of their own, the
// @connections endpoint built from the API id and the region), run unchanged by
// chatd --template: three clients chat, a stale connection is cleaned up through GoneException.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startChatd, Client, eventually } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The test reads the table with the same SDK chatd gives the functions.
const sdk = createRequire(path.join(here, '../../runtimes/package.json'));
const { DynamoDBClient, ScanCommand, PutItemCommand } = sdk('@aws-sdk/client-dynamodb');

let chatd;
let url;
let db;

before(async () => {
  chatd = await startChatd({ args: ['--template', path.join(here, 'apps/sam-chat/template.yaml'), '--parameter-overrides', 'TableName=sample_connections'] });
  url = `ws://127.0.0.1:${chatd.port}/Prod`;
  const endpoint = /DynamoDB tables at (http:\/\/127\.0\.0\.1:\d+)/.exec(chatd.stderr())[1];
  db = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

after(async () => {
  await chatd?.stop();
});

const stored = async () => (await db.send(new ScanCommand({ TableName: 'sample_connections' }))).Items.map((i) => i.connectionId.S).sort();

test('three clients chat through the sample\'s functions and table', async () => {
  const clients = await Promise.all([Client.connect(url), Client.connect(url), Client.connect(url)]);
  await eventually(async () => (await stored()).length === 3, 5000, 'three connections stored by $connect');
  clients[0].send({ action: 'sendmessage', data: 'hello from 0' });
  for (const c of clients) assert.equal(await c.nextRaw(() => true, 5000), 'hello from 0');
  clients[2].send({ action: 'sendmessage', data: 'and from 2' });
  for (const c of clients) assert.equal(await c.nextRaw(() => true, 5000), 'and from 2');

  // A connection id left in the table by a client that is gone: the post to it is 410, and
  // the function deletes it, as the sample does.
  await db.send(new PutItemCommand({ TableName: 'sample_connections', Item: { connectionId: { S: 'AAAAAAAAAAAAAAA=' } } }));
  clients[1].send({ action: 'sendmessage', data: 'anyone stale?' });
  for (const c of clients) assert.equal(await c.nextRaw(() => true, 5000), 'anyone stale?');
  await eventually(async () => !(await stored()).includes('AAAAAAAAAAAAAAA='), 5000, 'the stale id deleted');
  assert.match(chatd.stderr(), /\[SendMessageFunction\] .*Found stale connection, deleting AAAAAAAAAAAAAAA=/);

  // $disconnect removes a client that leaves.
  await clients[1].close();
  await eventually(async () => (await stored()).length === 2, 5000, 'the closed connection deleted by $disconnect');
  clients[0].send({ action: 'sendmessage', data: 'two left' });
  assert.equal(await clients[0].nextRaw(() => true, 5000), 'two left');
  assert.equal(await clients[2].nextRaw(() => true, 5000), 'two left');
  for (const c of [clients[0], clients[2]]) c.close();
});
