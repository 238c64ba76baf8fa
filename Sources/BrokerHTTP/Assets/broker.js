// broker.js: Broker's client for web pages (SPEC.md 4.15). An ES module with no
// dependencies, served by Broker at /broker.js:
//
//   import { connect } from "https://broker.example/broker.js";
//   const live = connect("https://broker.example", { events: ["cart"] });
//   live.on("change", (name, record) => render(name, record.data));
//   await live.insert("cart", { items: 3 }, { expectedSeq: live.state.get("cart")?.seq ?? 0 });
//
// `live.state` holds the latest record of every name, filled by the snapshot and
// kept current; after any disconnect the stream resumes after the last seq seen, so
// nothing is lost or applied twice. Every record has `data` (as JSON.parse reads
// it) and `text` (the exact JSON the server stored: `12.40` stays `12.40`).

/** An answer other than 200: `status`, the server's `message`, and the body's fields
 * (for a conflict, `currentSeq`, or `conflicts` for a batch). */
export class BrokerError extends Error {
  constructor(status, message, body = {}) {
    super(message);
    this.name = "BrokerError";
    this.status = status;
    this.body = body;
    this.currentSeq = body.currentSeq;
    this.conflicts = body.conflicts;
  }
}

/** Opens a live view of `baseURL`'s events. Options: `events` (names), `prefix`
 * (prefixes), `token` (a string, or a function returning one or a promise of one:
 * called for every connection and request, so it can refresh an expiring token),
 * `withCredentials` (send cookies to another origin, which must then be the one
 * `--origin` allows; default false), `retryMs` (first reconnection delay, default
 * 500), `insertRetries` (default 5). */
export function connect(baseURL, options = {}) {
  return new Live(baseURL, options);
}

/** The end of the JSON value starting at text[start], in compact JSON as the server
 * writes it. What keeps exact texts exact: values are cut out, never re-encoded. */
function valueEnd(text, start) {
  let depth = 0, i = start;
  do {
    const c = text[i];
    if (c === '"') { i++; while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1; }
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (depth === 0) { while (i < text.length && !",}]".includes(text[i])) i++; return i; }
    i++;
  } while (depth > 0);
  return i;
}

/** The exact text of each member of a JSON object's text (name → text), or null for
 * another value: `{"c":21.0}` gives `c` → `21.0`. */
export function members(text) {
  if (text[0] !== "{") return null;
  const found = new Map();
  let i = 1;
  while (text[i] !== "}") {
    const keyEnd = valueEnd(text, i);
    const end = valueEnd(text, keyEnd + 1);
    found.set(JSON.parse(text.slice(i, keyEnd)), text.slice(keyEnd + 1, end));
    i = text[end] === "," ? end + 1 : end;
  }
  return found;
}

/** The name of a record or an envelope, and where its text ends. */
function nameOf(raw) {
  const start = raw.indexOf('"event":') + 8;
  const end = valueEnd(raw, start);
  return { event: JSON.parse(raw.slice(start, end)), end };
}

/** The exact text of `data`, the last member of a record or an envelope, found after
 * `from` without scanning the data itself. */
function lastData(raw, from) {
  return raw.slice(raw.indexOf('"data":', from) + 7, raw.length - 1);
}

/** Splits an envelope `{"event":…,"timestamp":…,"data":…}` (SPEC.md 4.3) into the
 * name, the timestamp and the exact text of the data. */
export function splitEnvelope(raw) {
  const { event, end } = nameOf(raw);
  const stamp = raw.indexOf('"timestamp":', end) + 12;
  const comma = raw.indexOf(",", stamp);
  return { event, timestamp: Number(raw.slice(stamp, comma)), text: lastData(raw, comma) };
}

/** The exact text of `data` in a record answer `{"seq","event","timestamp","data"}`. */
function dataTextOf(raw) {
  return lastData(raw, nameOf(raw).end);
}

/** The raw text of each element of a JSON array. */
function elements(raw) {
  const parts = [];
  let i = 1;
  while (i < raw.length && raw[i] !== "]") {
    const end = valueEnd(raw, i);
    parts.push(raw.slice(i, end));
    i = raw[end] === "," ? end + 1 : end;
  }
  return parts;
}

/** Records from a JSON array of record answers, each with its exact data text. */
function records(raw) {
  return elements(raw).map((part) => {
    const answer = JSON.parse(part);
    return record(answer.seq, answer.event, answer.timestamp, dataTextOf(part));
  });
}

function record(seq, event, timestamp, text) {
  return { seq, event, timestamp, text, data: JSON.parse(text) };
}

/** A random idempotency key: what makes an insert safe to send again. */
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "bjs-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class Live {
  constructor(baseURL, { events = [], prefix = [], token, withCredentials = false, retryMs = 500, insertRetries = 5 } = {}) {
    this.withCredentials = withCredentials;
    this.base = String(baseURL).replace(/\/+$/, "");
    this.events = [].concat(events);
    this.prefixes = [].concat(prefix);
    this.token = token;
    this.retryMs = retryMs;
    this.insertRetries = insertRetries;
    /** The latest record of every name: name → {seq, event, timestamp, data, text}. */
    this.state = new Map();
    /** The last seq applied to `state`: where a reconnection resumes. */
    this.lastSeq = null;
    this.status = "connecting";
    this.listeners = { change: new Set(), status: new Set() };
    this.closed = false;
    this.source = null;
    this.open(0);
  }

  /** `change`: (name, record, previous); `status`: (status) with connecting, live,
   * reconnecting, refused (the server refused the stream and the token is not a
   * function: nothing more is tried) or closed. Returns a function that removes the
   * listener. */
  on(type, listener) {
    this.listeners[type].add(listener);
    return () => this.listeners[type].delete(listener);
  }

  emit(type, ...values) {
    for (const listener of this.listeners[type]) listener(...values);
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  async currentToken() {
    return typeof this.token === "function" ? await this.token() : this.token;
  }

  query(extra = {}) {
    const query = new URLSearchParams();
    for (const name of this.events) query.append("event", name);
    for (const prefix of this.prefixes) query.append("prefix", prefix);
    for (const [key, value] of Object.entries(extra)) if (value !== undefined && value !== null) query.set(key, value);
    return query;
  }

  /** One EventSource at a time, opened by this code rather than left to reconnect by
   * itself, so that every connection gets a fresh token and the resume point. */
  async open(attempt) {
    if (this.closed) return;
    const token = await this.currentToken();
    const query = this.query({ envelope: "1", lastEventId: this.lastSeq ?? undefined, access_token: token || undefined });
    const source = new EventSource(`${this.base}/events?${query}`, { withCredentials: this.withCredentials });
    this.source = source;
    source.onopen = () => {
      attempt = 0;
      this.setStatus("live");
    };
    source.onmessage = (message) => this.apply(Number(message.lastEventId), message.data);
    source.onerror = () => {
      // EventSource gives up by itself (CLOSED) only when the server refused the stream
      // (401, 403): with a fixed token another try cannot succeed, so it stops there.
      const refused = source.readyState === EventSource.CLOSED;
      source.close();
      if (this.closed || this.source !== source) return;
      if (refused && typeof this.token !== "function") return this.setStatus("refused");
      // A stream the server ended (restart, token expiry) or a lost connection: resume
      // after the last seq, with a new token, after a growing pause.
      this.setStatus("reconnecting");
      const delay = Math.min(this.retryMs * 2 ** attempt, 10000);
      setTimeout(() => this.open(attempt + 1), delay);
    };
  }

  apply(seq, raw) {
    if (this.lastSeq !== null && seq <= this.lastSeq) return; // seen already
    const { event, timestamp, text } = splitEnvelope(raw);
    this.lastSeq = seq;
    const previous = this.state.get(event);
    const next = record(seq, event, timestamp, text);
    this.state.set(event, next);
    this.emit("change", event, next, previous);
  }

  async request(method, path, { body, headers = {} } = {}) {
    const token = await this.currentToken();
    const response = await fetch(this.base + path, {
      method,
      body,
      credentials: this.withCredentials ? "include" : "same-origin",
      headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    const text = await response.text();
    if (!response.ok) {
      let parsed = {};
      try { parsed = JSON.parse(text); } catch { parsed = { error: text }; }
      throw new BrokerError(response.status, parsed.error || response.statusText, parsed);
    }
    return { text, response };
  }

  /** Sends an insert with an idempotency key, again after a network failure (the key
   * makes a repeat harmless: the server answers it from the log). */
  async send(body, contentType, idempotencyKey) {
    const key = idempotencyKey ?? newKey();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request("POST", "/insert", { body, headers: { "Content-Type": contentType, "Idempotency-Key": key } });
      } catch (error) {
        if (error instanceof BrokerError || attempt >= this.insertRetries) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.retryMs * 2 ** attempt, 5000)));
      }
    }
  }

  /** Inserts one record; resolves to the stored record, or throws a BrokerError
   * (a 409 has `currentSeq`). Options: `expectedSeq`, `idempotencyKey`. */
  async insert(event, data, options = {}) {
    return this.insertText(event, JSON.stringify(data), options);
  }

  /** Inserts one record whose data is JSON text, stored exactly as written
   * (`{"price": 12.40}` keeps its digits, which `insert` cannot: JavaScript numbers
   * do not); the server refuses text that is not JSON with a 400. */
  async insertText(event, dataText, { expectedSeq, idempotencyKey } = {}) {
    const seq = expectedSeq === undefined ? "" : `,"expectedSeq":${JSON.stringify(expectedSeq)}`;
    const body = `{"event":${JSON.stringify(event)}${seq},"data":${dataText}}`;
    const { text } = await this.send(body, "application/json", idempotencyKey);
    const answer = JSON.parse(text);
    return record(answer.seq, answer.event, answer.timestamp, dataTextOf(text));
  }

  /** Inserts records all or none: `[{event, data, expectedSeq?}, …]`; resolves to the
   * stored records in order. */
  async insertBatch(entries, { idempotencyKey } = {}) {
    const { text } = await this.send(JSON.stringify(entries), "application/json", idempotencyKey);
    return records(text);
  }

  /** One name's records, oldest first: `after` (a seq) and `limit` page through them. */
  async history(event, { after, limit, since, until } = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries({ after, limit, since, until })) if (value !== undefined) query.set(key, value);
    const { text } = await this.request("GET", `/audit/${event.split("/").map(encodeURIComponent).join("/")}?${query}`);
    return records(text);
  }

  /** The latest record of every (selected) name at an instant: `{at: ms}` or `{seq}`;
   * resolves to {seq, state: Map}. */
  async stateAt({ at, seq } = {}) {
    const { text, response } = await this.request("GET", `/state?${this.query({ at, seq })}`);
    const state = new Map(records(text).map((r) => [r.event, r]));
    return { seq: Number(response.headers.get("X-Broker-Seq")), state };
  }

  close() {
    this.closed = true;
    this.source?.close();
    this.setStatus("closed");
  }
}
