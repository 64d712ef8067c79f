import { DynamoDBClient, DeleteItemCommand } from '@aws-sdk/client-dynamodb';

const db = new DynamoDBClient({ region: process.env.AWS_REGION });

export const handler = async (event) => {
  await db.send(new DeleteItemCommand({
    TableName: process.env.TABLE_NAME,
    Key: { connectionId: { S: event.requestContext.connectionId } },
  }));
  return { statusCode: 200, body: 'Disconnected.' };
};
