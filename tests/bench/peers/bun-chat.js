// Peer: the same chat server on Bun's built-in WebSocket server (uWebSockets inside), using
// its pub/sub: every client subscribes to "all"; joinRoom subscribes to the room's topic.
// Usage: bun bun-chat.js PORT
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  fetch(req, srv) {
    if (srv.upgrade(req)) return undefined;
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
      } else if (msg.action === 'sendMessage') {
        server.publish(`room:${msg.roomId}`, text);
      } else {
        server.publish('all', text);
      }
    },
  },
});
console.log(`bun peer listening on ${server.port}`);
