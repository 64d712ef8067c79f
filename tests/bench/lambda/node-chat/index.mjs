// The benchmark's peer for chat-lambda: the chat app's connect, room and message routes as a
// Node.js Lambda function on the AWS SDK for JavaScript v3, with chat-lambda's tables, rules and
// frames (the same conditional-write seq, the same member order, the same JSON), so that the
// two do the same work per invocation. Written for tests/bench/swap_bench.py, not for use.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient, PutCommand, GetCommand, DeleteCommand, UpdateCommand, QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const T = {
  connections: process.env.CONNECTIONS_TABLE, rooms: process.env.ROOMS_TABLE,
  members: process.env.MEMBERS_TABLE, messages: process.env.MESSAGES_TABLE,
};
const LIFETIME_S = 2 * 3600 + 300;
const lastSeq = new Map(); // per room: the newest seq this instance saw
let management;

const now = () => Math.floor(Date.now() / 1000);
const frame = (o) => JSON.stringify(o);
const error = (code, message, action, ref) => frame({ type: 'error', code, message, ...(action ? { action } : {}), ...(ref !== undefined ? { ref } : {}) });
const notExpired = { FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now' };

async function post(ids, data) {
  await Promise.all(ids.map(async (id) => {
    try {
      await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }));
    } catch (e) {
      if (!(e instanceof GoneException)) console.error(`PostToConnection ${id}: ${e.name}`);
    }
  }));
}

async function members(roomId) {
  const out = [];
  let ExclusiveStartKey;
  do {
    const page = await db.send(new QueryCommand({ TableName: T.members, KeyConditionExpression: 'roomId = :r', ConsistentRead: true,
      ...notExpired, ExpressionAttributeValues: { ':r': roomId, ':now': now() }, ExclusiveStartKey }));
    out.push(...page.Items);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out.sort((a, b) => a.joinOrder - b.joinOrder).map((m) => ({ connectionId: m.connectionId, name: m.name }));
}

async function newestSeq(roomId) {
  const r = await db.send(new QueryCommand({ TableName: T.messages, KeyConditionExpression: 'roomId = :r', ProjectionExpression: '#s',
    ExpressionAttributeNames: { '#s': 'seq' }, ExpressionAttributeValues: { ':r': roomId }, ScanIndexForward: false, Limit: 1, ConsistentRead: true }));
  return r.Items[0]?.seq ?? 0;
}

async function append(roomId, connectionId, name, text, sentAt) {
  let seq = (lastSeq.get(roomId) ?? await newestSeq(roomId)) + 1;
  const writeId = Math.random().toString(16).slice(2);
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await db.send(new PutCommand({ TableName: T.messages, Item: { roomId, seq, connectionId, name, text, sentAt, writeId },
        ConditionExpression: 'attribute_not_exists(#s)', ExpressionAttributeNames: { '#s': 'seq' } }));
      lastSeq.set(roomId, seq);
      return seq;
    } catch (e) {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
    }
    seq = Math.max(seq, await newestSeq(roomId)) + 1;
  }
  throw new Error('no free seq');
}

const routes = {
  async $connect(ev) {
    const c = ev.requestContext;
    const name = ev.queryStringParameters?.name ?? `guest-${c.connectionId.slice(0, 6)}`;
    await db.send(new PutCommand({ TableName: T.connections, Item: { connectionId: c.connectionId, name, connectedAt: c.connectedAt,
      sourceIp: c.identity.sourceIp, expiresAt: now() + LIFETIME_S } }));
  },
  async $disconnect(ev) {
    const id = ev.requestContext.connectionId;
    const old = await db.send(new DeleteCommand({ TableName: T.connections, Key: { connectionId: id }, ReturnValues: 'ALL_OLD' }));
    for (const roomId of [...(old.Attributes?.rooms ?? [])].sort()) {
      const gone = await db.send(new DeleteCommand({ TableName: T.members, Key: { roomId, connectionId: id }, ReturnValues: 'ALL_OLD' }));
      if (gone.Attributes) {
        const others = (await members(roomId)).map((m) => m.connectionId).filter((m) => m !== id);
        await post(others, frame({ type: 'memberLeft', roomId, connectionId: id, name: old.Attributes.name }));
      }
    }
  },
  async createRoom(ev, body) {
    try {
      await db.send(new PutCommand({ TableName: T.rooms, Item: { roomId: body.roomId, createdAt: Date.now(), joins: 0 },
        ConditionExpression: 'attribute_not_exists(roomId)' }));
    } catch (e) {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
      return post([ev.requestContext.connectionId], error('RoomExists', `room '${body.roomId}' already exists`, 'createRoom', body.ref));
    }
    await post([ev.requestContext.connectionId], frame({ type: 'roomCreated', roomId: body.roomId, ...(body.ref ? { ref: body.ref } : {}) }));
  },
  async joinRoom(ev, body) {
    const id = ev.requestContext.connectionId;
    const { roomId, ref } = body;
    let order;
    try {
      order = (await db.send(new UpdateCommand({ TableName: T.rooms, Key: { roomId }, UpdateExpression: 'ADD #j :one',
        ConditionExpression: 'attribute_exists(roomId)', ExpressionAttributeNames: { '#j': 'joins' },
        ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'UPDATED_NEW' }))).Attributes.joins;
    } catch (e) {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
      return post([id], error('RoomNotFound', `room '${roomId}' does not exist`, 'joinRoom', ref));
    }
    const conn = (await db.send(new UpdateCommand({ TableName: T.connections, Key: { connectionId: id }, UpdateExpression: 'ADD rooms :r',
      ExpressionAttributeValues: { ':r': new Set([roomId]) }, ReturnValues: 'ALL_NEW' }))).Attributes;
    let isNew = true;
    try {
      await db.send(new PutCommand({ TableName: T.members, Item: { roomId, connectionId: id, name: conn.name, joinOrder: order, joinedAt: Date.now(), expiresAt: conn.expiresAt },
        ConditionExpression: 'attribute_not_exists(connectionId)' }));
    } catch (e) {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
      isNew = false;
    }
    const list = await members(roomId);
    const newest = await db.send(new QueryCommand({ TableName: T.messages, KeyConditionExpression: 'roomId = :r',
      ExpressionAttributeValues: { ':r': roomId }, ScanIndexForward: false, Limit: 20, ConsistentRead: true }));
    const recent = newest.Items.reverse().map((m) => ({ type: 'message', roomId, seq: m.seq, connectionId: m.connectionId, name: m.name,
      message: m.text, sentAt: new Date(m.sentAt).toISOString() }));
    await post([id], frame({ type: 'joined', roomId, members: list, recent, ...(ref ? { ref } : {}) }));
    if (isNew) await post(list.map((m) => m.connectionId).filter((m) => m !== id), frame({ type: 'memberJoined', roomId, connectionId: id, name: conn.name }));
  },
  async sendMessage(ev, body) {
    const id = ev.requestContext.connectionId;
    const { roomId, message, ref } = body;
    if (typeof message !== 'string' || !message) return post([id], error('BadRequest', "field 'message' must not be empty", 'sendMessage', ref));
    if (!(await db.send(new GetCommand({ TableName: T.rooms, Key: { roomId }, ConsistentRead: true }))).Item) {
      return post([id], error('RoomNotFound', `room '${roomId}' does not exist`, 'sendMessage', ref));
    }
    if (!(await db.send(new GetCommand({ TableName: T.members, Key: { roomId, connectionId: id }, ConsistentRead: true }))).Item) {
      return post([id], error('NotInRoom', `you are not a member of room '${roomId}'`, 'sendMessage', ref));
    }
    const me = (await db.send(new GetCommand({ TableName: T.connections, Key: { connectionId: id }, ConsistentRead: true }))).Item;
    const sentAt = Date.now();
    const seq = await append(roomId, id, me.name, message, sentAt);
    const recipients = (await members(roomId)).map((m) => m.connectionId);
    const msg = { type: 'message', roomId, seq, connectionId: id, name: me.name, message, sentAt: new Date(sentAt).toISOString() };
    if (ref === undefined) return post(recipients, frame(msg));
    await post([id], frame({ ...msg, ref }));
    await post(recipients.filter((r) => r !== id), frame(msg));
  },
};

export const handler = async (event) => {
  const c = event.requestContext;
  management ??= new ApiGatewayManagementApiClient({ endpoint: `https://${c.domainName}/${c.stage}` });
  const route = routes[c.routeKey];
  if (!route) {
    await post([c.connectionId], error('UnknownAction', `unknown action '${c.routeKey}'`));
    return { statusCode: 200 };
  }
  await route(event, event.body ? JSON.parse(event.body) : {});
  return { statusCode: 200 };
};
