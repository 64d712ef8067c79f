// What one PostToConnection costs the function that makes it: the CPU of the SDK v3 call (the
// same client and version as handler.mjs) against a plain node:http POST of the same request,
// both to a trivial server in another process on 127.0.0.1 that answers 200 at once.
// Batches of 100 at a time, as the tutorial's sendmessage posts to 100 connections.
//   node sdk-cost.mjs [REQUESTS]          prints one JSON line
import http from 'node:http';
import { fork } from 'node:child_process';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

if (process.argv[2] === 'serve') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'x-amzn-RequestId': 'local', 'content-length': 0 }).end());
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const total = Number(process.argv[2] ?? 3000);
  const batch = 100;
  const server = fork(new URL(import.meta.url).pathname, ['serve']);
  const port = await new Promise((resolve) => server.once('message', resolve));
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' });

  const cpuPerRequest = async (one) => {
    for (let i = 0; i < 300; ++i) await one(i); // warm the JIT
    const before = process.cpuUsage();
    for (let i = 0; i < total; i += batch) await Promise.all(Array.from({ length: batch }, (_, j) => one(i + j)));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / total;
  };
  const api = new ApiGatewayManagementApiClient({ endpoint: `http://127.0.0.1:${port}/bench` });
  const sdk = await cpuPerRequest((i) => api.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: `m${i}` })));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const plain = await cpuPerRequest((i) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/bench/@connections/AAAAAAAAAAAAAAA%3D', agent },
      (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(`m${i}`);
  }));
  console.log(JSON.stringify({ requests: total, sdk_us_per_request: +sdk.toFixed(1), plain_http_us_per_request: +plain.toFixed(1),
                               ratio: +(sdk / plain).toFixed(1) }));
  server.kill();
  process.exit(0);
}
