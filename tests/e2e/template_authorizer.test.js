// chatd --template with a REQUEST authorizer on $connect, as API Gateway runs one: missing
// identity sources are 401 without calling it, "Unauthorized" is 401, Deny is 403, a failure
// is 500, and Allow lets $connect run with requestContext.authorizer on every later event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startChatd, tempDir, writeTree, Client } from './lib.js';

const files = {
  'template.yaml': `Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: nodejs20.x, CodeUri: src/}
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      StageName: live
      Auth: {AuthType: CUSTOM, AuthArn: !GetAtt Auth.Arn, IdentitySource: [route.request.querystring.token]}
      Routes:
        $connect: {FunctionArn: !GetAtt Connect.Arn}
        whoami: {FunctionArn: !GetAtt WhoAmI.Arn, RouteResponseSelectionExpression: $default}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {Handler: auth.handler}
  Connect:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.connect}
  WhoAmI:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.whoami}
`,
  'src/auth.js': `exports.handler = async (event) => {
    const token = event.queryStringParameters.token;
    console.log('authorizing', event.type, event.methodArn, event.headers.Upgrade || event.headers.upgrade);
    if (token === 'unauthorized') throw new Error('Unauthorized');
    if (token === 'boom') throw new Error('boom');
    const effect = token === 'deny' ? 'Deny' : 'Allow';
    return { principalId: 'user-' + token, context: { user: token, n: 5, ok: true },
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: event.methodArn }] } };
  };`,
  'src/app.js': `exports.connect = async (event) => { console.log('connect as', event.requestContext.authorizer.principalId); return { statusCode: 200 }; };
    exports.whoami = async (event) => ({ statusCode: 200, body: JSON.stringify(event.requestContext.authorizer) });`,
};

let chatd;
let dir;
let url;

before(async () => {
  dir = tempDir();
  writeTree(dir.dir, files);
  chatd = await startChatd({ args: ['--template', path.join(dir.dir, 'template.yaml')] });
  url = `ws://127.0.0.1:${chatd.port}/live`;
});

after(async () => {
  await chatd?.stop();
  dir?.cleanup();
});

test('refusals: no token 401 (the authorizer not called), Unauthorized 401, Deny 403, a failure 500', async () => {
  await assert.rejects(Client.connect(url), /401/);
  await assert.rejects(Client.connect(`${url}?token=`), /401/);
  assert.doesNotMatch(chatd.stderr(), /\[Auth\] .*authorizing/);
  await assert.rejects(Client.connect(`${url}?token=unauthorized`), /401/);
  await assert.rejects(Client.connect(`${url}?token=deny`), /403/);
  await assert.rejects(Client.connect(`${url}?token=boom`), /500/);
  assert.doesNotMatch(chatd.stderr(), /\[Connect\] .*connect as/);
});

test('Allow: $connect runs, and requestContext.authorizer is on the later events', async () => {
  const c = await Client.connect(`${url}?token=alice`);
  c.send({ action: 'whoami' });
  const a = await c.next(() => true, 5000);
  assert.equal(a.principalId, 'user-alice');
  assert.equal(a.user, 'alice');
  assert.equal(a.n, '5'); // context values arrive as strings
  assert.equal(a.ok, 'true');
  assert.equal(typeof a.integrationLatency, 'number');
  c.close();
  const log = chatd.stderr();
  assert.match(log, /\[Connect\] .*connect as user-alice/);
  // The authorizer saw a REQUEST event for $connect with the upgrade's own headers.
  assert.match(log, /\[Auth\] .*authorizing REQUEST arn:aws:execute-api:us-east-1:123456789012:[a-z0-9]{10}\/live\/\$connect websocket/);
});
