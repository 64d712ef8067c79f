// The AWS tutorial's four functions as an HTTP handler process (the Lambda invoke contract that
// chatd's routes call), written as they are for AWS: sendmessage builds its management endpoint
// from the event as `https://${domainName}/${stage}` and posts with the official SDK v3 client.
// A Set stands in for the DynamoDB connections table. Prints "handler listening on PORT".
// Trusting a local CA is the process's business: run it with NODE_EXTRA_CA_CERTS=ca.pem.
import http from 'node:http';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';

const table = new Set();

const functions = {
  async connect(event) { table.add(event.requestContext.connectionId); return { statusCode: 200 }; },
  async disconnect(event) { table.delete(event.requestContext.connectionId); return { statusCode: 200 }; },
  async sendmessage(event) {
    const { domainName, stage } = event.requestContext;
    const api = new ApiGatewayManagementApiClient({
      endpoint: `https://${domainName}/${stage}`,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const message = JSON.parse(event.body).message;
    try {
      await Promise.all([...table].map(async (connectionId) => {
        try {
          await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: message }));
        } catch (e) {
          if (e instanceof GoneException) table.delete(connectionId); else throw e;
        }
      }));
    } finally {
      api.destroy();
    }
    return { statusCode: 200 };
  },
};

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    const fn = functions[req.url.slice(1)];
    try {
      const result = fn ? await fn(JSON.parse(body)) : { statusCode: 404 };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (e) {
      // What the Lambda runtime reports for a function that threw.
      res.writeHead(200, { 'content-type': 'application/json', 'X-Amz-Function-Error': 'Unhandled' })
        .end(JSON.stringify({ errorMessage: e.message, errorType: e.name }));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`handler listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
