#!/bin/sh
# make-test-certs.sh DIR NAME: a throwaway CA (DIR/ca.pem, made once) and a server
# certificate for localhost and 127.0.0.1 signed by it (DIR/NAME.pem, DIR/NAME.key),
# valid for two days. For the TLS tests only.
set -eu
dir=$1
name=$2
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=Broker Test CA" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$name" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$name.ext"
openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$name.pem" -days 2 \
    -extfile "$name.ext" 2>/dev/null
rm -f "$name.csr" "$name.ext"
