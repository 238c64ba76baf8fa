// TypeScript declarations of broker.js (SPEC.md 4.15), served at /broker.d.ts.

/** A stored record: `data` as JSON.parse reads it, `text` the exact JSON stored. */
export interface BrokerRecord {
  seq: number;
  event: string;
  timestamp: number;
  data: unknown;
  text: string;
}

/** `refused`: the server refused the stream (401, 403) and the token is not a
 * function, so no other connection is tried. */
export type BrokerStatus = "connecting" | "live" | "reconnecting" | "refused" | "closed";

export interface ConnectOptions {
  /** Only these names. */
  events?: string | string[];
  /** Only names starting with one of these. */
  prefix?: string | string[];
  /** A token, or a function returning one (or a promise of one), called for every
   * connection and request. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Send cookies to another origin (the one `--origin` allows); default false. */
  withCredentials?: boolean;
  /** First reconnection delay in ms (default 500), doubling up to 10 s. */
  retryMs?: number;
  /** How many times an insert is sent again after a network failure (default 5). */
  insertRetries?: number;
}

export interface InsertOptions {
  /** Store only if the name's latest record has this seq (0: none yet). */
  expectedSeq?: number;
  /** The idempotency key; one is generated when absent. */
  idempotencyKey?: string;
}

export interface BatchEntry {
  event: string;
  data: unknown;
  expectedSeq?: number;
}

export declare class BrokerError extends Error {
  status: number;
  body: Record<string, unknown>;
  /** For a 409 of one record: the name's latest seq. */
  currentSeq?: number;
  /** For a 409 of a batch: every entry that did not hold. */
  conflicts?: { index: number; event: string; expectedSeq: number; currentSeq: number }[];
}

export interface Live {
  /** The latest record of every name, kept current. */
  readonly state: Map<string, BrokerRecord>;
  /** The last seq applied to `state`. */
  readonly lastSeq: number | null;
  readonly status: BrokerStatus;
  on(type: "change", listener: (name: string, record: BrokerRecord, previous: BrokerRecord | undefined) => void): () => void;
  on(type: "status", listener: (status: BrokerStatus) => void): () => void;
  insert(event: string, data: unknown, options?: InsertOptions): Promise<BrokerRecord>;
  /** One record whose data is JSON text, stored exactly as written. */
  insertText(event: string, dataText: string, options?: InsertOptions): Promise<BrokerRecord>;
  insertBatch(entries: BatchEntry[], options?: { idempotencyKey?: string }): Promise<BrokerRecord[]>;
  history(event: string, options?: { after?: number; limit?: number; since?: number; until?: number }): Promise<BrokerRecord[]>;
  stateAt(instant: { at?: number; seq?: number }): Promise<{ seq: number; state: Map<string, BrokerRecord> }>;
  close(): void;
}

export declare function connect(baseURL: string, options?: ConnectOptions): Live;

/** The exact text of each member of a JSON object's text, or null for another value. */
export declare function members(text: string): Map<string, string> | null;

/** The parts of an envelope message's data (SPEC.md 4.3). */
export declare function splitEnvelope(raw: string): { event: string; timestamp: number; text: string };
