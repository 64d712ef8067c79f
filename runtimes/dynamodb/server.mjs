// The local DynamoDB that chatd --template runs for a template's tables: dynalite on a loopback
// port, the tables created (when they do not exist yet), then one line on stdout,
// "listening <port>", which chatd waits for. Data stays in `--path DIR` (leveldown), or in
// memory without it. It stops when chatd closes its stdin or kills it.
//   node server.mjs --tables FILE [--path DIR] [--ttl TABLE=ATTRIBUTE]...
// FILE: a JSON list of CreateTable inputs. --ttl: the table's TimeToLiveSpecification, which
// dynalite does not implement: here a sweep every TTL_SWEEP_MS deletes the items whose
// attribute holds an epoch-seconds number in the past, as DynamoDB's TTL does (DynamoDB does it
// within days; until then expired items still show in reads, here for at most a sweep).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, ScanCommand, DeleteItemCommand,
} from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');

const args = process.argv.slice(2);
const arg = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const tables = JSON.parse(fs.readFileSync(arg('--tables'), 'utf8'));
const dir = arg('--path');
const ttl = args.flatMap((a, i) => (args[i - 1] === '--ttl' ? [a.split('=')] : []))
  .map(([table, attribute]) => ({ table, attribute }));
const TTL_SWEEP_MS = 2000;
if (dir) fs.mkdirSync(dir, { recursive: true });

const server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const db = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: process.env.AWS_REGION || 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const t of tables) {
      try {
        await db.send(new DescribeTableCommand({ TableName: t.TableName }));
      } catch (e) {
        if (e.name !== 'ResourceNotFoundException') throw e;
        await db.send(new CreateTableCommand(t));
      }
    }
  } catch (e) {
    process.stderr.write(`dynamodb: cannot create the tables: ${e.name}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
  if (ttl.length) sweep(db);
});

/** Delete expired items of the TTL tables, then again after TTL_SWEEP_MS. */
async function sweep(db) {
  for (const { table, attribute } of ttl) {
    try {
      const keys = tables.find((t) => t.TableName === table).KeySchema.map((k) => k.AttributeName);
      const now = { N: String(Math.floor(Date.now() / 1000)) };
      const names = { '#ttl': attribute };
      let start;
      do {
        // A number below now: the comparison leaves out items whose attribute is not a number.
        const page = await db.send(new ScanCommand({
          TableName: table, FilterExpression: '#ttl < :now', ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':now': now }, ExclusiveStartKey: start,
        }));
        for (const item of page.Items) {
          const Key = Object.fromEntries(keys.map((k) => [k, item[k]]));
          // Unless the item was given a later expiry meanwhile.
          await db.send(new DeleteItemCommand({
            TableName: table, Key, ConditionExpression: '#ttl < :now', ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':now': now },
          })).catch((e) => { if (e.name !== 'ConditionalCheckFailedException') throw e; });
        }
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (e) {
      process.stderr.write(`dynamodb: TTL sweep of ${table}: ${e.name}: ${e.message}\n`);
    }
  }
  setTimeout(() => sweep(db), TTL_SWEEP_MS).unref();
}
// chatd holds the other end of stdin: when it goes, so does this.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
