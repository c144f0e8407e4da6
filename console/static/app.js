// Hindsight rule console. Everything here goes through the HTTP API documented in
// console/API.md; nothing is loaded from anywhere else.
"use strict";

const API = "/v1/console";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// el builds an element; children are nodes or text (never parsed as HTML).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// KEPT_FIELDS are rule fields the editor shows no input for: a loaded rule keeps them
// as they were when saved again.
const KEPT_FIELDS = ["limits", "backfill", "alert"]; // alert.severity has an input (draft)

const state = {
  info: null,
  rules: [],
  alerts: [], // newest first
  alertIDs: new Set(), // alertKey of each shown
  deliveries: new Map(), // alertKey → delivery states (GET /deliveries)
  touched: new Set(),
  showAll: false, // after a preview or save attempt, show every problem
  validateSeq: 0,
  editing: null, // key of the rule loaded into the editor
  kept: {}, // the loaded rule's fields the editor has no inputs for (limits, backfill, alert): kept as they are
};

// ---------- API ----------

function authHeaders() {
  const t = $("#token").value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

async function api(method, path, body) {
  const opts = { method, headers: { ...authHeaders() } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(API + path, opts);
  let data = null;
  try { data = await resp.json(); } catch (e) { data = { error: "the daemon answered " + resp.status + " without JSON" }; }
  return { status: resp.status, data };
}

// ---------- the draft rule ----------

// scalar reads what a user typed as a JSON value when it is one (5, true, "x"), and as
// a string otherwise (login.failed).
function scalar(text) {
  const t = text.trim();
  if (t === "") return "";
  try {
    const v = JSON.parse(t);
    if (v === null || ["number", "boolean", "string"].includes(typeof v) || Array.isArray(v) || typeof v === "object") return v;
  } catch (e) { /* a bare string */ }
  return t;
}

function valueOf(op, text) {
  if (op === "exists") return undefined;
  if (op === "matches") return text;
  if (op === "in") {
    const t = text.trim();
    if (t.startsWith("[")) { try { return JSON.parse(t); } catch (e) { return t; } }
    return t === "" ? [] : t.split(",").map(scalar);
  }
  return scalar(text);
}

function describeValue(op, text) {
  if (op === "exists") return "true when the path selects anything";
  const v = valueOf(op, text);
  if (text.trim() === "") return "";
  const kind = (x) => Array.isArray(x) ? "list" : x === null ? "null" : typeof x;
  if (op === "in" && Array.isArray(v)) return "one of " + v.map((x) => JSON.stringify(x)).join(", ");
  return kind(v) + " " + JSON.stringify(v);
}

// textOf shows a rule's value the way scalar would read it back.
function textOf(v) {
  if (typeof v === "string") {
    const back = scalar(v);
    return back === v ? v : JSON.stringify(v);
  }
  return JSON.stringify(v);
}

// splitPaths splits a list of JSONPaths at the commas between them, not those inside
// brackets, parentheses or quotes ($['a','b'], filters).
function splitPaths(text) {
  const out = [];
  let depth = 0, quote = "", cur = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      cur += ch;
      if (ch === "\\" && i + 1 < text.length) cur += text[++i];
      else if (ch === quote) quote = "";
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "[" || ch === "(") depth++;
    else if (ch === "]" || ch === ")") depth = Math.max(0, depth - 1);
    else if (ch === "," && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// thresholdText shows a threshold as people write it: a bare number means ">=".
function thresholdText(t) {
  if (t === null || t === undefined) return "";
  if (typeof t === "number") return "≥ " + t;
  const ops = { ">=": "≥", "<=": "≤", "==": "=" };
  return (ops[t.op] || t.op) + " " + t.value;
}

// fmtNum shows an aggregate without float noise (0.30000000000000004).
function fmtNum(v) { return typeof v === "number" ? String(+v.toPrecision(12)) : String(v); }

function plural(k, word) { return `${k} ${word}${k === 1 ? "" : "s"}`; }

// groupText shows a window's group, one "path = value" line per group_by path.
function groupText(group) {
  return group ? Object.entries(group).map(([path, v]) => el("div", {}, `${path} = ${JSON.stringify(v)}`)) : "—";
}

// updateAggregation says in words what the rule aggregates, next to the threshold and
// on the folded aggregation section.
function updateAggregation() {
  const fn = $("#agg-fn").value, path = $("#agg-path").value.trim();
  const by = splitPaths($("#group-by").value);
  const size = $("#window-size").value.trim(), every = $("#window-every").value.trim();
  let text = fn === "count" ? "count" : fn + (path ? " of " + path : "");
  if (by.length) text += " per " + by.join(", ");
  if (size) text += ` in ${size} windows` + (every && every !== size ? ` every ${every}` : "");
  $("#threshold-what").textContent = text;
  const plain = fn === "count" && !path && !by.length && !size && !every && !$("#time-path").value.trim() && !$("#lateness").value.trim();
  $("#aggregation-summary").textContent = plain ? "— none: one running count per customer" : "— " + text;
}

function conditionRows() { return $$("#conditions .cond"); }

function addCondition(c) {
  const node = $("#cond-template").content.firstElementChild.cloneNode(true);
  $("#conditions").append(node);
  const path = $(".cond-path", node), op = $(".cond-op", node), val = $(".cond-value", node);
  if (c) {
    path.value = c.path || "";
    op.value = c.op || "exists";
    if (c.value !== undefined) val.value = (c.op === "in" && Array.isArray(c.value)) ? c.value.map(textOf).join(", ") : textOf(c.value);
  }
  const sync = () => {
    val.disabled = op.value === "exists";
    if (val.disabled) val.value = "";
    $(".cond-hint", node).textContent = describeValue(op.value, val.value);
  };
  op.addEventListener("change", () => { sync(); changed(); });
  val.addEventListener("input", sync);
  $(".cond-remove", node).addEventListener("click", () => {
    if (conditionRows().length > 1) { node.remove(); changed(); }
  });
  sync();
  return node;
}

function draft() {
  const r = {};
  const id = $("#rule-id").value.trim();
  if (id) r.id = id;
  r.scope = $("#scope-global").checked ? "*" : $("#scope-value").value.trim();
  const name = $("#rule-name").value.trim();
  if (name) r.name = name;
  const desc = $("#rule-description").value.trim();
  if (desc) r.description = desc;
  const conds = conditionRows().map((row) => {
    const op = $(".cond-op", row).value;
    const c = { path: $(".cond-path", row).value, op };
    const v = valueOf(op, $(".cond-value", row).value);
    if (v !== undefined) c.value = v;
    return c;
  });
  r.when = conds.length === 1 ? conds[0] : { [$("#combinator").value]: conds };
  const fn = $("#agg-fn").value, aggPath = $("#agg-path").value.trim();
  if (fn !== "count" || aggPath) r.aggregate = aggPath ? { fn, path: aggPath } : { fn };
  const by = splitPaths($("#group-by").value);
  if (by.length) r.group_by = by;
  const size = $("#window-size").value.trim(), every = $("#window-every").value.trim();
  if (size || every) {
    r.window = { size };
    if (every) r.window.every = every;
  }
  const tp = $("#time-path").value.trim();
  if (tp) r.time = tp;
  const late = $("#lateness").value.trim();
  if (late) r.lateness = late;
  const th = $("#threshold").value.trim(), op = $("#threshold-op").value;
  if (th !== "") r.threshold = op === ">=" ? Number(th) : { op, value: Number(th) };
  for (const [k, v] of Object.entries(state.kept)) r[k] = v;
  // Severity has an input; the rest of alert (context) is kept as it was.
  const alert = { ...(r.alert || {}) };
  delete alert.severity;
  const sev = $("#severity").value;
  if (sev !== "medium") alert.severity = sev;
  if (Object.keys(alert).length) r.alert = alert;
  else delete r.alert;
  const lb = $("#lookback").value.trim();
  if (lb) r.lookback = lb;
  const ver = $("#version").value.trim();
  if (ver !== "") r.version = Number(ver);
  return r;
}

// ---------- problems, positioned ----------

// charIndex turns a 1-based byte column (the engine's) into a string index.
function charIndex(text, column) {
  const enc = new TextEncoder();
  let bytes = 0, i = 0;
  for (const ch of text) {
    if (bytes >= column - 1) return i;
    bytes += enc.encode(ch).length;
    i += ch.length;
  }
  return text.length;
}

function pointAt(text, column) {
  const i = charIndex(text, column);
  return el("code", {}, text.slice(0, i), el("mark", {}, text.slice(i, i + 1) || " "), text.slice(i + 1));
}

function clearProblems() {
  $$("[data-err]").forEach((e) => e.replaceChildren());
  $$(".cond-err").forEach((e) => e.replaceChildren());
  $$("#editor input").forEach((e) => e.classList.remove("bad"));
}

// showProblems puts each problem under the input it is about. Problems of fields the
// user has not touched yet wait until a preview or save.
function showProblems(problems) {
  clearProblems();
  const rows = conditionRows();
  let shown = 0;
  for (const p of problems) {
    let m = /^when\.(?:(?:all|any)\[(\d+)\]\.)?(path|op|value)$/.exec(p.field);
    if (m && rows.length > 1 && m[1] === undefined) m = null; // a leaf "when" with several rows cannot happen
    if (m) {
      const row = rows[m[1] === undefined ? 0 : Number(m[1])];
      if (!row) continue;
      const input = $(m[2] === "path" ? ".cond-path" : m[2] === "op" ? ".cond-op" : ".cond-value", row);
      const key = "cond:" + rows.indexOf(row) + ":" + m[2];
      if (!state.showAll && !state.touched.has(key)) continue;
      input.classList.add("bad");
      const msg = el("div", {}, m[2] + ": ");
      if (p.column && m[2] === "path") msg.append(pointAt(input.value, p.column), " column " + p.column + ": ");
      msg.append(p.message);
      $(".cond-err", row).append(msg);
      shown++;
      continue;
    }
    const top = p.field.split(/[.[]/)[0];
    const target = $(`[data-err="${top}"]`) || $('[data-err="rule"]');
    const input = $(`[data-field="${top}"]`);
    if (!state.showAll && !state.touched.has(top)) continue;
    if (input) input.classList.add("bad");
    if (target.closest("#aggregation")) $("#aggregation").open = true; // else the problem is hidden
    target.append(el("div", {}, (p.field && p.field !== "rule" ? p.field + ": " : "") + p.message));
    shown++;
  }
  return shown;
}

let validateTimer = null;
function changed() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 150);
}

async function validate() {
  const seq = ++state.validateSeq;
  const { status, data } = await api("POST", "/validate", { rule: draft() });
  if (seq !== state.validateSeq) return; // a newer draft is on its way
  const v = $("#validity");
  if (status !== 200) { v.className = "validity bad"; v.textContent = data.error || "validation failed"; return; }
  showProblems(data.problems || []);
  if (data.valid) { v.className = "validity ok"; v.textContent = "✓ valid rule"; }
  else { v.className = "validity bad"; v.textContent = data.problems.length + (data.problems.length === 1 ? " problem" : " problems"); }
  return data;
}

// ---------- preview and save ----------

function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? t : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// failed shows in box why a draft's request did not answer 200 — the rule's problems
// (422, also marked on the fields), or the error under title — and says whether it did.
function failed(box, status, data, title) {
  if (status === 200) return false;
  box.className = "result bad";
  if (status === 422) {
    showProblems(data.problems || []);
    box.replaceChildren(el("h3", {}, "Fix the rule first"), el("div", {}, data.error));
  } else {
    box.replaceChildren(el("h3", {}, title), el("div", {}, data.error));
  }
  return true;
}

async function preview() {
  state.showAll = true;
  const box = $("#preview");
  box.hidden = false;
  box.className = "result";
  box.replaceChildren(el("div", {}, "Evaluating the draft over recent events…"));
  const { status, data } = await api("POST", "/preview", { rule: draft() });
  if (failed(box, status, data, "Preview failed")) return;
  const s = data.sample;
  const parts = [
    el("h3", {}, `Preview: ${data.matches} of ${s.events} recent events match`),
    el("div", { class: "sub" }, s.events ? `Sampled the ${s.events} most recent archived events of this scope (${fmtTime(s.from)} … ${fmtTime(s.to)}, ${s.files} files; the lake holds ${s.lake_events}).` : ""),
  ];
  if (data.note) parts.push(el("div", { class: "note" }, data.note));
  if (data.truncated) parts.push(el("div", { class: "note", id: "preview-truncated" }, "Partial preview: " + data.truncated_reason));
  const th = thresholdText(data.threshold);
  const n = data.would_alert.length;
  if (data.plain === false) {
    // Groups, windows or an aggregate: the daemon replayed the sample as live would and
    // lists each window that would have fired.
    const fired = data.would_fire_total;
    parts.push(el("p", { class: "would", id: "would-alert" }, n
      ? `Would alert for ${plural(n, "customer")} (${plural(fired, "window")} at threshold ${th}): ${data.would_alert.join(", ")}`
      : `No window reaches the threshold ${th} in this sample.`));
    if (data.would_fire.length) parts.push(wouldFireTable(data));
    if (fired > data.would_fire.length) parts.push(el("div", { class: "sub" }, `The newest ${data.would_fire.length} of ${fired} are listed.`));
    const ws = data.window_stats;
    const dropped = [];
    if (ws && ws.late) dropped.push(`${plural(ws.late, "late event")} (below their partition's watermark)`);
    if (ws && ws.time_errors) dropped.push(`${plural(ws.time_errors, "event")} without a usable event time`);
    if (dropped.length) parts.push(el("div", { class: "sub", id: "preview-window-stats" }, `As live, ${dropped.join(" and ")} did not count.`));
    if (ws && ws.degraded) parts.push(el("div", { class: "note" }, "Lower bounds: " + ws.degraded));
  } else if (n) {
    parts.push(el("p", { class: "would", id: "would-alert" }, `Would alert for ${plural(n, "customer")} at threshold ${th}: ${data.would_alert.join(", ")}`));
  } else {
    parts.push(el("p", { class: "would", id: "would-alert" }, `No customer reaches the threshold ${th} in this sample.`));
  }
  if (data.customers.length) {
    parts.push(el("table", { id: "preview-customers" },
      el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Matches"), el("th", {}, "Would alert"))),
      el("tbody", {}, data.customers.map((c) => el("tr", {},
        el("td", { class: "mono" }, c.customer), el("td", {}, c.matches), el("td", {}, c.would_alert ? "yes" : "—"))))));
  }
  if (data.examples.length) {
    parts.push(el("div", { class: "sub" }, "Most recent matching events:"));
    parts.push(el("ol", { class: "examples" }, data.examples.slice(0, 5).map((e) =>
      el("li", {}, `${e.customer} · p${e.partition}@${e.offset} · ${fmtTime(e.event_time)} `, el("code", {}, e.payload)))));
  }
  box.className = "result " + (data.would_alert.length ? "warn" : "ok");
  box.replaceChildren(...parts);
}

// ---------- backtest ----------

const DAY = 86400;
let backtestChart = null; // the uPlot instance shown, destroyed before the next

// backtest asks how often the draft would have fired over the lake's history (the
// days chosen), as live would have raised it, and charts the firings per day.
async function backtest() {
  state.showAll = true;
  const box = $("#backtest");
  box.hidden = false;
  box.className = "result";
  if (backtestChart) { backtestChart.destroy(); backtestChart = null; }
  const days = Number($("#backtest-days").value);
  box.replaceChildren(el("div", {}, "Running the draft over the lake's history…"));
  const { status, data } = await api("POST", "/backtest", { rule: draft(), days });
  if (failed(box, status, data, "Backtest failed")) return;
  const r = data.rules[0];
  const span = days ? `the last ${plural(days, "day")}` : "the whole lake";
  const parts = [
    el("h3", { id: "backtest-summary" }, r.firings
      ? `Would have fired ${plural(r.firings, "time")} over ${span}`
      : `Would not have fired over ${span}`),
    el("div", { class: "sub" }, `${data.events} events read (${data.files} files, ${data.tail_records} from Kafka), ${r.matches} ${r.matches === 1 ? "match" : "matches"}` +
      (r.firings ? `; first ${fmtTime(r.first_firing)}, last ${fmtTime(r.last_firing)}.` : ".")),
  ];
  if (r.degraded) parts.push(el("div", { class: "note" }, "Lower bounds: " + r.degraded));
  if (data.missing && data.missing.length) parts.push(missingNote(data.missing));
  if (r.late || r.time_errors) parts.push(el("div", { class: "sub" }, `As live, ${plural(r.late, "late event")} and ${plural(r.time_errors, "event")} without a usable time did not count.`));
  const chart = el("div", { id: "backtest-chart" });
  if (r.firings) parts.push(chart);
  if (r.customers.length) {
    parts.push(el("table", { id: "backtest-customers" },
      el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Firings"))),
      el("tbody", {}, r.customers.map((c) => el("tr", {}, el("td", { class: "mono" }, c.key), el("td", {}, c.firings))))));
  }
  box.className = "result " + (r.firings ? "warn" : "ok");
  box.replaceChildren(...parts);
  if (r.firings) backtestChart = firingsChart(chart, r.per_day);
}

// firingsChart draws firings per UTC day as bars, every day from the first to the
// last shown (days without firings at zero).
function firingsChart(root, perDay) {
  const byDay = new Map(perDay.map((c) => [Date.parse(c.key + "T00:00:00Z") / 1000, c.firings]));
  const first = Math.min(...byDay.keys()), last = Math.max(...byDay.keys());
  const xs = [], ys = [];
  for (let d = first; d <= last; d += DAY) { xs.push(d); ys.push(byDay.get(d) || 0); }
  const width = Math.max(320, root.parentElement.clientWidth - 24);
  return new uPlot({
    width, height: 180, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - DAY / 2, max + DAY / 2] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    // One tick per day at most, labelled by its UTC date.
    axes: [{ space: 50, incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 365 * DAY],
      values: (u, ticks) => ticks.map((v) => new Date(v * 1000).toISOString().slice(0, 10)) }, { label: "firings", size: 50 }],
    legend: { show: false },
    series: [{}, { label: "firings per day", stroke: "#b45309", fill: "rgba(180,83,9,0.35)", paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
  }, [xs, ys], root);
}

// windowText shows [start, end), the end's date only when it differs from the start's.
function windowText(start, end) {
  const s = fmtTime(start), e = fmtTime(end);
  return s.slice(0, 10) === e.slice(0, 10) ? `${s} – ${e.slice(11)}` : `${s} – ${e}`;
}

// wouldFireTable lists the windows a preview says would have fired, one row each.
function wouldFireTable(data) {
  return el("table", { id: "preview-windows" },
    el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Group"), el("th", {}, "Window"), el("th", {}, "Value"))),
    el("tbody", {}, data.would_fire.map((w) => el("tr", { "data-alert": w.alert_id },
      el("td", { class: "mono" }, w.customer),
      el("td", { class: "mono" }, groupText(w.group)),
      el("td", {},
        w.window_start ? windowText(w.window_start, w.window_end) : "running total",
        el("div", { class: "sub" }, `crossed at p${w.partition}@${w.offset} · ${fmtTime(w.event_time)}`)),
      el("td", {}, `${w.aggregate} ${fmtNum(w.value)}`, el("div", { class: "sub" }, `${w.count} event${w.count === 1 ? "" : "s"}`))))));
}

const statusText = {
  ok: "Saved: the daemon applied it",
  unchanged: "Unchanged",
  invalid: "Rejected: the rule is invalid",
  stale: "Not applied: stale version",
  not_found: "Not found",
  pending: "Published, not confirmed yet",
};

function showSave(status, data) {
  const box = $("#save-result");
  box.hidden = false;
  if (status === 401 || status === 403) {
    $("#auth").hidden = false;
    box.className = "result bad";
    box.replaceChildren(el("h3", {}, status === 401 ? "API token needed" : "Writes are not allowed"), el("div", {}, data.error));
    return;
  }
  if (!data.status) {
    box.className = "result bad";
    box.replaceChildren(el("h3", {}, "Save failed"), el("div", {}, data.error || "HTTP " + status));
    return;
  }
  box.className = "result " + (data.status === "ok" || data.status === "unchanged" ? "ok" : data.status === "pending" ? "warn" : "bad");
  const lines = [el("h3", { id: "save-status", "data-status": data.status }, `${statusText[data.status] || data.status} (status ${data.status})`)];
  const where = data.offset >= 0 ? ` at controls offset ${data.offset}` : "";
  lines.push(el("div", {}, `${data.op} ${data.key}${data.version ? " version " + data.version : ""}${where}`));
  if (data.message) lines.push(el("div", {}, data.message));
  if (data.problems && data.problems.length) {
    lines.push(el("ul", {}, data.problems.map((p) => el("li", {}, `${p.field}${p.column ? " column " + p.column : ""}: ${p.message}`))));
    showProblems(data.problems);
  }
  box.replaceChildren(...lines);
}

async function save() {
  state.showAll = true;
  const btn = $("#btn-save");
  btn.disabled = true;
  try {
    const { status, data } = await api("POST", "/rules", { rule: draft() });
    showSave(status, data);
    if (data.status === "ok") {
      state.editing = data.key;
      $("#version").value = "";
      $("#editor-title").textContent = `Edit rule ${data.key} (active version ${data.version})`;
    }
  } finally {
    btn.disabled = false;
  }
}

async function remove(r) {
  if (!confirm(`Delete rule ${r.scope}/${r.id}? Its counts are dropped.`)) return;
  const q = `?scope=${encodeURIComponent(r.scope)}&id=${encodeURIComponent(r.id)}`;
  const { status, data } = await api("DELETE", "/rules" + q);
  showSave(status, data);
}

function resetEditor() {
  state.editing = null;
  state.touched.clear();
  state.showAll = false;
  $("#editor").reset();
  state.kept = {};
  $("#aggregation").open = false;
  updateAggregation();
  $("#conditions").replaceChildren();
  addCondition({ path: "", op: "==" });
  $("#nested-note").hidden = true;
  $("#editor-title").textContent = "New rule";
  $("#preview").hidden = true;
  $("#backtest").hidden = true;
  $("#save-result").hidden = true;
  clearProblems();
  $("#validity").textContent = "";
}

function edit(r) {
  resetEditor();
  const rl = r.rule;
  $("#rule-id").value = rl.id;
  $("#rule-name").value = rl.name || "";
  $("#rule-description").value = rl.description || "";
  if (rl.scope === "*") $("#scope-global").checked = true;
  else { $("#scope-customer").checked = true; $("#scope-value").value = rl.scope; }
  const t = rl.threshold;
  $("#threshold-op").value = typeof t === "number" ? ">=" : t.op;
  $("#threshold").value = typeof t === "number" ? t : t.value;
  $("#lookback").value = rl.lookback || "";
  const agg = rl.aggregate || {};
  $("#agg-fn").value = agg.fn || "count";
  $("#agg-path").value = agg.path || "";
  $("#group-by").value = (rl.group_by || []).join(", ");
  const win = rl.window;
  $("#window-size").value = win ? win.size : "";
  $("#window-every").value = win && win.every !== win.size ? win.every : ""; // tumbling: every is the size
  $("#time-path").value = rl.time || "";
  $("#lateness").value = rl.lateness || "";
  $("#severity").value = (rl.alert && rl.alert.severity) || "medium";
  state.kept = {};
  for (const k of KEPT_FIELDS) if (rl[k]) state.kept[k] = rl[k];
  updateAggregation();
  $("#aggregation").open = !!(agg.path || (agg.fn && agg.fn !== "count") || rl.group_by || win || rl.time || rl.lateness);
  const w = rl.when;
  const isLeaf = (c) => c && !c.all && !c.any && !c.not;
  $("#conditions").replaceChildren();
  if (isLeaf(w)) addCondition(w);
  else if ((w.all || w.any) && (w.all || w.any).every(isLeaf)) {
    $("#combinator").value = w.all ? "all" : "any";
    (w.all || w.any).forEach(addCondition);
  } else {
    addCondition({ path: "", op: "exists" });
    const note = $("#nested-note");
    note.hidden = false;
    note.textContent = "This rule nests conditions (" + JSON.stringify(w) + "), which the builder cannot show; rewrite them here or use `hindsight rules apply`.";
  }
  $("#editor-title").textContent = `Edit rule ${r.scope}/${r.id} (active version ${r.version})`;
  state.editing = r.scope + "/" + r.id;
  changed();
  window.scrollTo({ top: 0, behavior: "smooth" });
}

// ---------- rules and alerts, live ----------

function scopeText(s) { return s === "*" ? "every customer" : s; }

// sparkHistory keeps, per rule, what its counts summary said each time the rules came
// (events counted for a plain count, customers with open windows otherwise), for its
// sparkline: the last SPARK_POINTS samples.
const SPARK_POINTS = 120;
const sparkHistory = new Map();
let sparks = []; // the uPlot instances drawn, destroyed before the next

function recordSpark(r) {
  const key = r.scope + "/" + r.id + "@" + r.version;
  const h = sparkHistory.get(key) || [[], []];
  h[0].push(Date.now() / 1000);
  h[1].push(r.plain ? (r.counts.total || 0) : (r.counts.customers || 0));
  if (h[0].length > SPARK_POINTS) { h[0].shift(); h[1].shift(); }
  sparkHistory.set(key, h);
  return h;
}

function drawSpark(root, h) {
  return new uPlot({
    width: 120, height: 32, pxAlign: false, cursor: { show: false }, legend: { show: false },
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: "#2563eb", fill: "rgba(37,99,235,0.15)", width: 1.5, points: { show: h[0].length === 1 } }],
  }, h, root);
}

function renderRules(data) {
  state.rules = data.rules;
  for (const u of sparks) u.destroy();
  sparks = [];
  const spark = [];
  const tbody = $("#rules tbody");
  tbody.replaceChildren(...data.rules.map((r) => {
    const st = el("td", {}, el("span", { class: "badge " + r.state }, r.state));
    if (r.state !== r.status) st.append(" ", el("span", { class: "sub" }, "(" + r.status + ")"));
    if (r.progress) {
      const p = r.progress;
      st.append(el("div", { class: "sub" }, p.files_total ? `${p.files_done}/${p.files_total} files, ${p.rows} rows` : `${p.rows} rows, ${p.tail_records} from Kafka`));
      if (p.percent >= 0) st.append(el("div", { class: "progress" }, el("div", { style: `width:${Math.round(p.percent)}%` })));
    }
    const errs = [r.last_error, ...(r.backfill || []).map((b) => b.last_error)].filter(Boolean);
    if (errs.length) st.append(el("div", { class: "err" }, errs[0]));
    st.append(...historyNotes(r));
    const c = r.counts;
    // A count reaches a bare-number threshold only when the count is what the rule
    // compares: a plain count, or count per group and window (not a sum, say).
    const fn = (r.rule && r.rule.aggregate && r.rule.aggregate.fn) || "count";
    const reaches = (n) => typeof r.threshold === "number" && fn === "count" && n >= r.threshold;
    let summary;
    if (r.plain) summary = c.customers ? `${plural(c.customers, "customer")}, ${c.total} events` : "nothing counted yet";
    else summary = c.customers ? `${plural(c.customers, "customer")} with open windows; largest window's count:` : "no open window";
    const sparkCell = el("div", { class: "spark", title: r.plain ? "events counted, over time" : "customers with open windows, over time" });
    spark.push([sparkCell, recordSpark(r)]);
    const counts = el("td", { class: "tops" },
      sparkCell,
      el("div", { class: "sub" }, summary),
      c.top.map((t) => el("span", { class: reaches(t.count) ? "would" : "" }, t.customer + ": ", el("b", {}, t.count))),
      r.plain ? null : el("div", {}, el("button", { type: "button", class: "small", "data-windows": r.scope + "/" + r.id, onclick: () => openWindows(r) }, "Open windows")));
    return el("tr", { "data-key": r.scope + "/" + r.id },
      el("td", {}, el("div", { class: "mono" }, r.id), el("div", { class: "sub" }, (r.name ? r.name + " · " : "") + "v" + r.version)),
      el("td", {}, scopeText(r.scope)),
      el("td", {}, typeof r.threshold === "number" ? r.threshold : thresholdText(r.threshold)),
      st,
      counts,
      el("td", {},
        el("button", { type: "button", class: "small", onclick: () => edit(r) }, "Edit"), " ",
        el("button", { type: "button", class: "small ghost", onclick: () => remove(r) }, "Delete")));
  }));
  $("#rules-empty").hidden = data.rules.length > 0;
  for (const [cell, h] of spark) sparks.push(drawSpark(cell, h));
  const inv = $("#invalid");
  inv.hidden = !data.invalid.length;
  $("ul", inv).replaceChildren(...data.invalid.slice(-10).reverse().map((ic) =>
    el("li", {}, `${ic.key} (controls offset ${ic.offset}): ${ic.error}`)));
}

// ---------- open windows ----------

// windowsView is the rule whose open windows the windows panel shows. cursors are the
// cursors of the pages seen so far (the first page's is ""), so that Previous goes
// back; limit is the customers per page.
const windowsView = { rule: null, fn: "count", cursors: [""], next: "", limit: 20, seq: 0 };

function openWindows(r) {
  windowsView.rule = { scope: r.scope, id: r.id };
  windowsView.fn = (r.rule && r.rule.aggregate && r.rule.aggregate.fn) || "count";
  windowsView.cursors = [""];
  $("#windows-rule").textContent = r.scope + "/" + r.id;
  $("#windows tbody").replaceChildren();
  const panel = $("#windows-panel");
  panel.hidden = false;
  loadWindows();
  panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// loadWindows asks for the page of the last cursor in windowsView.cursors.
async function loadWindows() {
  const v = windowsView, seq = ++v.seq;
  const cursor = v.cursors[v.cursors.length - 1];
  const q = `?scope=${encodeURIComponent(v.rule.scope)}&id=${encodeURIComponent(v.rule.id)}&limit=${v.limit}` +
    (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
  const st = $("#windows-status");
  st.className = "empty";
  st.textContent = "Loading…";
  $("#windows-prev").disabled = $("#windows-next").disabled = true;
  const { status, data } = await api("GET", "/windows" + q);
  if (seq !== v.seq) return; // another page or rule was asked for meanwhile
  if (status !== 200) {
    if (status === 401) $("#auth").hidden = false;
    st.className = "err";
    st.textContent = data.error || "HTTP " + status;
    $("#windows-prev").disabled = v.cursors.length < 2;
    return;
  }
  v.next = data.next_cursor;
  renderWindows(data);
}

// windowCharts are the charts of the windows panel's page: per customer and group, its
// open windows' values (the aggregate's, else the count) by window start.
let windowCharts = [];

// renderWindows lists a page: a line per customer, then its windows, the group shown
// once for its windows (the daemon sorts them by group, then start), with a chart of
// the group's windows over time.
function renderWindows(data) {
  const v = windowsView, rows = [];
  for (const w of windowCharts) w.plot.destroy();
  windowCharts = [];
  const charts = [];
  for (const c of data.counts) {
    const ws = c.windows || [], total = c.windows_total || 0;
    const line = el("td", { colspan: 5 }, el("span", { class: "mono" }, c.customer),
      el("span", { class: "sub" }, ` · largest window count ${c.count} · ${plural(total, "open window")}` +
        (ws.length < total ? `, the first ${ws.length} listed` : "")));
    if (c.status !== "live") line.append(" ", el("span", { class: "badge " + c.status }, c.status));
    rows.push(el("tr", { class: "customer", "data-customer": c.customer }, line));
    for (let i = 0; i < ws.length;) {
      const g = JSON.stringify(ws[i].group);
      let j = i + 1;
      while (j < ws.length && JSON.stringify(ws[j].group) === g) j++;
      for (let k = i; k < j; k++) {
        const w = ws[k];
        const tr = el("tr", { class: "window", "data-customer": c.customer });
        if (k === i) {
          const cell = el("td", { class: "mono", rowspan: j - i }, groupText(w.group));
          const timed = ws.slice(i, j).filter((x) => x.window_start);
          if (timed.length) {
            const chart = el("div", { class: "spark", title: (v.fn === "count" ? "count" : v.fn) + " per window, by window start" });
            cell.append(chart);
            const figure = (x) => (x.value === null || x.value === undefined ? x.count : x.value);
            charts.push({ customer: c.customer, group: w.group, root: chart,
              data: [timed.map((x) => Date.parse(x.window_start) / 1000), timed.map(figure)] });
          }
          tr.append(cell);
        }
        tr.append(
          el("td", { class: "when" }, w.window_start ? windowText(w.window_start, w.window_end) : "running total"),
          el("td", {}, w.count),
          el("td", {}, w.value === null || w.value === undefined ? "—" : `${v.fn} ${fmtNum(w.value)}`),
          el("td", {}, w.alerted ? el("span", { class: "badge alerted" }, "alerted") : "—"));
        rows.push(tr);
      }
      i = j;
    }
  }
  $("#windows tbody").replaceChildren(...rows);
  for (const ch of charts) windowCharts.push({ customer: ch.customer, group: ch.group, data: ch.data, plot: drawSpark(ch.root, ch.data) });
  const st = $("#windows-status");
  st.className = "empty";
  st.textContent = data.counts.length ? "" : v.cursors.length > 1 ? "No more customers." : "No customer has an open window.";
  const first = (v.cursors.length - 1) * v.limit;
  $("#windows-page").textContent = data.counts.length ? `customers ${first + 1}–${first + data.counts.length}` : "";
  $("#windows-prev").disabled = v.cursors.length < 2;
  $("#windows-next").disabled = !v.next;
}

// alertFigure is what crossed the threshold: a count, or an aggregate's value.
function alertFigure(a) {
  if (typeof a.threshold === "number" && (!a.aggregate || a.aggregate === "count")) return `${a.count} ≥ ${a.threshold}`;
  return `${a.aggregate} ${fmtNum(a.value)} ${thresholdText(a.threshold)}`;
}

// valuesText shows a path → JSON value map (an alert's group or context) on one line.
function valuesText(m) {
  return Object.keys(m).sort().map((k) => `${k}=${JSON.stringify(m[k])}`).join(", ");
}

// alertKey names one alert record: a resolved record shares its firing alert's id.
function alertKey(a) { return a.alert_id + ":" + (a.status || "firing"); }

// deliveryCell shows an alert's state at each destination its rule notifies.
function deliveryCell(a) {
  const d = state.deliveries.get(alertKey(a));
  if (d && d.destinations) {
    return el("td", { class: "delivery" }, d.destinations.map((s) => el("div", {},
      el("span", { class: "badge dlv-" + s.state, title: s.reason || "" }, s.state), " ", el("span", { class: "mono" }, s.name),
      s.attempts > 1 ? el("span", { class: "sub" }, ` ×${s.attempts}`) : null)));
  }
  if (a.muted) return el("td", { class: "delivery" }, el("span", { class: "badge dlv-muted" }, "muted"));
  return el("td", { class: "delivery sub" }, a.notify && a.notify.length ? a.notify.join(", ") : "—");
}

// missingNote says which offsets a backtest could not count (contract.MissingRange):
// their events may belong to it, so its figures are lower bounds.
function missingNote(missing) {
  return el("div", { class: "note", id: "backtest-missing" }, "Not counted, held by neither the lake nor Kafka: " +
    missing.map(rangeText).join("; ") + ".");
}

// rangeText is a contract.MissingRange in words.
function rangeText(m) { return `partition ${m.partition} offsets ${m.from}–${m.to} (${m.reason})`; }

// historyNotes says what a rule's counted history lacks: offsets neither the lake nor
// Kafka held (incomplete: its counts are lower bounds), and where retention had cut it.
function historyNotes(r) {
  const out = [];
  if (r.incomplete && r.incomplete.length) out.push(el("div", { class: "err" }, "History incomplete, counts are lower bounds: " + r.incomplete.map(rangeText).join("; ")));
  const cut = r.history && r.history.truncated;
  if (cut && cut.length) out.push(el("div", { class: "sub" }, "History from " + cut.map((h) => `partition ${h.partition} offset ${h.from}`).join(", ") + ": retention dropped what came before"));
  return out;
}

function alertRow(a, fresh) {
  const sev = a.severity || "medium"; // records of earlier builds have none
  const status = a.status || "firing";
  return el("tr", { class: fresh ? "fresh" : "", "data-alert": a.alert_id, "data-key": alertKey(a) },
    el("td", {}, fmtTime(a.event_time)),
    el("td", {}, el("div", { class: "mono" }, a.rule_id), el("div", { class: "sub" }, `${scopeText(a.scope)} · v${a.version} `,
      el("span", { class: "badge sev-" + sev }, sev))),
    el("td", { class: "mono" }, a.customer),
    el("td", {}, alertFigure(a),
      a.group ? el("div", { class: "sub mono" }, "group " + valuesText(a.group)) : null,
      a.context ? el("div", { class: "sub mono alert-context" }, valuesText(a.context)) : null),
    el("td", {}, el("span", { class: "badge status-" + status }, status), " ",
      el("span", { class: "badge " + (a.source === "backfill" ? "backfill" : "live") }, a.source),
      a.window_start ? el("div", { class: "sub" }, windowText(a.window_start, a.window_end)) : null),
    deliveryCell(a),
    el("td", { class: "mono" }, `p${a.partition}@${a.offset}`));
}

function addAlerts(list, fresh) {
  const tbody = $("#alerts tbody");
  for (const a of list.slice().reverse()) { // oldest first, so the newest ends on top
    if (state.alertIDs.has(alertKey(a))) continue;
    state.alertIDs.add(alertKey(a));
    state.alerts.unshift(a);
    tbody.prepend(alertRow(a, fresh));
  }
  while (state.alerts.length > 200) {
    const old = state.alerts.pop();
    state.alertIDs.delete(alertKey(old));
    tbody.lastElementChild.remove();
  }
  $("#alerts-empty").hidden = state.alerts.length > 0;
  drawAlertsChart();
}

// ---------- alerts over time, deliveries, destinations and mutes ----------

let alertsChart = null;

// drawAlertsChart charts the recent alerts per minute of their event time: firing and
// resolved records apart.
function drawAlertsChart() {
  const root = $("#alerts-chart");
  if (alertsChart) { alertsChart.destroy(); alertsChart = null; }
  if (!state.alerts.length) return;
  const MIN = 60;
  const firing = new Map(), resolved = new Map();
  for (const a of state.alerts) {
    const m = Math.floor(Date.parse(a.event_time) / 1000 / MIN) * MIN;
    const into = a.status === "resolved" ? resolved : firing;
    into.set(m, (into.get(m) || 0) + 1);
  }
  const keys = [...firing.keys(), ...resolved.keys()];
  const first = Math.min(...keys), last = Math.max(...keys);
  const xs = [], fs = [], rs = [];
  // At most a day of minutes: older alerts are off the chart's left edge.
  for (let t = Math.max(first, last - 1440 * MIN); t <= last; t += MIN) { xs.push(t); fs.push(firing.get(t) || 0); rs.push(resolved.get(t) || 0); }
  const width = Math.max(320, root.parentElement.clientWidth - 24);
  alertsChart = new uPlot({
    width, height: 140, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - MIN, max + MIN] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { label: "alerts / min", size: 50 }],
    legend: { show: true },
    series: [{}, { label: "firing", stroke: "#b45309", fill: "rgba(180,83,9,0.35)", paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } },
      { label: "resolved", stroke: "#15803d", fill: "rgba(21,128,61,0.3)", paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } }],
  }, [xs, fs, rs], root);
}

// loadNotify reads the deliveries, destinations and mutes, and redraws what shows them.
async function loadNotify() {
  const [dl, ds, ms] = await Promise.all([api("GET", "/deliveries"), api("GET", "/destinations"), api("GET", "/mutes")]);
  if (dl.status === 200) {
    state.deliveries = new Map(dl.data.deliveries.map((d) => [alertKey(d.alert), d]));
    for (const tr of $("#alerts tbody").children) {
      const a = state.alerts.find((x) => alertKey(x) === tr.dataset.key);
      if (a) tr.children[5].replaceWith(deliveryCell(a));
    }
  }
  if (ds.status === 200) {
    $("#destinations tbody").replaceChildren(...ds.data.destinations.map((d) => el("tr", { "data-destination": d.scope + "/" + d.name },
      el("td", { class: "mono" }, scopeText(d.scope)), el("td", { class: "mono" }, d.name), el("td", {}, d.type),
      el("td", { class: "mono sub" }, d.url || (d.url_from ? "(from " + (d.url_from.env ? "env " + d.url_from.env : "file " + d.url_from.file) + ")" : "")))));
    $("#destinations-empty").hidden = ds.data.destinations.length > 0;
  }
  if (ms.status === 200) {
    const now = Date.now();
    $("#mutes tbody").replaceChildren(...ms.data.mutes.map((m) => {
      const expired = m.until && Date.parse(m.until) <= now;
      const del = el("button", { type: "button", class: "small ghost", title: "Remove this mute" }, "Unmute");
      del.addEventListener("click", () => removeMute(m));
      return el("tr", { "data-mute": m.scope + "/" + m.id, class: expired ? "expired" : "" },
        el("td", { class: "mono" }, scopeText(m.scope)), el("td", { class: "mono" }, m.id), el("td", { class: "mono" }, m.rule),
        el("td", {}, m.until ? fmtTime(m.until) + (expired ? " (expired)" : "") : "until removed"),
        el("td", {}, m.reason || ""), el("td", {}, del));
    }));
    $("#mutes-empty").hidden = ms.data.mutes.length > 0;
  }
}

async function addMute(ev) {
  ev.preventDefault();
  const body = { id: $("#mute-id").value.trim(), scope: $("#mute-scope").value.trim() || "*", rule: $("#mute-rule").value.trim() || "*",
    reason: $("#mute-reason").value.trim(), by: "console" };
  const f = $("#mute-for").value.trim();
  if (f) body.for = f;
  const { status, data } = await api("POST", "/mutes", body);
  $("#mute-status").textContent = status === 200 ? `Muted: ${body.scope}/${body.id}.` : `Not muted: ${data.message || data.error}`;
  await loadNotify();
}

async function removeMute(m) {
  const { status, data } = await api("DELETE", `/mutes?scope=${encodeURIComponent(m.scope)}&id=${encodeURIComponent(m.id)}`);
  $("#mute-status").textContent = status === 200 ? `Unmuted: ${m.scope}/${m.id}.` : `Not unmuted: ${data.message || data.error}`;
  await loadNotify();
}

const streamHandlers = {
  rules: (data) => renderRules(JSON.parse(data)),
  alerts: (data) => addAlerts(JSON.parse(data), false),
  alert: (data) => addAlerts([JSON.parse(data)], true),
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

// ---------- wiring ----------

function init() {
  const saved = sessionStorage.getItem("hindsight-token");
  if (saved) $("#token").value = saved;
  $("#token").addEventListener("change", () => {
    sessionStorage.setItem("hindsight-token", $("#token").value.trim());
    connect(); // reads may need it: reconnect the stream with it
  });
  const form = $("#editor");
  form.addEventListener("input", (ev) => {
    const t = ev.target;
    if (t.dataset.field) state.touched.add(t.dataset.field);
    const row = t.closest(".cond");
    if (row) {
      const i = conditionRows().indexOf(row);
      const f = t.classList.contains("cond-path") ? "path" : t.classList.contains("cond-op") ? "op" : "value";
      state.touched.add(`cond:${i}:${f}`);
    }
    if (t.name === "scope" || t.id === "scope-value") state.touched.add("scope");
    if (t.id === "scope-value" && t.value) $("#scope-customer").checked = true;
    if (t.closest("#aggregation")) updateAggregation();
    changed();
  });
  form.addEventListener("change", changed);
  form.addEventListener("submit", (ev) => ev.preventDefault());
  $("#add-condition").addEventListener("click", () => { addCondition({ path: "", op: "==" }); changed(); });
  $("#btn-preview").addEventListener("click", preview);
  $("#btn-backtest").addEventListener("click", backtest);
  $("#btn-save").addEventListener("click", save);
  $("#btn-new").addEventListener("click", resetEditor);
  $("#windows-next").addEventListener("click", () => { windowsView.cursors.push(windowsView.next); loadWindows(); });
  $("#windows-prev").addEventListener("click", () => { if (windowsView.cursors.length > 1) windowsView.cursors.pop(); loadWindows(); });
  $("#windows-refresh").addEventListener("click", loadWindows);
  $("#windows-close").addEventListener("click", () => { windowsView.seq++; windowsView.rule = null; $("#windows-panel").hidden = true; });
  $("#mute-form").addEventListener("submit", addMute);
  resetEditor();
  loadInfo().catch(() => {}).finally(connect); // info says how the stream must be read
  loadNotify().catch(() => {});
  // Deliveries change without an alert arriving (retries, give-ups): poll them.
  setInterval(() => loadNotify().catch(() => {}), 3000);
}

init();
