// A module resolution hook for function code: a bare import that the function's own
// node_modules cannot satisfy (import { DynamoDBClient } from '@aws-sdk/client-dynamodb') is
// looked up again among the packages chatd provides, as Lambda's Node.js runtimes provide
// the AWS SDK for JavaScript v3 without the function bundling it.
let fallbackParent;

export function initialize(data) {
  fallbackParent = data.parentURL;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const relative = /^(\.|\/|file:|node:|data:)/.test(specifier);
    if (relative || !fallbackParent || e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return next(specifier, { ...context, parentURL: fallbackParent });
  }
}
