"""After the Schemathesis run: the log holds exactly the records that were
acknowledged. Every 200 answer to POST /insert that is not a replay
(`Idempotent-Replayed: true`) stored its records; nothing else stored anything.
Usage: check_stored.py REQUESTS.har BASE_URL"""
import json
import sys
import urllib.request


def stored_by(entry):
    """How many records an acknowledged insert stored (0 for anything else)."""
    request, response = entry["request"], entry["response"]
    if request["method"] != "POST" or not request["url"].split("?")[0].endswith("/insert") or response["status"] != 200:
        return 0
    headers = {h["name"].lower(): h["value"] for h in response.get("headers", [])}
    if headers.get("idempotent-replayed") == "true":
        return 0
    answer = json.loads(response["content"]["text"])
    if isinstance(answer, list):
        return len(answer)
    return answer["count"] if "count" in answer else 1


def main():
    har, base = sys.argv[1], sys.argv[2]
    with open(har) as file:
        entries = json.load(file)["log"]["entries"]
    acknowledged = sum(stored_by(entry) for entry in entries)
    with urllib.request.urlopen(base + "/healthz", timeout=10) as reply:
        last_seq = json.load(reply)["lastSeq"]
    print(f"{len(entries)} requests; {acknowledged} records acknowledged; the log's last seq is {last_seq}")
    if acknowledged != last_seq:
        sys.exit(f"the log holds {last_seq} records but {acknowledged} were acknowledged")


main()
