// The trivial handler both the Lambda route and the HTTP route run: the message back to its sender.
export const handler = async (event) => ({ statusCode: 200, body: event.body });
