"""A Lambda-style handler served over HTTP, for `chatd --routes`. Standard library only.
Run: PORT=9000 python3 docs/examples/handler.py"""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


def handler(event):
    """The same shape as a Python Lambda handler behind API Gateway."""
    context = event["requestContext"]
    if context["routeKey"] == "echo":
        text = json.loads(event["body"])["text"]
        return {"statusCode": 200, "body": json.dumps({"echo": text, "connectionId": context["connectionId"]})}
    if context["routeKey"] == "boom":
        raise RuntimeError("handler failed on purpose")
    return {"statusCode": 200}


class Invoke(BaseHTTPRequestHandler):
    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            result = handler(event)
        except Exception as err:  # reported the way the Lambda runtime reports it
            result = {"errorMessage": str(err), "errorType": type(err).__name__}
        payload = json.dumps(result).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "9000"))), Invoke)
print(f"handler listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
server.serve_forever()
