"""chatd's runtime interface client for Python functions (python3.9-python3.13 semantics).

chatd starts one of these per function instance, in the function's code directory, with
Lambda's environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_*). It runs
the loop Lambda's own client (awslambdaric) runs against the Runtime API (2018-06-01): import
the handler once, then GET the next invocation, call the handler, POST its result or its error.
What it promises is what function code sees on Lambda: the same handler resolution, the same
context object, the same error bodies and log format, and boto3 talking to chatd's DynamoDB and
@connections API without code changes. The standard library only.
"""
import http.client
import importlib
import importlib.abc
import inspect
import json
import logging
import os
import re
import sys
import time
import traceback
import urllib.parse

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
BASE = "/2018-06-01/runtime"


class FaultError(Exception):
    """An error of the runtime itself (Runtime.*), with Lambda's type and message."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# --- the Runtime API -------------------------------------------------------------------------

class RuntimeApi:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(2):  # a kept-alive connection may have gone stale: retry once
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port)
                self.conn.request(method, path, body=body, headers=headers or {})
                res = self.conn.getresponse()
                return res.status, dict((k.lower(), v) for k, v in res.getheaders()), res.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise

    def post_json(self, path, obj, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.call("POST", path, json.dumps(obj).encode(), h)


# --- boto3 pointed at chatd --------------------------------------------------------------------

_EXECUTE_API = re.compile(r"\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


def local_endpoint(url):
    """chatd's address for an @connections endpoint that code written for AWS builds, else None.

    https://{apiId}.execute-api.{region}.amazonaws.com/{stage} and https://{domainName}/{stage}
    (the Host the client used) become chatd's plain http:// address, the path kept. When chatd
    itself serves TLS, https:// to its own address is already right.
    """
    target = os.environ.get("CHATD_MANAGEMENT_URL")
    if not target or not isinstance(url, str):
        return None
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https":
        return None
    t = urllib.parse.urlsplit(target)
    own = set(filter(None, os.environ.get("CHATD_OWN_HOSTS", "").split(",")))
    host = u.hostname or ""
    try:
        port = u.port or 443
    except ValueError:
        return None
    if _EXECUTE_API.search(host) or (t.scheme == "http" and "%s:%d" % (host, port) in own):
        return urllib.parse.urlunsplit((t.scheme, t.netloc, u.path, u.query, ""))
    return None


def patch_botocore(session_module):
    """Wraps botocore's Session.create_client, which every boto3 client and resource goes through.

    An @connections endpoint built for AWS is sent to chatd. A botocore older than 1.31 (Debian
    bookworm's) ignores AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL; for it, they are applied
    here as newer versions apply them: only when the code names no endpoint itself.
    """
    import botocore

    original = session_module.Session.create_client
    signature = inspect.signature(original)
    try:
        reads_env = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 31)
    except ValueError:
        reads_env = True

    def create_client(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # let botocore report the mistake itself
        given = bound.arguments.get("endpoint_url")
        service = str(bound.arguments.get("service_name", ""))
        if given:
            bound.arguments["endpoint_url"] = local_endpoint(given) or given
        elif not reads_env:
            key = "AWS_ENDPOINT_URL_" + re.sub(r"[^A-Za-z0-9]", "_", service).upper()
            env = os.environ.get(key) or os.environ.get("AWS_ENDPOINT_URL")
            if env:
                bound.arguments["endpoint_url"] = env
        return original(*bound.args, **bound.kwargs)

    create_client.__wrapped__ = original
    session_module.Session.create_client = create_client


class BotocoreHook(importlib.abc.MetaPathFinder):
    """Patches botocore.session as it is first imported, so functions that never use boto3 do
    not pay for loading it."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.session":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def run(module):
            exec_module(module)
            patch_botocore(module)

        loader.exec_module = run
        return spec


# --- logging as Lambda's Python runtime sets it up ---------------------------------------------

_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    fmt = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                            "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    handler.terminator = ""
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)


def log_error(error_type, message, trace):
    lines = ["[ERROR] %s: %s" % (error_type, message)]
    if trace:
        lines.append("Traceback (most recent call last):")
        lines.extend(t.rstrip("\n") for t in trace)
    text = "\r".join(l.replace("  ", "\u00a0\u00a0") if l.startswith(" ") else l for l in lines)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --- the handler ---------------------------------------------------------------------------------

def user_frames(tb):
    """The traceback's frames without this file's own."""
    return [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != os.path.abspath(__file__)]


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    modname = modname.replace("/", ".")
    if modname.split(".")[0] in sys.builtin_module_names:
        raise FaultError("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % modname.split(".")[0])
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise FaultError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n        %s\n' % (e.filename, e.lineno, (e.text or "").strip())]
        raise FaultError("Runtime.UserCodeSyntaxError",
                         "Syntax error in module '%s': %s" % (modname, e), trace)
    fn = getattr(module, fname, None)
    if fn is None:
        raise FaultError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn


class Identity:
    def __init__(self, d):
        self.cognito_identity_id = (d or {}).get("cognitoIdentityId")
        self.cognito_identity_pool_id = (d or {}).get("cognitoIdentityPoolId")


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        cc = headers.get("lambda-runtime-client-context")
        self.client_context = json.loads(cc) if cc else None
        ci = headers.get("lambda-runtime-cognito-identity")
        self.identity = Identity(json.loads(ci)) if ci else Identity(None)
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


def error_body(error_type, message, trace, request_id=""):
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def invoke(api, fn, headers, body):
    global _request_id
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id is None:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    else:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    where = "%s/invocation/%s" % (BASE, request_id)
    event = json.loads(body) if headers.get("content-type") == "application/json" else body
    try:
        result = fn(event, LambdaContext(headers))
    except Exception as e:  # as Lambda's client: BaseException (sys.exit) ends the process
        trace = traceback.format_list(user_frames(e.__traceback__))
        log_error(type(e).__name__, str(e), trace)
        api.post_json(where + "/error", error_body(type(e).__name__, str(e), trace, request_id))
        return
    try:
        payload = json.dumps(result).encode()
    except (TypeError, ValueError) as e:
        message = "Unable to marshal response: %s" % e
        log_error("Runtime.MarshalError", message, [])
        api.post_json(where + "/error", error_body("Runtime.MarshalError", message, [], request_id))
        return
    api.call("POST", where + "/response", payload, {"Content-Type": "application/json"})


def main():
    setup_logging()
    sys.meta_path.insert(0, BotocoreHook())
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    api = RuntimeApi(API)
    try:
        fn = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        if isinstance(e, FaultError):
            error_type, message, trace = e.error_type, e.message, e.trace
        else:
            error_type, message = type(e).__name__, str(e)
            trace = traceback.format_list(user_frames(e.__traceback__))
        sys.stdout.write("[WARNING]\t%s\t%s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                         "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the "
                         "function code. However, in rare cases, a Lambda runtime update can cause "
                         "unexpected function behavior."))
        log_error(error_type, message, trace)
        api.call("POST", BASE + "/init/error", json.dumps(error_body(error_type, message, trace)).encode(),
                 {"Lambda-Runtime-Function-Error-Type": error_type})
        sys.exit(1)
    while True:
        status, headers, body = api.call("GET", BASE + "/invocation/next")
        if status != 200:
            sys.exit("the Runtime API answered %d to /invocation/next" % status)
        invoke(api, fn, headers, body)


if __name__ == "__main__":
    main()
