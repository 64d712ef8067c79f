// /metrics scraped while real clients use chatd, and the structured log lines it writes, in
// JSON and in text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, Client, tempDir, eventually } from './lib.js';
import { startHandler, routesFile } from './handlers.js';

/** Parse Prometheus text format into { 'name{labels}': value }. */
async function scrape(chatd) {
  const res = await fetch(`${chatd.http}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

test('/metrics counts connections, routes, management calls, storage and integration time', async () => {
  const tmp = tempDir();
  const chatd = await startChatd({ db: `${tmp.dir}/chat.db` });
  try {
    let m = await scrape(chatd);
    assert.equal(m.chatd_open_connections, 0);
    assert.equal(m.chatd_connects_total, 0);

    const a = await Client.connect(`${chatd.url}?name=alice`);
    const b = await Client.connect(`${chatd.url}?name=bob`);
    await a.request({ action: 'createRoom', roomId: 'obs' });
    await a.request({ action: 'joinRoom', roomId: 'obs' });
    await b.request({ action: 'joinRoom', roomId: 'obs' });
    for (let i = 0; i < 5; i += 1) await a.request({ action: 'sendMessage', roomId: 'obs', message: `m${i}` });
    await a.request({ action: 'nope' });
    m = await scrape(chatd);
    assert.equal(m.chatd_open_connections, 2);
    assert.equal(m.chatd_connects_total, 2);
    assert.equal(m['chatd_messages_in_total{route="sendMessage"}'], 5);
    assert.equal(m['chatd_messages_in_total{route="joinRoom"}'], 2);
    assert.equal(m['chatd_messages_in_total{route="$default"}'], 1);
    // $connect and $disconnect are not frames a client sent: they have no messages_in series.
    assert.equal(m['chatd_messages_in_total{route="$connect"}'], undefined);
    assert.equal(m['chatd_messages_in_total{route="$disconnect"}'], undefined);
    // Every stored event went through a committed transaction.
    assert.ok(m.chatd_sqlite_commit_seconds_count >= 1);
    assert.ok(m.chatd_sqlite_batch_events_sum >= 2 + 1 + 2 + 5);
    assert.equal(m['chatd_sqlite_commit_seconds_bucket{le="+Inf"}'], m.chatd_sqlite_commit_seconds_count);
    // $connect twice, 9 messages: 11 integration calls so far.
    assert.equal(m.chatd_integration_duration_seconds_count, 11);
    assert.equal(m['chatd_integration_results_total{outcome="ok"}'], 11);
    // Posts: createRoom/joinRoom/... replies, memberJoined, 5 messages to 2 members, the error.
    assert.ok(m['chatd_messages_out_total{kind="post"}'] >= 1 + 1 + 2 + 10 + 1);

    // Management API calls by method and status.
    const api = `${chatd.http}/dev/@connections`;
    assert.equal((await fetch(`${api}/AAAAAAAAAAAAAAA=`, { method: 'POST', body: 'x' })).status, 410);
    assert.equal((await fetch(`${api}/AAAAAAAAAAAAAAA=`)).status, 410);
    m = await scrape(chatd);
    assert.equal(m['chatd_management_requests_total{call="POST 410"}'], 1);
    assert.equal(m['chatd_management_requests_total{call="GET 410"}'], 1);

    // Disconnects by close code.
    await a.close(4000, 'bye');
    await b.close();
    await eventually(async () => (await scrape(chatd)).chatd_open_connections === 0, 3000, 'both closed');
    m = await scrape(chatd);
    assert.equal(m['chatd_disconnects_total{code="4000"}'], 1, JSON.stringify(m));
    assert.equal(m['chatd_disconnects_total{code="1005"}'], 1, JSON.stringify(m));
  } finally {
    await chatd.stop();
    tmp.cleanup();
  }
});

test('refused handshakes and integration failures are counted', async () => {
  const tmp = tempDir();
  const h = await startHandler(async (event, req) => {
    if (req.url === '/connect') return { result: { statusCode: event.queryStringParameters?.deny ? 401 : 200 } };
    return { status: 500, result: { errorMessage: 'boom', errorType: 'Error' } };
  });
  const file = routesFile(tmp.dir, {
    routeSelectionExpression: '$request.body.action',
    routes: { $connect: { integration: h.url('/connect') }, $default: { integration: h.url('/fail') } },
  });
  const chatd = await startChatd({ args: ['--routes', file, '--log-format', 'json'] });
  try {
    await assert.rejects(Client.connect(`${chatd.url}?deny=1`), /HTTP 401/);
    const c = await Client.connect(chatd.url);
    c.send('hello');
    assert.equal(JSON.parse(await c.nextRaw()).message, 'Internal server error');
    const m = await scrape(chatd);
    assert.equal(m['chatd_connects_refused_total{status="401"}'], 1);
    assert.equal(m['chatd_integration_results_total{outcome="function_error"}'], 1);
    assert.equal(m['chatd_messages_out_total{kind="error"}'], 1);
    await c.close();
    await chatd.stop();
    // One JSON object per line; the failed event is a warn line naming the route and why.
    const lines = chatd.stderr().trim().split('\n').map((l) => JSON.parse(l));
    const failed = lines.find((l) => l.event === 'MESSAGE');
    assert.equal(failed.level, 'warn');
    assert.equal(failed.route, '$default');
    assert.equal(failed.outcome, 'function_error');
    assert.equal(typeof failed.latencyMs, 'number');
    assert.match(failed.detail, /500/);
    const refused = lines.find((l) => l.event === 'CONNECT' && l.code === 401);
    assert.equal(refused.outcome, 'ok', 'the integration answered; its answer was a refusal');
    assert.ok(lines.every((l) => typeof l.time === 'string' && typeof l.level === 'string'));
  } finally {
    await chatd.stop();
    await h.close();
    tmp.cleanup();
  }
});

test('text log lines: one per event with connection, route, outcome and latency', async () => {
  const chatd = await startChatd();
  const c = await Client.connect(`${chatd.url}?name=t`);
  await c.request({ action: 'listRooms' });
  await c.close();
  await chatd.stop();
  const lines = chatd.stderr().split('\n');
  const msg = lines.find((l) => / MESSAGE /.test(l));
  assert.match(msg, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO MESSAGE connection=[A-Za-z0-9_-]{15}= route=listRooms outcome=ok latency_ms=\d+\.\d{3} code=200$/);
  assert.ok(lines.some((l) => / INFO CONNECT connection=\S+ route=\$connect outcome=ok /.test(l)));
  assert.ok(lines.some((l) => / INFO DISCONNECT connection=\S+ route=\$disconnect outcome=ok .* code=1005$/.test(l)));
  // --log-level warn keeps only problems.
  const quiet = await startChatd({ args: ['--log-level', 'warn'] });
  const q = await Client.connect(quiet.url);
  await q.request({ action: 'listRooms' });
  await q.close();
  await quiet.stop();
  assert.doesNotMatch(quiet.stderr(), / INFO /);
});
