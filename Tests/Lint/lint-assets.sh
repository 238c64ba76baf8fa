#!/usr/bin/env bash
# The web assets compiled into the binary (Sources/BrokerHTTP/Assets), each checked in
# its own language: broker.js and the console's module script by node, broker.d.ts by
# tsc through a consumer written from SPEC 4.15, the OpenAPI document by
# openapi-spec-validator, the console's HTML by tidy.
set -euo pipefail
cd "$(dirname "$0")/../.."
assets=Sources/BrokerHTTP/Assets
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

node --check "$assets/broker.js"
# The console's one inline module script, as a module of its own.
python3 - "$assets/console.html" "$scratch/console.mjs" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
scripts = re.findall(r'<script type="module">(.*?)</script>', html, re.S)
if len(scripts) != 1:
    sys.exit(f"{sys.argv[1]}: expected one module script, found {len(scripts)}")
open(sys.argv[2], "w", encoding="utf-8").write(scripts[0])
PY
node --check "$scratch/console.mjs"
(cd Tests/Lint && tsc -p tsconfig.json)
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$assets/openapi.json"
openapi-spec-validator "$assets/openapi.json" >/dev/null
# The table's <tbody> is filled by the script: an empty element is meant.
tidy -quiet -errors --drop-empty-elements no "$assets/console.html"
echo "web assets: broker.js, console.html (and its script), broker.d.ts, openapi.json: OK"
