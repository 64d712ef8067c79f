// chatd --template with Python functions that use boto3 as they would on Lambda: no endpoint in
// the code, DynamoDB through the resource and the client APIs, @connections through an endpoint
// built from the event's domainName and stage and from an execute-api URL in the environment.
// The suite runs once per Python with boto3 this machine has: the one on PATH and Debian's
// /usr/bin/python3 (whose botocore 1.29 predates the endpoint variables) when it differs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startChatd, tempDir, writeTree, Client, eventually } from './lib.js';

const template = `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  TableName: {Type: String, Default: py_connections}
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
    Timeout: 10
    Environment:
      Variables:
        TABLE_NAME: !Ref TableName
        CALLBACK_URL: !Sub "https://\${Chat}.execute-api.\${AWS::Region}.amazonaws.com/live"
Resources:
  Chat:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      StageName: live
      Routes:
        $connect: {FunctionArn: !GetAtt OnConnect.Arn}
        $disconnect: {FunctionArn: !GetAtt OnDisconnect.Arn}
        sendmessage: {FunctionArn: !GetAtt Send.Arn}
        shout: {FunctionArn: !GetAtt Shout.Arn}
        rows: {FunctionArn: !GetAtt Rows.Arn, RouteResponseSelectionExpression: $default}
  OnConnect:
    Type: AWS::Serverless::Function
    Properties: {Handler: connections.on_connect}
  OnDisconnect:
    Type: AWS::Serverless::Function
    Properties: {Handler: connections.on_disconnect}
  Send:
    Type: AWS::Serverless::Function
    Properties: {Handler: broadcast.by_domain}
  Shout:
    Type: AWS::Serverless::Function
    Properties: {Handler: broadcast.by_api_url}
  Rows:
    Type: AWS::Serverless::Function
    Properties: {Handler: rows.handler}
  Connections:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref TableName
      AttributeDefinitions:
        - {AttributeName: connectionId, AttributeType: S}
        - {AttributeName: room, AttributeType: S}
      KeySchema: [{AttributeName: connectionId, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byRoom
          KeySchema: [{AttributeName: room, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      BillingMode: PAY_PER_REQUEST
`;

const files = {
  'template.yaml': template,
  'src/connections.py': `import os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def on_connect(event, context):
    room = (event.get("queryStringParameters") or {}).get("room", "lobby")
    table.put_item(Item={"connectionId": event["requestContext"]["connectionId"], "room": room})
    return {"statusCode": 200}


def on_disconnect(event, context):
    table.delete_item(Key={"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200}
`,
  'src/broadcast.py': `import json
import os
import boto3
from boto3.dynamodb.conditions import Key

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def fan_out(api, event):
    text = json.loads(event["body"])["data"]
    sent, gone = 0, []
    for item in table.scan()["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"], Data=text.encode())
            sent += 1
        except api.exceptions.GoneException:
            gone.append(item["connectionId"])
            table.delete_item(Key={"connectionId": item["connectionId"]})
    print("sent", sent, "gone", ",".join(gone))
    return {"statusCode": 200}


def by_domain(event, context):
    ctx = event["requestContext"]
    url = "https://" + ctx["domainName"] + "/" + ctx["stage"]
    return fan_out(boto3.client("apigatewaymanagementapi", endpoint_url=url), event)


def by_api_url(event, context):
    return fan_out(boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"]), event)
`,
  'src/rows.py': `import json
import os
import boto3
import botocore
from boto3.dynamodb.conditions import Key

client = boto3.client("dynamodb")


def handler(event, context):
    body = json.loads(event["body"])
    if body.get("op") == "put":
        client.put_item(TableName=os.environ["TABLE_NAME"],
                        Item={"connectionId": {"S": body["id"]}, "room": {"S": body["room"]}})
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    in_room = table.query(IndexName="byRoom", KeyConditionExpression=Key("room").eq(body["room"]))["Items"]
    everyone = client.scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return {"statusCode": 200, "body": json.dumps({
        "botocore": botocore.__version__,
        "inRoom": sorted(i["connectionId"] for i in in_room),
        "count": len(everyone),
    })}
`,
};

/** The Pythons to run the suite with: each distinct python3 that imports boto3. */
function pythons() {
  const found = [];
  for (const [label, dirs] of [['PATH', process.env.PATH], ['Debian', `/usr/bin:${process.env.PATH}`]]) {
    const r = spawnSync('python3', ['-c', 'import sys, boto3, botocore; print(sys.executable, botocore.__version__)'],
      { env: { ...process.env, PATH: dirs }, encoding: 'utf8' });
    if (r.status !== 0) continue;
    const [exe, version] = r.stdout.trim().split(' ');
    const real = fs.realpathSync(exe);
    if (!found.some((f) => f.real === real)) found.push({ label, path: dirs, real, version });
  }
  return found;
}

const found = pythons();
test('this machine has a python3 with boto3 (scripts/setup.sh installs Debian\'s python3-boto3)', () => {
  assert.ok(found.length > 0, 'no python3 on this machine imports boto3');
});

for (const py of found) {
  describe(`Python functions with boto3 ${py.version} (${py.real})`, () => {
    let chatd;
    let dir;
    let url;

    before(async () => {
      dir = tempDir();
      writeTree(dir.dir, files);
      chatd = await startChatd({
        args: ['--template', path.join(dir.dir, 'template.yaml'), '--parameter-overrides', 'TableName=chat_py', '--region', 'ap-south-1'],
        env: { PATH: py.path },
      });
      url = `ws://127.0.0.1:${chatd.port}/live`;
    });

    test('chatd prints the template\'s stage in its URL', () => {
      assert.equal(chatd.stage, 'live');
      assert.equal(chatd.url, url);
    });

    after(async () => {
      await chatd?.stop();
      dir?.cleanup();
    });

    test('boto3\'s client and resource reach the template\'s table with no endpoint in the code', async () => {
      const c = await Client.connect(`${url}?room=blue`);
      const call = async (msg) => { c.send({ action: 'rows', ...msg }); return c.next(() => true, 15000); };
      const first = await call({ op: 'put', id: 'rowAAAAAAAAAAAA=', room: 'green' });
      assert.equal(first.botocore, py.version);
      assert.deepEqual(first.inRoom, ['rowAAAAAAAAAAAA=']);
      assert.equal(first.count, 2, 'the row written and this client\'s connection');
      const blue = await call({ room: 'blue' });
      assert.equal(blue.inRoom.length, 1, '$connect stored this connection in its room');
      c.close();
    });

    test('three clients chat through post_to_connection, by domainName and by execute-api URL', async () => {
      const clients = await Promise.all([1, 2, 3].map(() => Client.connect(url)));
      clients[0].send({ action: 'sendmessage', data: 'hello from python' });
      for (const c of clients) assert.equal(await c.nextRaw(() => true, 15000), 'hello from python');
      clients[2].send({ action: 'shout', data: 'via execute-api' });
      for (const c of clients) assert.equal(await c.nextRaw(() => true, 15000), 'via execute-api');
      for (const c of clients) c.close();
    });

    test('a stale connection is cleaned up through GoneException', async () => {
      const a = await Client.connect(url);
      a.send({ action: 'rows', op: 'put', id: 'staleAAAAAAAAAA=', room: 'lobby' });
      await a.next(() => true, 15000);
      a.send({ action: 'sendmessage', data: 'anyone?' });
      assert.equal(await a.nextRaw(() => true, 15000), 'anyone?');
      await eventually(() => /\[Send\] sent \d+ gone staleAAAAAAAAAA=/.test(chatd.stderr()), 5000, 'the GoneException caught');
      a.send({ action: 'rows', room: 'lobby' });
      assert.ok(!(await a.next(() => true, 15000)).inRoom.includes('staleAAAAAAAAAA='));
      a.close();
    });
  });
}
