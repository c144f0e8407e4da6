// The live stream of rules and alerts: with EventSource, or with fetch when reads need
// the API token.
"use strict";

const streamHandlers = {
  rules: (data) => renderRules(parseJSON(data)),
  alerts: (data) => addAlerts(parseJSON(data), false),
  alert: (data) => addAlerts([parseJSON(data)], true),
};

let streamAbort = null;
let eventSource = null;

// connect opens the live stream. When reads need the token, it is read with fetch,
// since EventSource cannot send the Authorization header; otherwise with EventSource.
function connect() {
  if (streamAbort) streamAbort.abort(); // a new token: start over with it
  streamAbort = null;
  if (eventSource) eventSource.close();
  eventSource = null;
  if (state.info && state.info.read_token_required) {
    const abort = new AbortController();
    streamAbort = abort;
    streamLoop(abort.signal);
    return;
  }
  const es = new EventSource(API + "/stream");
  eventSource = es;
  const conn = $("#conn");
  es.onopen = () => { conn.className = "conn on"; conn.textContent = "live"; };
  es.onerror = () => {
    conn.className = "conn off";
    conn.textContent = "reconnecting…";
    // EventSource gives up for good on an answer other than 200 (the daemon's 503 when
    // it has as many streams as it serves): try again later ourselves.
    if (es.readyState === EventSource.CLOSED && eventSource === es) setTimeout(() => { if (eventSource === es) connect(); }, 5000);
  };
  for (const [name, handle] of Object.entries(streamHandlers)) es.addEventListener(name, (ev) => handle(ev.data));
}

// streamLoop reads the stream with fetch and reconnects as EventSource would: after
// the server's retry delay, or its Retry-After when it is busy.
async function streamLoop(signal) {
  const conn = $("#conn");
  let retry = 2000;
  while (!signal.aborted) {
    let wait = retry;
    try {
      const resp = await fetch(API + "/stream", { headers: authHeaders(), signal, cache: "no-store" });
      if (resp.status === 401) {
        conn.className = "conn off";
        conn.textContent = "API token needed";
        $("#auth").hidden = false;
        return; // a new token reconnects (init's change listener)
      }
      if (!resp.ok) {
        wait = Math.max(retry, 1000 * (Number(resp.headers.get("Retry-After")) || 0));
        throw new Error("HTTP " + resp.status);
      }
      conn.className = "conn on";
      conn.textContent = "live";
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue; // a comment: keep-alive
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "event") event = val;
            else if (field === "data") data.push(val);
            else if (field === "retry" && /^\d+$/.test(val)) retry = Number(val);
          }
          if (data.length && streamHandlers[event]) streamHandlers[event](data.join("\n"));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    conn.className = "conn off";
    conn.textContent = "reconnecting…";
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function loadInfo() {
  const { status, data } = await api("GET", "/info");
  if (status !== 200) return;
  state.info = data;
  $("#policy").textContent = `${data.listen_addr} · ${data.write_policy}` +
    (data.read_token_required ? " · reads need the token too" : "");
  $("#auth").hidden = !data.token_required;
}
