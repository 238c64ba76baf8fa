"""SSE load on a running broker (loopback only, bounded in count and time).

fanout: N subscribers, then M records published; reports deliveries/s and the
publish-to-receive latency (p50, p99) measured on a sample of subscribers.
idle: N idle subscribers; reports the server's resident memory.
Usage: sse_load.py fanout PORT PID [SUBSCRIBERS] [RECORDS] | idle PORT PID [SUBSCRIBERS]
"""
import asyncio
import json
import re
import resource
import sys
import time

HOST = "127.0.0.1"
TIMEOUT = 120  # seconds: every phase is bounded


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


async def subscribe(port, query=""):
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /events{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:40]
    return reader, writer


ID = re.compile(rb"(?:^|\n)id: (\d+)\n")


async def count_messages(reader, expected, probe, sent_at, latencies):
    """Reads until the record with seq `expected` arrived; counts ids (the body is
    chunk-encoded, and reads split anywhere, so the last bytes carry over)."""
    received = 0
    last = 0
    carry = b""
    while last < expected:
        chunk = await reader.read(1 << 16)
        if not chunk:
            break
        now = time.monotonic()
        data = carry + chunk
        end = 0
        for match in ID.finditer(data):
            seq = int(match.group(1))
            end = match.end()
            if seq > last:
                last = seq
                received += 1
                if probe and seq in sent_at:
                    latencies.append(now - sent_at[seq])
        carry = data[max(end, len(data) - 64):]
    return received


async def publish(port, records, sent_at, connections=8):
    """Publishes `records` over several keep-alive connections at once."""
    await asyncio.gather(*(publish_some(port, range(c, records, connections), sent_at) for c in range(connections)))
    return 0


async def publish_some(port, numbers, sent_at):
    reader, writer = await asyncio.open_connection(HOST, port)
    for n in numbers:
        body = json.dumps({"event": f"fan-{n % 100}", "data": {"n": n, "pad": "x" * 150}}).encode()
        started = time.monotonic()
        writer.write(b"POST /insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) if b"Content-Length: " in head else int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        reply = await reader.readexactly(length)
        sent_at[json.loads(reply)["seq"]] = started
    writer.close()


async def fanout(port, pid, subscribers, records):
    connections = [await subscribe(port, "?lastEventId=999999999999") for _ in range(subscribers)]
    # Past the last seq gives the snapshot; nothing was inserted yet, so streams are empty.
    sent_at, latencies = {}, []
    rss_before = rss_mb(pid)
    started = time.monotonic()
    readers = [count_messages(r, records, i % max(1, subscribers // 10) == 0, sent_at, latencies) for i, (r, _) in enumerate(connections)]
    results = await asyncio.wait_for(asyncio.gather(publish(port, records, sent_at), *readers), TIMEOUT)
    elapsed = time.monotonic() - started
    delivered = sum(results[1:])
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000 if latencies else float("nan")
    print(json.dumps({"subscribers": subscribers, "records": records, "delivered": delivered,
                      "seconds": round(elapsed, 3), "deliveries_per_s": round(delivered / elapsed),
                      "latency_ms_p50": round(p(0.5), 2), "latency_ms_p99": round(p(0.99), 2),
                      "server_rss_mb_before": round(rss_before), "server_rss_mb_after": round(rss_mb(pid))}))
    for _, writer in connections:
        writer.close()


async def idle(port, pid, subscribers):
    before = rss_mb(pid)
    connections = []
    for _ in range(subscribers):
        connections.append(await asyncio.wait_for(subscribe(port), TIMEOUT))
    await asyncio.sleep(2)
    print(json.dumps({"idle_subscribers": len(connections), "server_rss_mb_before": round(before), "server_rss_mb": round(rss_mb(pid))}))
    for _, writer in connections:
        writer.close()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "fanout":
        asyncio.run(fanout(port, pid, int(sys.argv[4]) if len(sys.argv) > 4 else 1000, int(sys.argv[5]) if len(sys.argv) > 5 else 1000))
    else:
        asyncio.run(idle(port, pid, int(sys.argv[4]) if len(sys.argv) > 4 else 10000))
