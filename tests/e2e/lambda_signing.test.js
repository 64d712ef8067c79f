// What chat-lambda signs, checked by two independent signers: the packaged function (run by its
// bootstrap against a Runtime API of this test's, real dynalite, and a management API of this
// test's) posts to connections whose ids end in '=' with temporary credentials; each request's
// Signature Version 4 is recomputed by @smithy/signature-v4 (what the AWS SDK for JavaScript
// signs with) and by botocore (Debian's python3-botocore), and must match byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { chatLambdaZip, tempDir, writeTree } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const keys = { accessKeyId: 'ASIAEXAMPLECHATD', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjE/session+token=' };
const region = 'eu-west-1';
const A = 'AAAAAAAAAAAAAAA=';
const B = 'B-b_BBBBBBBBBBA=';

let tmp;
let dynalite;
let dynamoUrl;

function start(cmd, args, opts) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  p.out = '';
  p.err = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.err += d; });
  return p;
}

before(async () => {
  tmp = tempDir();
  const attr = (n, t) => ({ AttributeName: n, AttributeType: t });
  const key = (h, r) => [{ AttributeName: h, KeyType: 'HASH' }, ...(r ? [{ AttributeName: r, KeyType: 'RANGE' }] : [])];
  const tables = [
    { TableName: 'connections', AttributeDefinitions: [attr('connectionId', 'S')], KeySchema: key('connectionId'), BillingMode: 'PAY_PER_REQUEST' },
    { TableName: 'rooms', AttributeDefinitions: [attr('roomId', 'S')], KeySchema: key('roomId'), BillingMode: 'PAY_PER_REQUEST' },
    { TableName: 'members', AttributeDefinitions: [attr('roomId', 'S'), attr('connectionId', 'S')], KeySchema: key('roomId', 'connectionId'), BillingMode: 'PAY_PER_REQUEST' },
    { TableName: 'messages', AttributeDefinitions: [attr('roomId', 'S'), attr('seq', 'N')], KeySchema: key('roomId', 'seq'), BillingMode: 'PAY_PER_REQUEST' },
  ];
  writeTree(tmp.dir, { 'tables.json': JSON.stringify(tables) });
  dynalite = start(process.execPath, [path.resolve(here, '../../runtimes/dynamodb/server.mjs'), '--tables', path.join(tmp.dir, 'tables.json')]);
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`dynalite did not start: ${dynalite.err}`)), 15000);
    dynalite.stdout.on('data', () => { const m = /listening (\d+)/.exec(dynalite.out); if (m) { clearTimeout(t); resolve(m[1]); } });
  });
  dynamoUrl = `http://127.0.0.1:${port}`;
  execFileSync('python3', ['-c', `
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        p = z.extract(info, sys.argv[2])
        if info.external_attr >> 16: os.chmod(p, (info.external_attr >> 16) & 0o7777)
`, chatLambdaZip, path.join(tmp.dir, 'task')]);
});

after(() => {
  dynalite?.stdin.end();
  dynalite?.kill();
  tmp?.cleanup();
});

/** Events in turn from GET /next; 500 once they are used up (the function then exits). */
function runtimeApi(events) {
  const results = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'GET') {
        if (i >= events.length) { res.writeHead(500).end(); return; }
        res.writeHead(200, { 'Lambda-Runtime-Aws-Request-Id': `req-${i}`, 'Lambda-Runtime-Deadline-Ms': String(Date.now() + 5000) });
        res.end(JSON.stringify(events[i++]));
        return;
      }
      results.push({ url: req.url, body });
      res.writeHead(202).end('{"status":"OK"}');
    });
  });
  return { server, results };
}

function event(kind, connectionId, extra = {}) {
  const routeKey = kind === 'CONNECT' ? '$connect' : kind === 'DISCONNECT' ? '$disconnect' : extra.routeKey;
  return {
    requestContext: {
      routeKey, eventType: kind, connectionId, requestId: `r-${Math.random()}`, requestTimeEpoch: Date.now(),
      connectedAt: Date.now(), stage: 'prod', domainName: 'abc123.execute-api.eu-west-1.amazonaws.com', apiId: 'abc123',
      identity: { sourceIp: '127.0.0.1' },
    },
    ...(extra.body ? { body: extra.body } : {}),
    ...(extra.query ? { queryStringParameters: extra.query } : {}),
    isBase64Encoded: false,
  };
}

test('PostToConnection requests carry signatures both SDKs compute the same way', async () => {
  const posted = [];
  const management = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { posted.push({ method: req.method, url: req.url, headers: req.headers, body }); res.writeHead(200).end(); });
  });
  await new Promise((r) => management.listen(0, '127.0.0.1', r));
  const rt = runtimeApi([
    event('CONNECT', A, { query: { name: 'alice' } }),
    event('CONNECT', B, { query: { name: 'bob' } }),
    event('MESSAGE', A, { routeKey: 'sendmessage', body: JSON.stringify({ action: 'sendmessage', message: 'héllo "all"' }) }),
  ]);
  await new Promise((r) => rt.server.listen(0, '127.0.0.1', r));
  const fn = start(path.join(tmp.dir, 'task', 'bootstrap'), [], {
    env: {
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${rt.server.address().port}`,
      LAMBDA_TASK_ROOT: path.join(tmp.dir, 'task'),
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, AWS_SESSION_TOKEN: keys.sessionToken,
      CONNECTIONS_TABLE: 'connections', ROOMS_TABLE: 'rooms', MEMBERS_TABLE: 'members', MESSAGES_TABLE: 'messages',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: `http://127.0.0.1:${management.address().port}/prod`,
    },
  });
  const code = await new Promise((r) => fn.on('exit', r));
  rt.server.close();
  management.close();
  assert.equal(code, 1, fn.err); // it ends when /next fails, as it should
  assert.deepEqual(rt.results.map((r) => r.url), [0, 1, 2].map((i) => `/2018-06-01/runtime/invocation/req-${i}/response`), fn.err);
  assert.deepEqual(posted.map((p) => p.url).sort(), [A, B].map((id) => `/prod/@connections/${id.replace('=', '%3D')}`).sort());

  const smithy = new SignatureV4({ credentials: keys, region, service: 'execute-api', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  for (const p of posted) {
    assert.equal(p.method, 'POST');
    assert.equal(p.body, 'héllo "all"');
    assert.equal(p.headers['x-amz-security-token'], keys.sessionToken);
    const auth = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(p.headers.authorization);
    assert.ok(auth, p.headers.authorization);
    assert.match(auth[1], new RegExp(`^${keys.accessKeyId}/\\d{8}/${region}/execute-api/aws4_request$`));
    const signed = auth[2].split(';');
    assert.ok(signed.includes('host') && signed.includes('x-amz-date') && signed.includes('x-amz-security-token'), auth[2]);
    const amzDate = p.headers['x-amz-date'];
    const when = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);

    // @smithy/signature-v4 over the request as it arrived.
    const headers = Object.fromEntries(signed.filter((h) => h !== 'x-amz-security-token' && h !== 'x-amz-date').map((h) => [h, p.headers[h]]));
    const [host, port] = p.headers.host.split(':');
    const again = await smithy.sign({ method: p.method, protocol: 'http:', hostname: host, port: Number(port), path: p.url, headers, body: p.body, query: {} }, { signingDate: when });
    assert.equal(again.headers.authorization, p.headers.authorization, 'smithy');

    // botocore over the same request, with its clock set to the request's date.
    const boto = execFileSync('/usr/bin/python3', ['-c', `
import datetime, json, sys
from unittest import mock
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
class Fixed(datetime.datetime):
    @classmethod
    def utcnow(cls): return datetime.datetime.strptime(a['date'], '%Y%m%dT%H%M%SZ')
    @classmethod
    def now(cls, tz=None): return datetime.datetime.strptime(a['date'], '%Y%m%dT%H%M%SZ').replace(tzinfo=tz)
with mock.patch.object(botocore.auth.datetime, 'datetime', Fixed):
    r = AWSRequest(method='POST', url=a['url'], data=a['body'].encode(), headers=a['headers'])
    botocore.auth.SigV4Auth(Credentials(a['ak'], a['sk'], a['token']), 'execute-api', a['region']).add_auth(r)
print(r.headers['Authorization'])
`, JSON.stringify({ date: amzDate, url: `http://${p.headers.host}${p.url}`, body: p.body, headers: Object.fromEntries(Object.entries(headers).filter(([h]) => h !== 'host')),
      ak: keys.accessKeyId, sk: keys.secretAccessKey, token: keys.sessionToken, region })], { encoding: 'utf8' }).trim();
    assert.equal(boto, p.headers.authorization, 'botocore');
  }
});
