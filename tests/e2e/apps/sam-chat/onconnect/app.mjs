import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const db = new DynamoDBClient({ region: process.env.AWS_REGION });

export const handler = async (event) => {
  try {
    await db.send(new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: { connectionId: { S: event.requestContext.connectionId } },
    }));
  } catch (err) {
    return { statusCode: 500, body: `Failed to connect: ${JSON.stringify(err)}` };
  }
  return { statusCode: 200, body: 'Connected.' };
};
