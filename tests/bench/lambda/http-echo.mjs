// node/app.mjs behind chatd's HTTP integration: each event arrives as a JSON POST and the
// handler's proxy result goes back as the response, over keep-alive connections.
//   node http-echo.mjs PORT      prints "listening PORT" once it accepts
import http from 'node:http';
import { handler } from './node/app.mjs';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const result = await handler(JSON.parse(Buffer.concat(chunks).toString()));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result));
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
