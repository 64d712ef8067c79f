// The AWS tutorial's chat functions (connect, disconnect, sendmessage, default) as written for
// Lambda, with one change: a module-level Set stands in for the DynamoDB connections table, since
// no DynamoDB runs here. sendmessage posts to every connection through the SDK v3 management
// client, pointed at serverless-offline's own @connections endpoint, as the tutorial does.
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';

const connections = new Set();
let client;

function api(event) {
  client ??= new ApiGatewayManagementApiClient({
    // serverless-offline puts no port in domainName, so the endpoint comes from bench.py.
    endpoint: process.env.MGMT_ENDPOINT ?? `https://${event.requestContext.domainName}/${event.requestContext.stage}`,
    region: 'us-east-1',
  });
  return client;
}

async function postAll(event, ids, data) {
  const mgmt = api(event);
  await Promise.all([...ids].map(async (id) => {
    try {
      await mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }));
    } catch (e) {
      // serverless-offline's 410 carries no x-amzn-ErrorType, so the SDK cannot name it
      // GoneException; the status code still says the connection is gone.
      if (e instanceof GoneException || e.$metadata?.httpStatusCode === 410) connections.delete(id);
      else throw e;
    }
  }));
}

export async function connect(event) {
  connections.add(event.requestContext.connectionId);
  return { statusCode: 200 };
}

export async function disconnect(event) {
  connections.delete(event.requestContext.connectionId);
  return { statusCode: 200 };
}

export async function sendmessage(event) {
  const body = JSON.parse(event.body);
  await postAll(event, connections, body.message);
  return { statusCode: 200 };
}

export async function defaultRoute() {
  return { statusCode: 200, body: 'Use the sendmessage route to send a message.' };
}
