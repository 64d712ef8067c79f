// chat-lambda over HTTPS, as on AWS: chatd serves wss:// and https:// with a throwaway CA's
// certificate for 127.0.0.1, gives the packaged function no endpoint, so it builds
// https://{domainName}/{stage} from the event as it does on AWS, and posts through its TLS
// client: trusted through SSL_CERT_FILE it delivers; trusting another CA it delivers nothing
// and logs why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startPackagedChat, Client, tempDir, eventually, makeTestCa } from './lib.js';

const tmp = tempDir();
const file = (name) => path.join(tmp.dir, name);
let ca;

before(() => { ca = makeTestCa(tmp.dir, ['other-ca']); });
after(() => tmp.cleanup());

async function chatOverTls(trusted) {
  const chatd = await startPackagedChat({
    args: ['--tls-cert', file('server.pem'), '--tls-key', file('server.key'), '--max-instances', '1'],
    env: { SSL_CERT_FILE: file(trusted) },
  });
  assert.match(chatd.url, /^wss:\/\/127\.0\.0\.1:\d+\/prod$/);
  return chatd;
}

test('trusting the CA, the function posts over HTTPS to https://{domainName}/{stage}', async () => {
  const chatd = await chatOverTls('ca.pem');
  try {
    const [alice, bob] = [await Client.connect(`${chatd.url}?name=alice`, { ca }), await Client.connect(`${chatd.url}?name=bob`, { ca })];
    assert.equal((await alice.request({ action: 'createRoom', roomId: 'tls' }, 10000)).type, 'roomCreated');
    await alice.request({ action: 'joinRoom', roomId: 'tls' }, 10000);
    await bob.request({ action: 'joinRoom', roomId: 'tls' }, 10000);
    const ack = await alice.request({ action: 'sendMessage', roomId: 'tls', message: 'over https' }, 10000);
    assert.equal(ack.seq, 1);
    assert.equal((await bob.next((f) => f.type === 'message', 10000)).message, 'over https');
    await Promise.all([alice.close(), bob.close()]);
  } finally {
    await chatd.stop();
  }
});

test('trusting another CA, nothing is delivered and the log says the certificate failed', async () => {
  const chatd = await chatOverTls('other-ca.pem');
  try {
    const alice = await Client.connect(`${chatd.url}?name=alice`, { ca });
    alice.send({ action: 'createRoom', roomId: 'tls', ref: 'c' });
    assert.ok(await alice.quiet(1500), 'no frame can reach the client');
    await eventually(() => /PostToConnection \S+: .*certificate verify failed/.test(chatd.stderr()), 5000, 'the log line');
    await alice.close();
  } finally {
    await chatd.stop();
  }
});
