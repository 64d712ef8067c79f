// deploy/template.yaml, checked offline: AWS's own validator (@aws/cloudformation-validate)
// finds no FATAL, ERROR or WARN, and the template agrees with the code it deploys: a route for
// every route key core's chat app serves, all to the one function, the Deployment waiting for
// every route, the table names the function reads, TTL where connections expire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegoEngine, TemplateFile, TemplateModel } from '@aws/cloudformation-validate';
import { tempDir } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const template = path.resolve(here, '../../deploy/template.yaml');

function findings(file) {
  const report = new RegoEngine().validateStandard(new TemplateFile(file));
  return report.diagnostics.filter((d) => ['FATAL', 'ERROR', 'WARN'].includes(d.severity))
    .map((d) => `${d.severity} ${d.ruleId} ${d.message}`);
}

/** The validator's resolved value with its wrappers taken off (Concrete, Map, List). */
function plain(v) {
  if (v === null || typeof v !== 'object') return v;
  if ('Concrete' in v) return v.Concrete.value;
  if ('Map' in v) return Object.fromEntries(v.Map.entries.map((e) => [e.key, plain(e.value)]));
  if ('List' in v) return v.List.items.map(plain);
  if ('Reference' in v) return { Ref: v.Reference.target };
  if ('Dynamic' in v) return { Dynamic: v.Dynamic.reason };
  return v;
}

test('the validator finds nothing wrong with deploy/template.yaml', () => {
  assert.deepEqual(findings(template), []);
});

test('the validator is awake: a broken copy is reported', () => {
  const { dir, cleanup } = tempDir();
  try {
    const broken = path.join(dir, 'template.yaml');
    writeFileSync(broken, readFileSync(template, 'utf8')
      .replace('RouteKey: sendMessage', 'RouteKeyy: sendMessage')
      .replace('BillingMode: PAY_PER_REQUEST', 'BillingMode: PAY_PER_REQUESTS'));
    const found = findings(broken).join('\n');
    assert.match(found, /RouteKeyy/);
    assert.match(found, /PAY_PER_REQUESTS/);
  } finally {
    cleanup();
  }
});

test('every route key of the chat app has a route to the one function; the Deployment waits for all', () => {
  const resources = new TemplateModel(new TemplateFile(template)).resources();
  const of = (type) => Object.values(resources).filter((r) => r.resourceType === type);
  // The action list of core/src/chat.cpp, read from the source so a new action fails this test.
  const source = readFileSync(path.resolve(here, '../../core/src/chat.cpp'), 'utf8');
  const actions = [...source.matchAll(/\{"([A-Za-z]+)",\s*\n\s*\[\]\(request const& r/g)].map((m) => m[1]);
  assert.ok(actions.includes('sendMessage') && actions.length >= 7, `actions read: ${actions}`);
  const routes = of('AWS::ApiGatewayV2::Route');
  const keys = routes.map((r) => plain(r.properties.RouteKey));
  assert.deepEqual(keys.sort(), ['$connect', '$disconnect', '$default', ...actions].sort());
  for (const r of routes) assert.deepEqual(plain(r.properties.Target), { Dynamic: 'Sub:integrations/${ChatIntegration}' });
  const [deployment] = of('AWS::ApiGatewayV2::Deployment');
  assert.deepEqual([...deployment.dependsOn].sort(), routes.map((r) => r.logicalId).sort());
  const [integration] = of('AWS::ApiGatewayV2::Integration');
  assert.equal(plain(integration.properties.IntegrationType), 'AWS_PROXY');
});

test('the function gets the four tables; connections and memberships expire by TTL', () => {
  const resources = new TemplateModel(new TemplateFile(template)).resources();
  const fn = resources.ChatFunction;
  assert.equal(plain(fn.properties.CodeUri), 'dist/chat-lambda.zip');
  assert.deepEqual(plain(fn.properties.Environment).Variables, {
    CONNECTIONS_TABLE: { Ref: 'ConnectionsTable' },
    ROOMS_TABLE: { Ref: 'RoomsTable' },
    MEMBERS_TABLE: { Ref: 'MembersTable' },
    MESSAGES_TABLE: { Ref: 'MessagesTable' },
  });
  for (const t of ['ConnectionsTable', 'MembersTable']) {
    assert.deepEqual(plain(resources[t].properties.TimeToLiveSpecification),
      { AttributeName: 'expiresAt', Enabled: true }, t);
  }
  const outputs = Object.keys(new TemplateModel(new TemplateFile(template)).outputs());
  for (const o of ['WebSocketURL', 'WebsiteURL']) assert.ok(outputs.includes(o), o);
});
