// The local DynamoDB that chatd --template runs for a template's tables: dynalite on a loopback
// port, the tables created (when they do not exist yet), then one line on stdout,
// "listening <port>", which chatd waits for. Data stays in `--path DIR` (leveldown), or in
// memory without it. It stops when chatd closes its stdin or kills it.
//   node server.mjs --tables FILE [--path DIR]   FILE: a JSON list of CreateTable inputs
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { DynamoDBClient, CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');

const args = process.argv.slice(2);
const arg = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const tables = JSON.parse(fs.readFileSync(arg('--tables'), 'utf8'));
const dir = arg('--path');
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
});
// chatd holds the other end of stdin: when it goes, so does this.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
