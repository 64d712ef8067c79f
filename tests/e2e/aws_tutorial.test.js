// The AWS tutorial's Lambda functions, written as they are for AWS (an in-memory table
// stands in for DynamoDB), served over HTTP behind chatd's routes. The sendmessage function
// posts to every connection with the official SDK v3 client, pointed at chatd's management
// API, and removes connections that answer GoneException.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { startChatd, Client, tempDir, eventually } from './lib.js';
import { startHandler, routesFile } from './handlers.js';

test('the AWS tutorial functions run unchanged behind chatd and reach clients through the SDK', async () => {
  const tmp = tempDir();
  const table = new Set(); // the tutorial's connections table
  let chatd;
  const functions = {
    '/connect': async (event) => { table.add(event.requestContext.connectionId); return { statusCode: 200 }; },
    '/disconnect': async (event) => { table.delete(event.requestContext.connectionId); return { statusCode: 200 }; },
    '/sendmessage': async (event) => {
      const api = new ApiGatewayManagementApiClient({
        endpoint: `${chatd.http}/${event.requestContext.stage}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
      const message = JSON.parse(event.body).message;
      await Promise.all([...table].map(async (connectionId) => {
        try {
          await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: message }));
        } catch (e) {
          if (e instanceof GoneException) table.delete(connectionId); else throw e;
        }
      }));
      api.destroy();
      return { statusCode: 200 };
    },
    '/default': async () => ({ statusCode: 200, body: 'Use the sendmessage route to send a message.' }),
  };
  const h = await startHandler(async (event, req) => ({ result: await functions[req.url](event) }));
  const file = routesFile(tmp.dir, {
    routeSelectionExpression: '$request.body.action',
    routes: {
      $connect: { integration: h.url('/connect') },
      $disconnect: { integration: h.url('/disconnect') },
      sendmessage: { integration: h.url('/sendmessage') },
      $default: { integration: h.url('/default'), twoWay: true },
    },
  });
  chatd = await startChatd({ args: ['--routes', file] });
  try {
    const clients = await Promise.all([1, 2, 3].map(() => Client.connect(chatd.url)));
    assert.equal(table.size, 3);
    clients[0].send({ action: 'sendmessage', message: 'hello, everyone!' });
    for (const c of clients) assert.equal(await c.nextRaw(), 'hello, everyone!');
    clients[1].send('what can I do?');
    assert.equal(await clients[1].nextRaw(), 'Use the sendmessage route to send a message.');
    // A client that vanished: $disconnect removes it; a stale id would raise GoneException.
    table.add('AAAAAAAAAAAAAAA='); // an id that never existed: PostToConnection answers 410
    await clients[2].close();
    await eventually(() => table.size === 3, 3000, "$disconnect to remove the closed client");
    clients[0].send({ action: 'sendmessage', message: 'second round' });
    for (const c of clients.slice(0, 2)) assert.equal(await c.nextRaw(), 'second round');
    await eventually(() => !table.has('AAAAAAAAAAAAAAA='), 3000, 'the stale id to be removed');
    await Promise.all(clients.slice(0, 2).map((c) => c.close()));
  } finally {
    await chatd.stop();
    await h.close();
    tmp.cleanup();
  }
});
