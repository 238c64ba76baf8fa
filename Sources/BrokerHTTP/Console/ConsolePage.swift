/// The live web console served at `/` (SPEC.md 4.9): one self-contained page, with
/// no external resources, compiled into the binary. It is built on `broker.js`
/// (``BrokerScript``): the live state, the history of a name and inserts. Every value from
/// the server is put in the page with `textContent`, never as HTML. With access
/// control on it uses the `broker_token` cookie, or a token pasted into its token
/// field and kept in the tab's sessionStorage (SPEC.md 4.8).
enum ConsolePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Broker console</title>
        <style>
          :root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e3e6eb; --accent: #2357d9; --hit: #fff3bf; --bad: #b42318; --ok: #067647; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
          header { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.25rem; padding: .8rem 1.25rem; background: var(--card); border-bottom: 1px solid var(--line); }
          h1 { font-size: 1.15rem; margin: 0; }
          h2 { font-size: 1rem; margin: 0 0 .6rem; }
          .token { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem; margin-left: auto; }
          .token input { width: 16rem; max-width: 100%; }
          .badge { display: inline-flex; align-items: center; gap: .4rem; padding: .15rem .6rem; border-radius: 999px; font-size: .85rem; background: var(--line); }
          .badge::before { content: ""; width: .55rem; height: .55rem; border-radius: 50%; background: var(--muted); }
          .badge[data-state="live"]::before { background: var(--ok); }
          .badge[data-state="reconnecting"]::before, .badge[data-state="connecting"]::before { background: #d97706; }
          .muted { color: var(--muted); font-size: .85rem; }
          main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 1rem; padding: 1rem 1.25rem; }
          section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; min-width: 0; }
          label { display: block; font-weight: 600; font-size: .85rem; margin-bottom: .25rem; }
          input, textarea, button { font: inherit; }
          input, textarea { width: 100%; padding: .45rem .55rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
          textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; min-height: 7rem; resize: vertical; }
          button { padding: .45rem .9rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
          button.secondary { background: var(--line); color: var(--ink); }
          :focus-visible { outline: 3px solid #93b4ff; outline-offset: 1px; }
          table { width: 100%; border-collapse: collapse; table-layout: fixed; }
          th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
          th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
          th.event { width: 24%; } th.seq { width: 9%; } th.time { width: 22%; }
          tbody tr { cursor: pointer; }
          tbody tr:hover { background: #f0f4ff; }
          tbody tr.changed { animation: hit 1.6s ease-out; }
          @keyframes hit { from { background: var(--hit); } to { background: transparent; } }
          td.data, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; white-space: pre-wrap; margin: 0; }
          td.event { font-weight: 600; overflow-wrap: anywhere; }
          .toolbar { display: flex; gap: .75rem; align-items: end; margin-bottom: .75rem; }
          .toolbar > div { flex: 1; }
          #empty { padding: 1rem .5rem; }
          ol.timeline { list-style: none; padding: 0; margin: 0; }
          ol.timeline li { border-left: 3px solid var(--accent); padding: .2rem 0 .6rem .7rem; margin-bottom: .4rem; }
          .change { font-size: .85rem; color: var(--muted); margin-top: .2rem; }
          .error { color: var(--bad); font-size: .85rem; min-height: 1.2em; }
          .result { color: var(--ok); font-size: .85rem; min-height: 1.2em; }
          .stack > * + * { margin-top: .7rem; }
          .history-head { display: flex; justify-content: space-between; align-items: center; gap: .5rem; }
          @media (max-width: 760px) {
            main { grid-template-columns: minmax(0, 1fr); padding: .75rem; }
            th.time, td.time { display: none; }
            th.event { width: 34%; } th.seq { width: 14%; }
          }
        </style>
        </head>
        <body>
        <header>
          <h1>Broker console</h1>
          <span id="state" class="badge" data-state="connecting" role="status" aria-live="polite">connecting</span>
          <span class="muted">last seq <span id="last-seq">0</span></span>
          <form id="token-form" class="token" autocomplete="off">
            <label for="token">Access token</label>
            <input id="token" type="password" placeholder="paste a token (kept in this tab only)" spellcheck="false">
            <button type="submit" id="token-use">Use</button>
            <button type="button" class="secondary" id="token-forget">Forget</button>
            <span id="token-state" class="muted" role="status"></span>
          </form>
        </header>
        <main>
          <section class="card" aria-labelledby="latest-title">
            <h2 id="latest-title">Latest value of each event</h2>
            <div class="toolbar">
              <div>
                <label for="filter">Filter events by name</label>
                <input id="filter" type="search" placeholder="name contains…" autocomplete="off">
              </div>
            </div>
            <table id="latest">
              <caption class="muted" style="text-align:left">Select a row (click, or Enter) to see its history.</caption>
              <thead><tr><th class="event" scope="col">Event</th><th class="seq" scope="col">Seq</th><th class="time" scope="col">Updated</th><th scope="col">Data</th></tr></thead>
              <tbody></tbody>
            </table>
            <p id="empty" class="muted">No events yet.</p>
          </section>
          <div class="stack">
            <section class="card" id="history" aria-labelledby="history-title" hidden>
              <div class="history-head">
                <h2 id="history-title">History</h2>
                <button type="button" class="secondary" id="history-close">Close</button>
              </div>
              <p class="muted" id="history-summary"></p>
              <ol class="timeline" id="history-list"></ol>
            </section>
            <section class="card" aria-labelledby="insert-title">
              <h2 id="insert-title">Insert an event</h2>
              <form id="insert-form" class="stack" novalidate>
                <div>
                  <label for="insert-event">Event name</label>
                  <input id="insert-event" name="event" required maxlength="256" autocomplete="off">
                </div>
                <div>
                  <label for="insert-data">Data (JSON)</label>
                  <textarea id="insert-data" name="data" spellcheck="false">{"hello": "world"}</textarea>
                </div>
                <div id="insert-error" class="error" role="alert"></div>
                <div><button type="submit" id="insert-submit">Insert</button> <span id="insert-result" class="result" role="status"></span></div>
              </form>
            </section>
          </div>
        </main>
        <script type="module">
        // The page is a client of broker.js (SPEC.md 4.15) like any other.
        // `members` gives each member's exact text, so the history's change lines keep
        // a number's digits (21.0 stays 21.0).
        import { connect as connectBroker, members } from "/broker.js";
        const rows = new Map();          // event name -> {seq, timestamp, data, row}
        const tbody = document.querySelector("#latest tbody");
        const filterInput = document.getElementById("filter");
        const stateBadge = document.getElementById("state");
        const lastSeqLabel = document.getElementById("last-seq");
        let openHistory = null;

        function setState(state) { stateBadge.dataset.state = state; stateBadge.textContent = state; }

        // The token: pasted here and kept in sessionStorage (this tab only), or none, in
        // which case the browser's broker_token cookie (if any) or public access applies.
        const tokenKey = "broker_token";
        const tokenState = document.getElementById("token-state");
        function token() { return sessionStorage.getItem(tokenKey) || ""; }
        function showTokenState(text) { tokenState.textContent = text || (token() ? "using the pasted token" : "no token pasted"); }

        function timeText(ms) { return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC"); }

        function visible(name) { return name.toLowerCase().includes(filterInput.value.trim().toLowerCase()); }

        function applyFilter() {
          let shown = 0;
          for (const [name, entry] of rows) { entry.row.hidden = !visible(name); if (!entry.row.hidden) shown++; }
          document.getElementById("empty").hidden = shown > 0;
        }

        function cell(text, className) { const td = document.createElement("td"); td.className = className; td.textContent = text; return td; }

        function upsert(record) {
          let entry = rows.get(record.event);
          if (entry && entry.seq >= record.seq) return;
          if (!entry) {
            const row = document.createElement("tr");
            row.tabIndex = 0;
            row.dataset.event = record.event;
            row.append(cell(record.event, "event"), cell("", "seq"), cell("", "time"), cell("", "data"));
            row.addEventListener("click", () => showHistory(record.event));
            row.addEventListener("keydown", rowKeys);
            entry = { row };
            rows.set(record.event, entry);
            tbody.append(row);
          }
          Object.assign(entry, { seq: record.seq, timestamp: record.timestamp, data: record.data });
          const [, seqCell, timeCell, dataCell] = entry.row.children;
          seqCell.textContent = record.seq;
          timeCell.textContent = timeText(record.timestamp);
          dataCell.textContent = record.raw;
          entry.row.classList.remove("changed");
          void entry.row.offsetWidth;     // restart the highlight animation
          entry.row.classList.add("changed");
          entry.row.hidden = !visible(record.event);
          document.getElementById("empty").hidden = [...rows.values()].some(e => !e.row.hidden);
          lastSeqLabel.textContent = Math.max(Number(lastSeqLabel.textContent), record.seq);
          if (openHistory === record.event) showHistory(record.event);
        }

        function rowKeys(event) {
          const row = event.currentTarget;
          const visibleRows = [...tbody.rows].filter(r => !r.hidden);
          const index = visibleRows.indexOf(row);
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); showHistory(row.dataset.event); }
          else if (event.key === "ArrowDown" && index < visibleRows.length - 1) { event.preventDefault(); visibleRows[index + 1].focus(); }
          else if (event.key === "ArrowUp" && index > 0) { event.preventDefault(); visibleRows[index - 1].focus(); }
        }

        /// What changed from one version to the next (their exact texts), as short lines.
        function describeChange(previous, current) {
          const before = members(previous), after = members(current);
          if (before && after) {
            const lines = [];
            for (const [key, value] of after) {
              if (!before.has(key)) lines.push(`added ${key}: ${value}`);
              else if (before.get(key) !== value) lines.push(`${key}: ${before.get(key)} → ${value}`);
            }
            for (const key of before.keys()) if (!after.has(key)) lines.push(`removed ${key}`);
            return lines.length ? lines : ["no change"];
          }
          return previous === current ? ["no change"] : [`was ${previous}`];
        }

        async function showHistory(name) {
          openHistory = name;
          const panel = document.getElementById("history");
          const list = document.getElementById("history-list");
          document.getElementById("history-title").textContent = `History of ${name}`;
          panel.hidden = false;
          let records;
          try {
            records = await live.history(name);
          } catch (error) {
            document.getElementById("history-summary").textContent = `Could not load the history: ${error.message}`;
            return;
          }
          if (openHistory !== name) return;
          document.getElementById("history-summary").textContent = `${records.length} version${records.length === 1 ? "" : "s"}, newest first`;
          list.replaceChildren();
          for (let i = records.length - 1; i >= 0; i--) {
            const record = records[i];
            const item = document.createElement("li");
            item.dataset.seq = record.seq;
            const head = document.createElement("div");
            head.className = "muted";
            head.textContent = `seq ${record.seq} · ${timeText(record.timestamp)}`;
            const data = document.createElement("pre");
            data.textContent = record.text;
            const change = document.createElement("div");
            change.className = "change";
            change.textContent = i === 0 ? "first version" : describeChange(records[i - 1].text, record.text).join("; ");
            item.append(head, data, change);
            list.append(item);
          }
        }

        document.getElementById("history-close").addEventListener("click", () => {
          openHistory = null;
          document.getElementById("history").hidden = true;
        });
        filterInput.addEventListener("input", applyFilter);

        document.getElementById("insert-form").addEventListener("submit", async (event) => {
          event.preventDefault();
          const errorBox = document.getElementById("insert-error");
          const resultBox = document.getElementById("insert-result");
          errorBox.textContent = ""; resultBox.textContent = "";
          const name = document.getElementById("insert-event").value;
          if (!name.trim()) { errorBox.textContent = "Give the event a name."; return; }
          // Checked here for a quick message, then sent as typed: 12.40 is stored as 12.40.
          const text = document.getElementById("insert-data").value;
          try { JSON.parse(text); }
          catch (error) { errorBox.textContent = `The data is not valid JSON: ${error.message}`; return; }
          try {
            const stored = await live.insertText(name, text);
            resultBox.textContent = `stored as seq ${stored.seq}`;
          } catch (error) { errorBox.textContent = error.name === "BrokerError" ? error.message : `The insert failed: ${error.message}`; }
        });

        // One stream for every name, through broker.js: it resumes after the last seq it
        // applied after any disconnect. A refused stream (401/403, or a token that
        // expired) ends it: the page then asks for a token.
        let live = null;
        function connect() {
          live?.close();
          rows.clear(); tbody.replaceChildren(); applyFilter();
          live = connectBroker(location.origin, { token: token() || undefined });
          live.on("status", (status) => {
            if (status === "live") { setState("live"); showTokenState(); }
            else if (status === "reconnecting") setState("reconnecting");
            else if (status === "refused") {
              setState("closed");
              showTokenState("the server refused the stream: paste a valid token");
              document.getElementById("token").focus();
            }
          });
          live.on("change", (name, record) => upsert({ ...record, raw: record.text }));
        }
        document.getElementById("token-form").addEventListener("submit", (event) => {
          event.preventDefault();
          const input = document.getElementById("token");
          const value = input.value.trim();
          if (value) sessionStorage.setItem(tokenKey, value);
          input.value = "";
          connect();
        });
        document.getElementById("token-forget").addEventListener("click", () => { sessionStorage.removeItem(tokenKey); connect(); });
        showTokenState();
        connect();
        </script>
        </body>
        </html>
        """#
}
