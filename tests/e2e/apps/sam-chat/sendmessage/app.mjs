import { DynamoDBClient, ScanCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

const db = new DynamoDBClient({ region: process.env.AWS_REGION });
const TableName = process.env.TABLE_NAME;

export const handler = async (event) => {
  const { apiId, stage } = event.requestContext;
  // The endpoint as the published sample builds it: from the API id and the region.
  const api = new ApiGatewayManagementApiClient({
    endpoint: `https://${apiId}.execute-api.${process.env.AWS_REGION}.amazonaws.com/${stage}`,
  });
  const data = JSON.parse(event.body).data;
  const { Items } = await db.send(new ScanCommand({ TableName, ProjectionExpression: 'connectionId' }));
  await Promise.all(Items.map(async ({ connectionId }) => {
    try {
      await api.send(new PostToConnectionCommand({ ConnectionId: connectionId.S, Data: data }));
    } catch (e) {
      if (e.name !== 'GoneException') throw e;
      console.log(`Found stale connection, deleting ${connectionId.S}`);
      await db.send(new DeleteItemCommand({ TableName, Key: { connectionId } }));
    }
  }));
  return { statusCode: 200, body: 'Data sent.' };
};
