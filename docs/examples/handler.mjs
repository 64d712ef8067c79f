// A Lambda-style handler served over HTTP, for `chatd --routes`. No dependencies.
// Run: PORT=9000 node docs/examples/handler.mjs
import http from 'node:http';

// The same shape as a Node.js Lambda handler behind API Gateway: event in, proxy result out.
async function handler(event) {
  const { routeKey, connectionId } = event.requestContext;
  if (routeKey === 'echo') {
    const { text } = JSON.parse(event.body);
    return { statusCode: 200, body: JSON.stringify({ echo: text, connectionId }) };
  }
  if (routeKey === 'boom') throw new Error('handler failed on purpose');
  return { statusCode: 200 };
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', async () => {
    try {
      res.end(JSON.stringify(await handler(JSON.parse(body))));
    } catch (err) { // reported the way the Lambda runtime reports a function that threw
      res.end(JSON.stringify({ errorMessage: err.message, errorType: err.name }));
    }
  });
});
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1', () => {
  console.log(`handler listening on http://127.0.0.1:${server.address().port}/`);
});
