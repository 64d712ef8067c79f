// The AWS tutorial's chat functions (connect, disconnect, sendmessage, default) as written for
// Lambda: connection ids in a DynamoDB table (TABLE_NAME), sendmessage scanning it and posting
// to each id through the SDK v3 management client, a stale id deleted on GoneException.
// The same file runs under serverless-offline (serverless.yml) and under chatd --template
// (template.yaml); each gives it a local DynamoDB through AWS_ENDPOINT_URL_DYNAMODB.
import { DynamoDBClient, PutItemCommand, DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';

const db = new DynamoDBClient({});
const TableName = process.env.TABLE_NAME;
const apis = new Map();

function api(event) {
  const { domainName, stage } = event.requestContext;
  // serverless-offline puts no port in domainName, so bench.py gives it MGMT_ENDPOINT; under
  // chatd the tutorial's own https://{domainName}/{stage} is used as it is.
  const endpoint = process.env.MGMT_ENDPOINT ?? `https://${domainName}/${stage}`;
  if (!apis.has(endpoint)) apis.set(endpoint, new ApiGatewayManagementApiClient({ endpoint }));
  return apis.get(endpoint);
}

export async function connect(event) {
  await db.send(new PutItemCommand({ TableName, Item: { connectionId: { S: event.requestContext.connectionId } } }));
  return { statusCode: 200 };
}

export async function disconnect(event) {
  await db.send(new DeleteItemCommand({ TableName, Key: { connectionId: { S: event.requestContext.connectionId } } }));
  return { statusCode: 200 };
}

export async function sendmessage(event) {
  const data = JSON.parse(event.body).message;
  const { Items } = await db.send(new ScanCommand({ TableName, ProjectionExpression: 'connectionId' }));
  const mgmt = api(event);
  await Promise.all(Items.map(async ({ connectionId }) => {
    try {
      await mgmt.send(new PostToConnectionCommand({ ConnectionId: connectionId.S, Data: data }));
    } catch (e) {
      // serverless-offline's 410 carries no x-amzn-ErrorType, so the SDK cannot name it
      // GoneException; the status code still says the connection is gone.
      if (!(e instanceof GoneException || e.$metadata?.httpStatusCode === 410)) throw e;
      await db.send(new DeleteItemCommand({ TableName, Key: { connectionId } }));
    }
  }));
  return { statusCode: 200 };
}

export async function defaultRoute() {
  return { statusCode: 200, body: 'Use the sendmessage route to send a message.' };
}
