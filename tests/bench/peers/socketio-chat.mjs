// Peer: the same chat server on socket.io (WebSocket transport only, no compression): an
// event "chat" carries the same JSON objects as chatd's frames; rooms are socket.io rooms.
// Usage: node socketio-chat.mjs PORT
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('chat', (msg) => {
    if (msg?.action === 'joinRoom') {
      socket.join(msg.roomId);
      socket.emit('joined', msg.roomId);
    } else if (msg?.action === 'sendMessage') {
      io.to(msg.roomId).emit('chat', msg);
    } else {
      io.emit('chat', msg);
    }
  });
});
http.listen(Number(process.argv[2]), '127.0.0.1', () => console.log(`socket.io peer listening on ${http.address().port}`));
