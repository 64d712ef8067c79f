#!/bin/sh
# publish-client.sh STACK [REGION]: put the web client (static/) in the stack's bucket, with a
# chatd.json naming the stack's WebSocket URL (the client connects there by default), and have
# CloudFront serve the new files. Needs the AWS CLI with credentials for the account.
set -eu
stack=${1:?usage: deploy/publish-client.sh STACK [REGION]}
region=${2:-${AWS_REGION:-$(aws configure get region)}}
here=$(cd "$(dirname "$0")" && pwd)

output() {
    aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
url=$(output WebSocketURL)
bucket=$(output SiteBucketName)
distribution=$(output DistributionId)
site=$(output WebsiteURL)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/../static/." "$work/"
printf '{"endpoint":"%s"}\n' "$url" > "$work/chatd.json"

aws s3 sync "$work/" "s3://$bucket/" --region "$region" --delete
aws cloudfront create-invalidation --distribution-id "$distribution" --paths '/*' >/dev/null
echo "web client: $site (connects to $url)"
