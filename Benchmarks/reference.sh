#!/usr/bin/env bash
# The reference figures for goal 2 (docs/performance.md), on this machine: the disk's
# sequential write speed with dd (through the page cache, and with fdatasync) and
# `lz4 -1` on 1 GiB of the same 64 KiB JSON record the append benchmark writes.
set -euo pipefail
command -v lz4 >/dev/null || { echo "lz4 is missing: apt-get install lz4"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/broker-reference.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK/data" <<'PY'
import sys
# Benchmarks/Benchmarks/LogBenchmarks: {"n":N,"v":"value N%97"}, repeated to 64 KiB.
record, n = b"", 0
while len(record) < 65536:
    record += b'{"n":%d,"v":"value %d"},' % (n, n % 97)
    n += 1
with open(sys.argv[1], "wb") as out:
    for _ in range(16384):
        out.write(record[:65536])
PY
rate() { python3 -c "import sys; print(f'{1073741824 / float(sys.argv[1]) / 1e9:.2f} GB/s')" "$1"; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); python3 -c "print($end - $start)"; }
echo "dd, page cache:       $(rate "$(seconds dd if="$WORK/data" of="$WORK/copy" bs=1M)")"
rm -f "$WORK/copy"
echo "dd, conv=fdatasync:   $(rate "$(seconds dd if="$WORK/data" of="$WORK/copy" bs=1M conv=fdatasync)")"
rm -f "$WORK/copy"
echo "lz4 -1 (input rate):  $(rate "$(seconds lz4 -1 -f "$WORK/data" "$WORK/data.lz4")")"
echo "lz4 -1 ratio:         $(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / os.path.getsize(sys.argv[2]):.1f}:1')" "$WORK/data" "$WORK/data.lz4")"
