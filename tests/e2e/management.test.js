// The @connections management API, driven by the official AWS SDK v3 client exactly as a
// Lambda function would use it, plus the raw HTTP details the SDK hides.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
  GetConnectionCommand,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { startChatd, Client, eventually } from './lib.js';

let chatd;
let api;
before(async () => {
  chatd = await startChatd();
  api = new ApiGatewayManagementApiClient({
    endpoint: `${chatd.http}/dev`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
after(async () => { api.destroy(); await chatd.stop(); });

/** Connect a named client, join a room, and learn its connection id from `joined`. */
async function member(name, room) {
  const c = await Client.connect(`${chatd.url}?name=${name}`);
  await c.request({ action: 'createRoom', roomId: room });
  const joined = await c.request({ action: 'joinRoom', roomId: room });
  c.id = joined.members.find((m) => m.name === name).connectionId;
  return c;
}

test('PostToConnection delivers the raw data as one text frame', async () => {
  const c = await member('postee', 'm1');
  const out = await api.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: 'hello from the SDK' }));
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(await c.nextRaw(), 'hello from the SDK');
  await api.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: new TextEncoder().encode('{"x":1}') }));
  assert.equal(await c.nextRaw(), '{"x":1}');
  await c.close();
});

test('GetConnection returns connectedAt, identity and lastActiveAt', async () => {
  const before = Date.now();
  const c = await Client.connect(chatd.url, { headers: { 'User-Agent': 'e2e-agent/1.0' } });
  await c.request({ action: 'createRoom', roomId: 'm2' });
  const joined = await c.request({ action: 'joinRoom', roomId: 'm2' });
  const id = joined.members[0].connectionId;
  const info = await api.send(new GetConnectionCommand({ ConnectionId: id }));
  assert.equal(info.$metadata.httpStatusCode, 200);
  assert.ok(info.ConnectedAt instanceof Date);
  assert.ok(info.ConnectedAt.getTime() >= before - 1000 && info.ConnectedAt.getTime() <= Date.now());
  assert.ok(info.LastActiveAt.getTime() >= info.ConnectedAt.getTime());
  assert.deepEqual(info.Identity, { SourceIp: '127.0.0.1', UserAgent: 'e2e-agent/1.0' });
  // The wire format uses lower-case keys (what the SDK parses).
  const raw = await fetch(`${chatd.http}/dev/@connections/${encodeURIComponent(id)}`);
  const body = await raw.json();
  assert.deepEqual(Object.keys(body), ['connectedAt', 'identity', 'lastActiveAt']);
  await c.close();
});

test('DeleteConnection closes the client with 1000 and $disconnect runs', async () => {
  const victim = await member('victim', 'm3');
  const witness = await Client.connect(`${chatd.url}?name=witness`);
  await witness.request({ action: 'joinRoom', roomId: 'm3' });
  await victim.next((f) => f.type === 'memberJoined');
  const out = await api.send(new DeleteConnectionCommand({ ConnectionId: victim.id }));
  assert.equal(out.$metadata.httpStatusCode, 204);
  const closed = await victim.closed;
  assert.equal(closed.code, 1000);
  const left = await witness.next((f) => f.type === 'memberLeft');
  assert.equal(left.connectionId, victim.id);
  await witness.close();
});

test('a closed or unknown id raises GoneException (410, empty body)', async () => {
  const c = await member('leaver', 'm4');
  await c.close();
  // $disconnect runs after the close completes; the id is gone at once.
  for (const Command of [PostToConnectionCommand, GetConnectionCommand, DeleteConnectionCommand]) {
    await assert.rejects(
      api.send(new Command({ ConnectionId: c.id, Data: 'x' })),
      (e) => e.name === 'GoneException' && e.$metadata.httpStatusCode === 410,
    );
  }
  await assert.rejects(api.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' })),
    (e) => e.name === 'GoneException');
  const raw = await fetch(`${chatd.http}/dev/@connections/AAAAAAAAAAAAAAA%3D`, { method: 'POST', body: 'x' });
  assert.equal(raw.status, 410);
  assert.equal(raw.headers.get('x-amzn-errortype'), 'GoneException');
  assert.equal(await raw.text(), '');
});

test('malformed ids, wrong stages and oversize data get API Gateway errors', async () => {
  await assert.rejects(api.send(new PostToConnectionCommand({ ConnectionId: 'not-an-id', Data: 'x' })),
    (e) => e.name === 'BadRequestException' && e.$metadata.httpStatusCode === 400);
  const wrongStage = await fetch(`${chatd.http}/prod/@connections/AAAAAAAAAAAAAAA%3D`, { method: 'POST', body: 'x' });
  assert.equal(wrongStage.status, 403);
  assert.equal(wrongStage.headers.get('x-amzn-errortype'), 'ForbiddenException');
  assert.deepEqual(await wrongStage.json(), { message: 'Forbidden' });
  const noStage = await fetch(`${chatd.http}/@connections/AAAAAAAAAAAAAAA%3D`);
  assert.equal(noStage.status, 403);
  // The answer is API Gateway's bare "Forbidden"; chatd's log says what the API looks like.
  await eventually(() => /INFO management request refused/.test(chatd.stderr()), 3000, 'the log line');
  assert.match(chatd.stderr(), /INFO management request refused with 403, as API Gateway would: the API is GET, POST or DELETE on \/dev\/@connections\/\{connectionId\}\n/);
  // The same for a WebSocket upgrade to a path that is not the stage.
  await assert.rejects(Client.connect(`${chatd.url.replace('/dev', '/prod')}`), /HTTP 403/);
  await eventually(() => /INFO WebSocket upgrade refused/.test(chatd.stderr()), 3000, 'the log line');
  assert.match(chatd.stderr(), /INFO WebSocket upgrade refused with 403, as API Gateway would: the path is not this chatd's stage; connect to \/dev \(or \/\)\n/);
  const c = await member('big', 'm5');
  await assert.rejects(
    api.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: 'x'.repeat(131073) })),
    (e) => e.name === 'PayloadTooLargeException' && e.$metadata.httpStatusCode === 413,
  );
  // Exactly 128 KB is accepted and arrives whole (as frames of at most 32 KB).
  await api.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: 'y'.repeat(131072) }));
  assert.equal((await c.nextRaw()).length, 131072);
  // %40 for the @ and %3D for the = are decoded, as the AWS docs' awscurl example sends them.
  const encoded = await fetch(`${chatd.http}/dev/%40connections/${c.id.replace('=', '%3D')}`, { method: 'POST', body: 'enc' });
  assert.equal(encoded.status, 200);
  assert.equal(await c.nextRaw(), 'enc');
  await c.close();
});
