// Peer: the same chat server on Bun's built-in WebSocket server (uWebSockets inside), using
// its pub/sub: every client subscribes to "all"; joinRoom subscribes to the room's topic.
//
// With a database file it follows chatd's storage design instead, so that W2 can compare like
// with like: each sendMessage gets the room's next seq and is committed to SQLite (WAL,
// synchronous=FULL, as chatd's default) before anyone receives it, as a frame shaped like
// chatd's (type, roomId, seq, connectionId, name, message, sentAt). Everything that arrives in
// one turn of the event loop is committed in one transaction (group commit, no timer), then
// published. bun:sqlite is synchronous, so the commit runs on the one JavaScript thread: the
// way a Bun or Node server with an embedded database is usually written.
//
// Usage: bun bun-chat.js PORT [DB-FILE]
import { Database } from 'bun:sqlite';

const store = process.argv[3] ? openStore(process.argv[3]) : null;
let connections = 0;

function openStore(file) {
  const db = new Database(file, { create: true });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS messages (room_id TEXT NOT NULL, seq INTEGER NOT NULL,
    connection_id TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL)`);
  db.exec('CREATE UNIQUE INDEX IF NOT EXISTS messages_by_room ON messages(room_id, seq)');
  const insert = db.prepare(
    'INSERT INTO messages (room_id, seq, connection_id, name, body, sent_at) VALUES (?, ?, ?, ?, ?, ?)');
  const lastSeq = new Map();
  const commit = db.transaction((batch, now) => {
    for (const m of batch) {
      m.seq = (lastSeq.get(m.roomId) ?? 0) + 1;
      lastSeq.set(m.roomId, m.seq);
      insert.run(m.roomId, m.seq, m.connectionId, 'user', m.message, now);
    }
  });
  let pending = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    const now = Date.now();
    commit(batch, now);
    const sentAt = new Date(now).toISOString();
    for (const m of batch) {
      server.publish(`room:${m.roomId}`, JSON.stringify({
        type: 'message', roomId: m.roomId, seq: m.seq, connectionId: m.connectionId, name: 'user',
        message: m.message, sentAt,
      }));
    }
  };
  return {
    add(m) {
      if (pending.length === 0) setImmediate(flush);
      pending.push(m);
    },
  };
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  fetch(req, srv) {
    // Only the storing server keeps an id per connection (plain Bun's W4 memory stays as it was).
    if (srv.upgrade(req, store ? { data: { id: `c${++connections}` } } : undefined)) return undefined;
    return new Response('websocket only', { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    open(ws) { ws.subscribe('all'); },
    message(ws, text) {
      let msg;
      try { msg = JSON.parse(text); } catch { msg = {}; }
      if (msg.action === 'joinRoom') {
        ws.subscribe(`room:${msg.roomId}`);
        ws.send(JSON.stringify({ type: 'joined', roomId: msg.roomId }));
      } else if (msg.action === 'sendMessage' && !store) {
        server.publish(`room:${msg.roomId}`, text);
      } else if (msg.action === 'sendMessage' && typeof msg.roomId === 'string' && typeof msg.message === 'string') {
        store.add({ roomId: msg.roomId, connectionId: ws.data.id, message: msg.message, seq: 0 });
      } else {
        server.publish('all', text);
      }
    },
  },
});
console.log(`bun peer listening on ${server.port}${store ? ', storing messages' : ''}`);
