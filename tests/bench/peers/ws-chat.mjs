// Peer: a chat server on Node's `ws`, written the way its docs suggest, for chatd's
// benchmarks. {"action":"joinRoom","roomId":R} joins a room (reply {"type":"joined"}),
// {"action":"sendMessage","roomId":R,...} goes to that room's members, anything else goes to
// every client. The sender is included, as in chatd. Usage: node ws-chat.mjs PORT
import { WebSocketServer } from 'ws';

const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]), perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.rooms = new Set();
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? data : data.toString();
    let msg;
    try { msg = JSON.parse(text); } catch { msg = {}; }
    if (msg.action === 'joinRoom') {
      if (!rooms.has(msg.roomId)) rooms.set(msg.roomId, new Set());
      rooms.get(msg.roomId).add(ws);
      ws.rooms.add(msg.roomId);
      ws.send(JSON.stringify({ type: 'joined', roomId: msg.roomId }));
    } else if (msg.action === 'sendMessage') {
      for (const peer of rooms.get(msg.roomId) ?? []) peer.send(text);
    } else {
      for (const peer of wss.clients) peer.send(text);
    }
  });
  ws.on('close', () => { for (const r of ws.rooms) rooms.get(r)?.delete(ws); });
});
wss.on('listening', () => console.log(`ws peer listening on ${wss.address().port}`));
