# The Python twin of node/app.mjs, for the cold-start figures.
def handler(event, context):
    return {"statusCode": 200, "body": event["body"]}
