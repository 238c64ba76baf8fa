// A page written from SPEC.md 4.15 alone, type-checked against broker.d.ts by
// `make lint` (tsc --noEmit --strict): a declaration that drifts from what SPEC
// promises breaks this file. Never run; every line is there to be checked.
import { connect, members, splitEnvelope, BrokerError, type BrokerRecord, type BrokerStatus } from "../../Sources/BrokerHTTP/Assets/broker.js";

const live = connect("https://broker.example", {
  events: ["price", "stock"],
  prefix: "orders/",
  token: async () => sessionStorage.getItem("token") ?? undefined,
  withCredentials: false,
  retryMs: 500,
  insertRetries: 5,
});
connect("/", { events: "price", prefix: ["a/", "b/"], token: "a.b.c" });

// state: a Map from name to the latest record {seq, event, timestamp, data, text}.
const latest: BrokerRecord | undefined = live.state.get("price");
if (latest) {
  const seq: number = latest.seq;
  const name: string = latest.event;
  const when: number = latest.timestamp;
  const exact: string = latest.text;
  const parsed: unknown = latest.data;
  console.log(seq, name, when, exact, parsed);
}
const lastSeq: number | null = live.lastSeq;

// on("change") and on("status") each return a function that removes the listener.
const stopChanges: () => void = live.on("change", (name: string, record: BrokerRecord, previous: BrokerRecord | undefined) => {
  console.log(name, record.seq, previous?.seq);
});
const stopStatus = live.on("status", (status: BrokerStatus) => {
  const known: "connecting" | "live" | "reconnecting" | "refused" | "closed" = status;
  console.log(known);
});
stopChanges();
stopStatus();
// @ts-expect-error: a status that SPEC does not name
const unknownStatus: BrokerStatus = "paused";

async function writes(): Promise<void> {
  const one: BrokerRecord = await live.insert("price", { amount: 12.4 }, { expectedSeq: 0, idempotencyKey: "k-1" });
  const exact: BrokerRecord = await live.insertText("price", "12.40", { expectedSeq: one.seq });
  const batch: BrokerRecord[] = await live.insertBatch(
    [{ event: "price", data: 1, expectedSeq: exact.seq }, { event: "stock", data: null }],
    { idempotencyKey: "k-2" });
  console.log(batch.length);
  try {
    await live.insert("price", 2, { expectedSeq: 1 });
  } catch (error) {
    if (error instanceof BrokerError) {
      const status: number = error.status;
      const message: string = error.message;
      const body: Record<string, unknown> = error.body;
      const current: number | undefined = error.currentSeq;
      const conflicts = error.conflicts ?? [];
      for (const c of conflicts) console.log(c.index, c.event, c.expectedSeq, c.currentSeq);
      console.log(status, message, body, current);
    }
  }
  // @ts-expect-error: expectedSeq is a number
  await live.insert("price", 2, { expectedSeq: "1" });
}

async function reads(): Promise<void> {
  const versions: BrokerRecord[] = await live.history("price", { after: 0, limit: 10, since: 0, until: Date.now() });
  const bySeq: { seq: number; state: Map<string, BrokerRecord> } = await live.stateAt({ seq: 42 });
  const byTime = await live.stateAt({ at: Date.now() - 60_000 });
  console.log(versions.length, bySeq.seq, byTime.state.size);
}

const parts: Map<string, string> | null = members('{"a":12.40}');
const envelope: { event: string; timestamp: number; text: string } = splitEnvelope("price 1700000000000 12.40");
console.log(lastSeq, parts, envelope, unknownStatus, writes, reads);
live.close();
