// chatd --template: a SAM template's WebSocket API with real Lambda functions behind it, run
// by chatd: a Node ES module, a CommonJS $connect, a provided.al2023 bash bootstrap that
// talks to the Runtime API with curl, and functions that time out, crash and fail to load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startChatd, tempDir, writeTree, Client, eventually } from './lib.js';

const template = `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
    AllowedValues: [hello, bonjour]
Globals:
  Function:
    Runtime: nodejs20.x
    Timeout: 5
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      StageName: Prod
      Routes:
        $connect: {FunctionArn: !GetAtt Connect.Arn}
        echo: {FunctionArn: !GetAtt Echo.Arn, RouteResponseSelectionExpression: $default}
        bash: {FunctionArn: !GetAtt Bash.Arn, RouteResponseSelectionExpression: $default}
        slow: {FunctionArn: !GetAtt Slow.Arn, RouteResponseSelectionExpression: $default}
        crash: {FunctionArn: !GetAtt Crash.Arn, RouteResponseSelectionExpression: $default}
        broken: {FunctionArn: !GetAtt Broken.Arn, RouteResponseSelectionExpression: $default}
        py: {FunctionArn: !GetAtt Py.Arn, RouteResponseSelectionExpression: $default}
        store: {FunctionArn: !GetAtt Store.Arn, RouteResponseSelectionExpression: $default}
        edit: {FunctionArn: !GetAtt Edit.Arn, RouteResponseSelectionExpression: $default}
  Connect:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: connect/, Handler: index.handler}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: !Ref Greeting
          API_URL: !Sub "https://\${Api}.execute-api.\${AWS::Region}.amazonaws.com/Prod"
  Bash:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: bash/, Handler: unused, Runtime: provided.al2023}
  Slow:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: echo/, Handler: app.slow, Timeout: 1}
  Crash:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: echo/, Handler: app.crash}
  Broken:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: echo/, Handler: missing.handler}
  Py:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: handlers/chat.handle
      Runtime: python3.11
      Environment: {Variables: {TABLE: !Ref Greeting}}
  Edit:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: edit/, Handler: lib/app.handler}
  Store:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: store/
      Handler: index.handler
      Environment: {Variables: {TABLE_NAME: !Ref Messages}}
  Messages:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "\${Greeting}-messages"
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: room, AttributeType: S}
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byRoom
          KeySchema: [{AttributeName: room, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      BillingMode: PAY_PER_REQUEST
  Role:
    Type: AWS::IAM::Role
`;

const files = {
  'template.yaml': template,
  'connect/index.js': `exports.handler = async (event) => {
    const q = event.queryStringParameters || {};
    console.log('connect from', event.requestContext.connectionId);
    return { statusCode: q.deny ? 401 : 200 };
  };`,
  'echo/package.json': '{"type":"module"}',
  'echo/app.js': `let calls = 0;
    export const handler = async (event, context) => {
      calls += 1;
      const body = JSON.parse(event.body);
      return { statusCode: 200, body: JSON.stringify({
        echo: body.text, route: event.requestContext.routeKey, greeting: process.env.GREETING,
        api: process.env.API_URL, calls, fn: context.functionName, region: process.env.AWS_REGION }) };
    };
    export const slow = () => new Promise((r) => setTimeout(() => r({ statusCode: 200, body: 'late' }), 3000));
    export const crash = async () => { process.exit(3); };`,
  'py/handlers/chat.py': `import json, os
def handle(event, context):
    print("python got", context.aws_request_id)
    return {"statusCode": 200, "body": json.dumps({"py": json.loads(event["body"])["text"], "table": os.environ["TABLE"], "fn": context.function_name})}
`,
  'edit/lib/app.mjs': 'export const handler = async () => ({ statusCode: 200, body: "version 1" });',
  // SDK v3 from the runtime, as on Lambda: the function bundles nothing.
  'store/index.mjs': `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
    import { DynamoDBDocumentClient, PutCommand, ScanCommand, QueryCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    const TableName = process.env.TABLE_NAME;
    export const handler = async (event) => {
      const { op, id, room } = JSON.parse(event.body);
      if (op === 'put') await db.send(new PutCommand({ TableName, Item: { id, room } }));
      if (op === 'delete') await db.send(new DeleteCommand({ TableName, Key: { id } }));
      const all = (await db.send(new ScanCommand({ TableName }))).Items.map((i) => i.id).sort();
      const inRoom = (await db.send(new QueryCommand({ TableName, IndexName: 'byRoom', KeyConditionExpression: 'room = :r', ExpressionAttributeValues: { ':r': room || 'none' } }))).Items.map((i) => i.id).sort();
      return { statusCode: 200, body: JSON.stringify({ table: TableName, all, inRoom }) };
    };`,
  'bash/bootstrap': `#!/bin/sh
set -eu
api="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/next")
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | cut -d' ' -f2 | tr -d '\\r')
  rm -f "$headers"
  echo "bash got $id"
  curl -sS -o /dev/null -X POST "$api/$id/response" -d '{"statusCode":200,"body":"from bash"}'
done
`,
};

let chatd;
let dir;
let url;

before(async () => {
  dir = tempDir();
  writeTree(dir.dir, files);
  fs.chmodSync(path.join(dir.dir, 'bash/bootstrap'), 0o755);
  chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--parameter-overrides', 'Greeting=bonjour', '--region', 'eu-west-1'] });
  url = `ws://127.0.0.1:${chatd.port}/Prod`;
});

after(async () => {
  await chatd?.stop();
  dir?.cleanup();
});

test('the template\'s stage is served, and $connect runs its function', async () => {
  const c = await Client.connect(url);
  c.close();
  await assert.rejects(Client.connect(`${url}?deny=1`), /401/);
  await eventually(() => /\[Connect\] .*\tINFO\tconnect from /.test(chatd.stderr()), 3000, 'the function\'s log line');
  assert.match(chatd.stderr(), /template: not emulated \(no local behaviour\): Role \(AWS::IAM::Role\)/);
  // When this machine's node is not the template's version, chatd says so, once.
  const major = process.versions.node.split('.')[0];
  if (major !== '20') assert.match(chatd.stderr(), /template: nodejs20\.x \(\w+ and any other\) runs on this machine's .*node, v\d+/);
  else assert.doesNotMatch(chatd.stderr(), /template: nodejs20\.x/);
});

test('a Node ES module function answers a two-way route, warm on the second call', async () => {
  const c = await Client.connect(url);
  c.send({ action: 'echo', text: 'hi' });
  const first = await c.next();
  assert.equal(first.echo, 'hi');
  assert.equal(first.route, 'echo');
  assert.equal(first.greeting, 'bonjour'); // --parameter-overrides
  assert.equal(first.fn, 'Echo');
  assert.equal(first.region, 'eu-west-1');
  assert.match(first.api, /^https:\/\/[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com\/Prod$/);
  c.send({ action: 'echo', text: 'again' });
  const second = await c.next();
  assert.equal(second.calls, first.calls + 1, 'the same warm instance served both');
  c.close();
  const log = chatd.stderr();
  assert.match(log, /\[Echo\] START RequestId: [0-9a-f-]{36} Version: \$LATEST/);
  assert.match(log, /\[Echo\] END RequestId: [0-9a-f-]{36}/);
  await eventually(() => /\[Echo\] REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t/.test(chatd.stderr()), 3000, 'a cold REPORT line');
});

test('a provided.al2023 bootstrap written in sh with curl runs as on Lambda', async () => {
  const c = await Client.connect(url);
  c.send({ action: 'bash' });
  assert.equal(await c.nextRaw(), 'from bash');
  c.close();
  await eventually(() => /\[Bash\] bash got [0-9a-f-]{36}/.test(chatd.stderr()), 3000, 'the bootstrap\'s own output');
});

test('a Python function (a handler in a subdirectory) answers too', async () => {
  const c = await Client.connect(url);
  c.send({ action: 'py', text: 'snake' });
  assert.deepEqual(await c.next(), { py: 'snake', table: 'bonjour', fn: 'Py' });
  c.close();
  await eventually(() => /\[Py\] python got [0-9a-f-]{36}/.test(chatd.stderr()), 3000, 'the print in the log');
});

test('a function uses the template\'s DynamoDB table through SDK v3, unchanged', async () => {
  const c = await Client.connect(url);
  const call = async (msg) => { c.send({ action: 'store', ...msg }); return c.next(() => true, 10000); };
  assert.deepEqual(await call({ op: 'put', id: 'a', room: 'lobby' }), { table: 'bonjour-messages', all: ['a'], inRoom: ['a'] });
  assert.deepEqual(await call({ op: 'put', id: 'b', room: 'lobby' }), { table: 'bonjour-messages', all: ['a', 'b'], inRoom: ['a', 'b'] });
  assert.deepEqual(await call({ op: 'put', id: 'c', room: 'other' }), { table: 'bonjour-messages', all: ['a', 'b', 'c'], inRoom: ['c'] });
  assert.deepEqual(await call({ op: 'delete', id: 'a', room: 'lobby' }), { table: 'bonjour-messages', all: ['b', 'c'], inRoom: ['b'] });
  c.close();
  assert.match(chatd.stderr(), /template: DynamoDB tables at http:\/\/127\.0\.0\.1:\d+ \(dynalite, in memory\)/);
});

test('an edit under the code directory is picked up by the next invocation, without a restart', async () => {
  const c = await Client.connect(url);
  c.send({ action: 'edit' });
  assert.equal(await c.nextRaw(), 'version 1');
  fs.writeFileSync(path.join(dir.dir, 'edit/lib/app.mjs'), 'export const handler = async () => ({ statusCode: 200, body: "version 2" });');
  await eventually(() => /\[Edit\] code changed \(.*edit\/lib\/app\.mjs\)/.test(chatd.stderr()), 3000, 'the edit noticed');
  c.send({ action: 'edit' });
  assert.equal(await c.nextRaw(), 'version 2');
  c.close();
});

test('a timeout, a crash and an import error are function errors; the next call works', async () => {
  const c = await Client.connect(url);
  c.send({ action: 'slow' });
  assert.equal((await c.next(() => true, 5000)).message, 'Internal server error');
  c.send({ action: 'crash' });
  assert.equal((await c.next()).message, 'Internal server error');
  c.send({ action: 'crash' }); // a fresh instance, which crashes again
  assert.equal((await c.next()).message, 'Internal server error');
  c.send({ action: 'broken' });
  assert.equal((await c.next()).message, 'Internal server error');
  c.send({ action: 'echo', text: 'still here' });
  assert.equal((await c.next()).echo, 'still here');
  c.close();
  const log = chatd.stderr();
  assert.match(log, /Task timed out after 1\.00 seconds/);
  assert.match(log, /\[Crash\] RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3/);
  assert.match(log, /\[Broken\] init error: Runtime\.ImportModuleError: Error: Cannot find module 'missing'/);
  await eventually(() => /\[Slow\] REPORT .*Status: timeout/.test(chatd.stderr()), 3000, 'the timeout REPORT');
});

test('a template that cannot run stops chatd at start with one line and exit code 2', async () => {
  const bad = tempDir();
  try {
    const write = (name, text) => { fs.mkdirSync(path.dirname(path.join(bad.dir, name)), { recursive: true }); fs.writeFileSync(path.join(bad.dir, name), text); };
    write('t.yaml', template.replace('CodeUri: echo/, Handler: missing.handler', 'CodeUri: nowhere/, Handler: missing.handler'));
    for (const d of ['connect', 'echo', 'bash']) fs.mkdirSync(path.join(bad.dir, d), { recursive: true });
    fs.writeFileSync(path.join(bad.dir, 'bash/bootstrap'), '#!/bin/sh\n', { mode: 0o755 });
    await assert.rejects(startChatd({ args: ['--template', path.join(bad.dir, 't.yaml')] }),
      (e) => /exited 2: chatd: --template .*t\.yaml: Resources\.Broken: CodeUri 'nowhere\/' is not a directory/.test(e.message));
    await assert.rejects(startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml'), '--parameter-overrides', 'Greeting=hola'] }),
      (e) => /exited 2: chatd: --template .*: Parameters\.Greeting: the value 'hola' given for it is refused: parameter Greeting must be one of hello, bonjour/.test(e.message));
    write('y.yaml', 'Resources:\n  A: [1, 2\n');
    await assert.rejects(startChatd({ args: ['--template', path.join(bad.dir, 'y.yaml')] }),
      (e) => /exited 2: chatd: --template .*y\.yaml:3:1: not valid YAML/.test(e.message));
  } finally {
    bad.cleanup();
  }
});

test('chatd stops cleanly and leaves no function process behind', async () => {
  const inside = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readlinkSync(`/proc/${p}/cwd`).startsWith(dir.dir); } catch { return false; }
  });
  assert.ok(inside().length > 0, 'warm instances run in their code directories');
  const r = await chatd.stop();
  assert.equal(r.code, 0);
  assert.match(chatd.stderr(), /chatd stopped/);
  await eventually(() => inside().length === 0, 3000, 'no process left in the code directories');
  const dynalite = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dynamodb/server.mjs'); } catch { return false; }
  });
  await eventually(() => dynalite().length === 0, 3000, 'the local DynamoDB stopped too');
});
