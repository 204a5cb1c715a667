#!/bin/sh
# s3_sign_vectors.sh -- how the expected signatures of the S3 cases written
# for test_storage_s3_sign.c were derived: from canonical requests written
# out by hand here (not by the code under test), with openssl alone
# (sha256 of the canonical request, string to sign, HMAC-SHA256 chain of
# the signing key, signature).  Run it to see every intermediate value:
#     sh test/unit/s3_sign_vectors.sh
# Not run by "make unit": its results are recorded in the test.
set -eu

hmac_hex() {	# hmac_hex <hex key> <text>: hex HMAC-SHA256
	printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" | sed 's/^.*= //'
}

sign() {	# sign <name> <date> <region> <service> <secret> <canonical request>
	name=$1 date=$2 region=$3 service=$4 secret=$5 creq=$6
	day=$(echo "$date" | cut -c1-8)
	scope="$day/$region/$service/aws4_request"
	creq_hash=$(printf '%s' "$creq" | openssl dgst -sha256 | sed 's/^.*= //')
	sts=$(printf 'AWS4-HMAC-SHA256\n%s\n%s\n%s' "$date" "$scope" "$creq_hash")
	k=$(printf '%s' "AWS4$secret" | od -An -tx1 | tr -d ' \n')
	k=$(hmac_hex "$k" "$day")
	k=$(hmac_hex "$k" "$region")
	k=$(hmac_hex "$k" "$service")
	k=$(hmac_hex "$k" "aws4_request")
	echo "== $name"
	echo "canonical request sha256: $creq_hash"
	echo "signing key: $k"
	echo "signature: $(hmac_hex "$k" "$sts")"
}

SECRET='pgdr/secret+key=EXAMPLE'
TOKEN='FwoGZXIvYXdzEJr//////////wEaDExample+token/=='
DATE=20261203T081500Z
BODY_HASH=$(printf 'hello s3\n' | openssl dgst -sha256 | sed 's/^.*= //')
echo "body sha256 (\"hello s3\\n\"): $BODY_HASH"

# PUT of an object whose key holds a space, a-umlaut and a euro sign,
# with a session token and the payload hash header
sign put-unicode-token $DATE eu-west-1 s3 "$SECRET" "PUT
/pgdr-bucket/repo%201/backup/%C3%BC%E2%82%AC%20x.txt

content-type:application/octet-stream
host:127.0.0.1:9000
x-amz-content-sha256:$BODY_HASH
x-amz-date:$DATE
x-amz-security-token:$TOKEN
x-amz-storage-class:STANDARD_IA

content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-storage-class
$BODY_HASH"

# ListObjectsV2: an empty value keeps its '=', '/' '+' '=' '*' and space
# encoded in values, unreserved characters kept, sorted by encoded name
sign list-empty-value $DATE eu-west-1 s3 "$SECRET" "GET
/pgdr-bucket
continuation-token=1%2Fabc%2Bdef%3D&delimiter=%2F&list-type=2&prefix=archive%2Fwal%201%2F-_.~%2A&start-after=
host:s3.eu-west-1.amazonaws.com
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:$DATE

host;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# DeleteObjects: "?delete" with its '=', names sorted by bytes ("Z" before
# "d"), one name twice sorted by value; header values trimmed and
# collapsed, a header given twice joined with ','; UNSIGNED-PAYLOAD
sign delete-unsigned $DATE us-east-1 s3 "$SECRET" "POST
/pgdr-bucket/
Z=&delete=&z=1&z=2
content-md5:1B2M2Y8AsgTpgAMF7PQkjw==
host:pgdr-bucket.s3.amazonaws.com
x-amz-content-sha256:UNSIGNED-PAYLOAD
x-amz-date:$DATE
x-amz-meta-note:a b c
x-amz-meta-tag:one,two

content-md5;host;x-amz-content-sha256;x-amz-date;x-amz-meta-note;x-amz-meta-tag
UNSIGNED-PAYLOAD"
