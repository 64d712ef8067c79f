// chatd --template's own settings and what a template asks of the emulator beyond routes and
// functions: a stage picked among several (with its stage variables), --max-instances, the
// V8 heap sized from MemorySize as Lambda sizes it, TimeToLiveSpecification honoured by the local
// DynamoDB, and where the tables live (--dynamodb-data: a directory, or memory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startChatd, tempDir, writeTree, Client, eventually } from './lib.js';

const route = (key, fn) => `
  ${key}Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: ${key}, RouteResponseSelectionExpression: $default,
                 Target: !Sub 'integrations/\${${key}Integ}'}
  ${key}Response:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref ${key}Route, RouteResponseKey: $default}
  ${key}Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${fn}.Arn}/invocations`;

const template = `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: nodejs20.x, CodeUri: src/, MemorySize: 256, Environment: {Variables: {TABLE_NAME: sessions}}}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: opts, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Test:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: test, StageVariables: {name: testing}}
  Live:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: live, StageVariables: {name: production}}
${route('whoami', 'WhoAmI')}
${route('sessions', 'Sessions')}
  WhoAmI:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.whoami}
  Sessions:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.sessions}
  SessionTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: sessions
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
`;

const files = {
  'template.yaml': template,
  'src/app.mjs': `import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
const db = new DynamoDBClient({});
const TableName = process.env.TABLE_NAME;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const whoami = async (event) => {
  await sleep(JSON.parse(event.body).wait ?? 0);
  return { statusCode: 200, body: JSON.stringify({ pid: process.pid, execArgv: process.execArgv,
    stage: event.requestContext.stage, stageVariables: event.stageVariables }) };
};

export const sessions = async (event) => {
  const { put } = JSON.parse(event.body);
  const now = Math.floor(Date.now() / 1000);
  for (const [id, inSeconds] of Object.entries(put ?? {})) {
    const Item = { id: { S: id } };
    if (inSeconds !== null) Item.expiresAt = typeof inSeconds === 'number' ? { N: String(now + inSeconds) } : { S: inSeconds };
    await db.send(new PutItemCommand({ TableName, Item }));
  }
  const { Items } = await db.send(new ScanCommand({ TableName }));
  return { statusCode: 200, body: JSON.stringify(Items.map((i) => i.id.S).sort()) };
};
`,
};

/** The live processes for which `keep(pid)` holds (a process that ends meanwhile is left out). */
function processes(keep) {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return keep(p);
    } catch {
      return false;
    }
  });
}

/** The processes chatd (`chatdPid`) started and has not reaped. */
function children(chatdPid) {
  return processes((p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === chatdPid;
  });
}

/** The pids of the function instances (runtime clients) chatd has started and not ended. */
function instances(chatdPid) {
  return children(chatdPid).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('ric.mjs');
    } catch {
      return false;
    }
  });
}

let dir;
before(() => {
  dir = tempDir();
  writeTree(dir.dir, files);
});
after(() => dir?.cleanup());

async function call(url, msg) {
  const c = await Client.connect(url);
  try {
    c.send(msg);
    return await c.next(() => true, 15000);
  } finally {
    c.close();
  }
}

test('a template with two stages needs --stage; the stage picked is served with its variables', async () => {
  const tpl = path.join(dir.dir, 'template.yaml');
  await assert.rejects(startChatd({ args: ['--template', tpl] }),
    (e) => /exited 2: chatd: --template .*template\.yaml: the API has stages live, test: pick one with --stage/.test(e.message));
  await assert.rejects(startChatd({ args: ['--template', tpl, '--stage', 'prod'] }),
    (e) => /exited 2: chatd: --stage 'prod': the template's API has no such stage/.test(e.message));
  const chatd = await startChatd({ args: ['--template', tpl, '--stage', 'live', '--dynamodb-data', 'memory'] });
  try {
    assert.equal(chatd.stage, 'live');
    const me = await call(chatd.url, { action: 'whoami' });
    assert.equal(me.stage, 'live');
    assert.deepEqual(me.stageVariables, { name: 'production' });
    // Lambda's Node.js bootstrap: a tenth of MemorySize (256) for the young generation.
    assert.ok(me.execArgv.includes('--max-semi-space-size=12'), me.execArgv.join(' '));
    assert.ok(me.execArgv.includes('--max-old-space-size=231'), me.execArgv.join(' '));
    await assert.rejects(Client.connect(`ws://127.0.0.1:${chatd.port}/test`), /HTTP 403/);
  } finally {
    await chatd.stop();
  }
});

test('--max-instances 1: overlapping invocations wait for the one instance', async () => {
  const chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test',
    '--max-instances', '1', '--dynamodb-data', 'memory'] });
  try {
    const t0 = Date.now();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => call(chatd.url, { action: 'whoami', wait: 300 })));
    assert.equal(new Set([a.pid, b.pid, c.pid]).size, 1, 'one instance served all three');
    assert.ok(Date.now() - t0 >= 900, 'one after the other');
  } finally {
    await chatd.stop();
  }
});

test('a busy instance is waited for as long as a cold start takes, then another one starts', async () => {
  const chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test',
    '--dynamodb-data', 'memory'] });
  try {
    const warm = await call(chatd.url, { action: 'whoami' }); // one instance; its cold start measured
    const timed = async (msg, after = 0) => {
      await new Promise((r) => setTimeout(r, after));
      const t0 = Date.now();
      return { ...(await call(chatd.url, msg)), ms: Date.now() - t0 };
    };
    // Busy for 20 ms, far less than a Node.js cold start: the second call waits for it.
    const [a, b] = await Promise.all([timed({ action: 'whoami', wait: 20 }), timed({ action: 'whoami' }, 5)]);
    assert.equal(a.pid, warm.pid);
    assert.equal(b.pid, warm.pid);
    await new Promise((r) => setTimeout(r, 500)); // time for a cold start, had one begun
    assert.deepEqual(instances(chatd.proc.pid), [warm.pid], 'no instance started for a 20 ms wait');
    // Busy for 2.5 s (the Timeout is 3): the second call gets an instance of its own long before.
    const [c, d] = await Promise.all([timed({ action: 'whoami', wait: 2500 }), timed({ action: 'whoami' }, 100)]);
    assert.equal(c.pid, warm.pid);
    assert.notEqual(d.pid, warm.pid);
    assert.ok(d.ms < 2000, `the second call took ${d.ms} ms`);
  } finally {
    await chatd.stop();
  }
});

test('function instances and the DynamoDB emulator hold none of chatd\'s descriptors', async () => {
  const chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test'] });
  // Standard input, output and error aside: a child may share those with chatd on purpose.
  const sockets = (pid) => new Set(fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => {
    try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; }
  }).filter((l) => l.startsWith('socket:')));
  try {
    const client = await Client.connect(chatd.url); // a client socket open while instances start
    const { pid } = await call(chatd.url, { action: 'whoami' });
    await call(chatd.url, { action: 'sessions' });
    const started = children(chatd.proc.pid);
    assert.ok(started.includes(pid) && started.length >= 3, `chatd's children: ${started}`);
    const mine = sockets(chatd.proc.pid);
    for (const child of started) {
      const shared = [...sockets(child)].filter((s) => mine.has(s));
      assert.deepEqual(shared, [], `process ${child} (${fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ')}) holds chatd's ${shared}`);
    }
    client.close();
  } finally {
    await chatd.stop();
  }
});

test('chatd stopped while instances are starting leaves none of them running', async () => {
  const src = fs.realpathSync(path.join(dir.dir, 'src'));
  const ours = () => processes((p) => fs.readlinkSync(`/proc/${p}/cwd`) === src);
  const chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test',
    '--dynamodb-data', 'memory'] });
  const clients = await Promise.all([1, 2, 3, 4, 5, 6].map(() => Client.connect(chatd.url)));
  for (const c of clients) c.send({ action: 'whoami', wait: 2000 });
  await eventually(() => ours().length >= 6, 5000, 'six instances starting');
  await chatd.stop();
  await eventually(() => ours().length === 0, 3000, `every instance gone (left: ${ours()})`);
});

test('--integration-timeout: past it the client gets API Gateway\'s timeout, and the function runs on', async () => {
  const chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test',
    '--dynamodb-data', 'memory', '--integration-timeout', '1'] });
  try {
    await call(chatd.url, { action: 'whoami' }); // warm, so the timing below is the function's
    const c = await Client.connect(chatd.url);
    const t0 = Date.now();
    c.send({ action: 'whoami', wait: 2000 });
    const frame = await c.next(() => true, 5000);
    assert.equal(frame.message, 'Endpoint request timed out');
    assert.ok(Date.now() - t0 < 1900, `answered after ${Date.now() - t0} ms`);
    // The function was not stopped: its REPORT comes when it finishes, with no timeout status.
    await eventually(() => /\[WhoAmI\] REPORT RequestId: \S+\tDuration: 20\d\d\.\d\d ms/.test(chatd.stderr()), 3000,
      'the function finishing its 2 s');
    assert.doesNotMatch(chatd.stderr(), /Task timed out/);
    c.close();
  } finally {
    await chatd.stop();
  }
});

test('TimeToLiveSpecification: expired items are deleted; --dynamodb-data keeps the rest across restarts', async () => {
  const data = path.join(dir.dir, 'tables');
  const db = path.join(dir.dir, 'chat.db');
  const args = ['--template', path.join(dir.dir, 'template.yaml'), '--stage', 'test', '--dynamodb-data', data];
  let chatd = await startChatd({ db, args });
  try {
    // Expired a minute ago, valid for an hour, no TTL attribute, a TTL attribute that is no number.
    const all = await call(chatd.url, { action: 'sessions', put: { old: -60, fresh: 3600, forever: null, text: 'soon' } });
    assert.deepEqual(all, ['forever', 'fresh', 'old', 'text']);
    let now;
    await eventually(async () => {
      now = await call(chatd.url, { action: 'sessions' });
      return !now.includes('old');
    }, 8000, 'the expired item deleted');
    assert.deepEqual(now, ['forever', 'fresh', 'text']);
  } finally {
    await chatd.stop();
  }
  assert.ok(fs.existsSync(data), '--dynamodb-data holds the tables');
  assert.ok(!fs.existsSync(`${db}.dynamodb`), 'nothing beside --db');
  chatd = await startChatd({ db, args });
  try {
    assert.deepEqual(await call(chatd.url, { action: 'sessions' }), ['forever', 'fresh', 'text']);
  } finally {
    await chatd.stop();
  }
});
