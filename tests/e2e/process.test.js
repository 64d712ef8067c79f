// Process-level behaviour: the open-file limit and descriptor table (raised and grown at
// start-up; a limit too low is reported and survived) and thread names. Linux only (/proc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { startChatd, Client, tempDir, eventually } from './lib.js';

/** Soft and hard "Max open files" of a process, from /proc/PID/limits. */
function openFileLimits(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  return { soft, hard };
}

const fdTableSize = (pid) => Number(/FDSize:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

test('a soft open-file limit below the hard one is raised and the descriptor table is grown at start-up', async () => {
  const hard = openFileLimits(process.pid).hard;
  const chatd = await startChatd({ ulimit: '-Sn 256' });
  try {
    const { soft, hard: chatdHard } = openFileLimits(chatd.proc.pid);
    assert.equal(chatdHard, hard);
    assert.equal(soft, hard, 'chatd raises its soft limit to the hard one');
    // The table is sized before any thread starts: min(limit, 32768) slots, rounded up by the kernel.
    const want = Math.min(hard === 'unlimited' ? 32768 : Number(hard), 32768);
    assert.ok(fdTableSize(chatd.proc.pid) >= want, `FDSize ${fdTableSize(chatd.proc.pid)} < ${want}`);
    assert.doesNotMatch(chatd.stderr(), /open-file limit/);
    const c = await Client.connect(chatd.url);
    await c.close();
  } finally {
    await chatd.stop();
  }
});

// Under AddressSanitizer/UBSan the sanitizer itself needs free descriptors (it opens a pipe to
// check memory before reporting), so running chatd out of them makes the sanitizer, not chatd,
// fail: this one runs in the plain build only.
const sanitized = process.env.CHATD_SANITIZED === '1';

test('a hard open-file limit too low for many clients is reported, and chatd serves again once clients leave', { skip: sanitized && 'the sanitizer runtime needs free descriptors' }, async () => {
  const chatd = await startChatd({ ulimit: '-n 64' });
  try {
    assert.match(chatd.stderr(), /warning: the open-file limit \(ulimit -n\) is 64, so at most about 32 clients/);
    assert.equal(openFileLimits(chatd.proc.pid).soft, '64');
    // Ask for more connections than chatd has descriptors for: some open, the rest wait in the
    // listen backlog (or fail); chatd itself keeps running.
    const attempts = Array.from({ length: 80 }, () => new Client(chatd.url));
    const outcome = (c) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve('waiting'), 3000);
      c.ws.once('open', () => { clearTimeout(timer); resolve('open'); });
      c.ws.once('error', () => { clearTimeout(timer); resolve('failed'); });
    });
    const results = await Promise.all(attempts.map(outcome));
    const opened = results.filter((r) => r === 'open').length;
    assert.ok(opened > 0 && opened < 80, `${opened} of 80 opened under a limit of 64`);
    assert.equal(chatd.proc.exitCode, null);
    for (const c of attempts) c.ws.terminate();
    // Descriptors come back as the clients go; a new client is served within a few seconds.
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        const c = await Client.connect(chatd.url);
        const reply = await c.request({ action: 'createRoom', roomId: 'after-the-flood' });
        served = reply.type === 'roomCreated' && reply.roomId === 'after-the-flood';
        await c.close();
      } catch { /* not yet */ }
    }
    assert.ok(served, 'chatd serves a new client after the flood');
    // Said once per episode (not every 50 ms while it lasted), counted, and the limit shown.
    await eventually(() => /accept: connections are accepted again/.test(chatd.stderr()), 3000, 'the all-clear');
    const warnings = chatd.stderr().match(/WARN accept: Too many open files/g) ?? [];
    assert.equal(warnings.length, 1, chatd.stderr());
    const metrics = await (await fetch(`${chatd.http}/metrics`)).text();
    assert.match(metrics, /^chatd_accept_errors_total\{error="Too many open files"\} [1-9]\d*$/m);
    assert.match(metrics, /^process_max_fds 64$/m);
  } finally {
    await chatd.stop();
  }
});

test('each thread is named for its role', async () => {
  const tmp = tempDir();
  const chatd = await startChatd({ db: `${tmp.dir}/threads.db` });
  try {
    // Threads start (and name themselves) around the "listening" line: wait for all five.
    const want = ['chatd', 'chatd-checkpnt', 'chatd-files', 'chatd-storage', 'chatd-writer'];
    const names = () => readdirSync(`/proc/${chatd.proc.pid}/task`)
      .map((tid) => readFileSync(`/proc/${chatd.proc.pid}/task/${tid}/comm`, 'utf8').trim())
      .sort();
    await eventually(() => JSON.stringify(names()) === JSON.stringify(want), 3000, `threads ${want}`)
      .catch(() => assert.deepEqual(names(), want));
  } finally {
    await chatd.stop();
    tmp.cleanup();
  }
});
