// What the editor does with a draft: preview it over the lake, backtest it, save or
// delete it, and load a rule into the form.
"use strict";

// fmtTime shows a time in UTC with the fraction of a second the API gives: windows may
// be whole milliseconds long, so a bound at .500 must not read as the second before,
// and the digits come from the text because a Date keeps only milliseconds. An
// all-zero fraction is left out.
function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return t;
  const m = /T\d\d:\d\d:\d\d\.(\d+)/.exec(typeof t === "string" ? t : d.toISOString());
  const frac = m ? m[1].replace(/0+$/, "") : "";
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, frac ? "." + frac + "Z" : "Z");
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

// heavyDraftRequest asks for a preview or a backtest (kind) of the draft, aborting the
// one of that kind still running: its answer would be dropped anyway, and on the daemon
// it holds one of the --http-max-heavy-requests slots until --preview-timeout, so that
// a few impatient clicks would lock every heavy request out. The answer is null when
// this request was itself replaced or abandoned (abortDraftRequests) meanwhile.
async function heavyDraftRequest(kind, path, body) {
  const prev = state.running[kind];
  if (prev) prev.abort();
  const ctrl = new AbortController();
  state.running[kind] = ctrl;
  try {
    const sent = Date.now();
    let r = await api("POST", path, body, ctrl.signal);
    // The daemon gives the aborted request's slot back only once its handler has seen
    // the connection close, a moment after this request may have been refused for want
    // of it (503 with Retry-After, at once). Ask once more then, rather than show the
    // user a refusal their own earlier click caused. A 503 that comes late is the
    // request's own time bound (--preview-timeout): not asked again.
    if (prev && r.status === 503 && r.retryAfter && Date.now() - sent < 1000 * r.retryAfter) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * r.retryAfter, 2000)));
      if (!ctrl.signal.aborted) r = await api("POST", path, body, ctrl.signal);
    }
    return r.aborted || ctrl.signal.aborted ? null : r;
  } finally {
    if (state.running[kind] === ctrl) state.running[kind] = null;
  }
}

// abortDraftRequests abandons the preview and the backtest running, when the draft they
// were asked for is put away (a new rule, another rule loaded): nobody will see them.
// Leaving the page aborts them as the browser ends its requests.
function abortDraftRequests() {
  for (const kind of Object.keys(state.running)) {
    if (state.running[kind]) state.running[kind].abort();
    state.running[kind] = null;
  }
}

async function preview() {
  state.showAll = true;
  const box = $("#preview");
  box.hidden = false;
  box.className = "result";
  box.replaceChildren(el("div", {}, "Evaluating the draft over recent events…"));
  const answer = await heavyDraftRequest("preview", "/preview", { rule: draft() });
  if (!answer) return; // replaced by a newer preview, or the draft was put away
  const { status, data } = answer;
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
      ? [`Would alert for ${plural(n, "customer")} (${plural(fired, "window")} at threshold ${th}): `, ...bdiList(data.would_alert, ", ")]
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
    parts.push(el("p", { class: "would", id: "would-alert" }, `Would alert for ${plural(n, "customer")} at threshold ${th}: `, bdiList(data.would_alert, ", ")));
  } else {
    parts.push(el("p", { class: "would", id: "would-alert" }, `No customer reaches the threshold ${th} in this sample.`));
  }
  if (data.customers.length) {
    parts.push(el("table", { id: "preview-customers" },
      el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Matches"), el("th", {}, "Would alert"))),
      el("tbody", {}, data.customers.map((c) => el("tr", {},
        el("td", { class: "mono id" }, c.customer), el("td", {}, c.matches), el("td", {}, c.would_alert ? "yes" : "—"))))));
    // The daemon lists the customers with most matches, up to 100: say when more matched.
    if (data.customers_total > data.customers.length) parts.push(el("div", { class: "sub", id: "preview-customers-cut" }, `The first ${data.customers.length} of ${data.customers_total} customers are listed.`));
  }
  if (data.examples.length) {
    parts.push(el("div", { class: "sub" }, "Most recent matching events:"));
    parts.push(el("ol", { class: "examples" }, data.examples.slice(0, 5).map((e) =>
      el("li", {}, bdi(e.customer), ` · p${e.partition}@${e.offset} · ${fmtTime(e.event_time)} `, bdi(el("code", {}, e.payload))))));
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
  const answer = await heavyDraftRequest("backtest", "/backtest", { rule: draft(), days });
  if (!answer) return; // replaced by a newer backtest, or the draft was put away
  const { status, data } = answer;
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
  if (r.rankings_cut) parts.push(el("div", { class: "sub" }, "Top customers: " + r.rankings_cut));
  if (data.missing && data.missing.length) parts.push(missingNote(data.missing));
  if (r.late || r.time_errors) parts.push(el("div", { class: "sub" }, `As live, ${plural(r.late, "late event")} and ${plural(r.time_errors, "event")} without a usable time did not count.`));
  const chart = el("div", { id: "backtest-chart" });
  if (r.firings) parts.push(chart);
  // per_day lists the latest days only (backtest.Config.MaxDays): the chart starts later
  // than the first firing, which unsaid reads as none before.
  if (r.per_day_cut) parts.push(el("div", { class: "sub", id: "backtest-days-cut" }, `The chart shows the latest ${plural(r.per_day.length, "day")} with firings: ${plural(r.per_day_cut, "firing")} of earlier days are not in it.`));
  if (r.customers.length) {
    parts.push(el("table", { id: "backtest-customers" },
      el("thead", {}, el("tr", {}, el("th", {}, "Customer"), el("th", {}, "Firings"))),
      el("tbody", {}, r.customers.map((c) => el("tr", {}, el("td", { class: "mono id" }, c.key), el("td", {}, c.firings))))));
    // The table holds the most firing few (contract.BacktestTop); unsaid, it reads as all.
    if (r.customers_total > r.customers.length) {
      parts.push(el("div", { class: "sub", id: "backtest-customers-cut" },
        `The ${r.customers.length} most firing of ${r.rankings_cut ? "at least " : ""}${r.customers_total} customers are listed.`));
    }
  }
  box.className = "result " + (r.firings ? "warn" : "ok");
  box.replaceChildren(...parts);
  if (r.firings) backtestChart = firingsChart(chart, r.per_day);
}

// maxChartPoints is cmd/hindsight's bound on a backtest chart (backtest_plot.go): record
// times are any a producer stamps, and a bar a day from the first firing to the last
// was 20,000 bars for 1970 to 2026, 3.65 million for years 0001 to 9999.
const maxChartPoints = 400;

// chartBins is cmd/hindsight's chartBinsFor, the same rule, so that the console and
// `hindsight backtest --out` chart a report alike: the finest binning of the days first
// to last (numbered from 1970-01-01, UTC) into at most maxChartPoints bins: days,
// weeks (from Monday), months, then 1, 2, 5, 10, … years. of is the bin of a day, start
// the first day of a bin; label the length of an ISO date its ticks show.
function chartBins(first, last) {
  const dateOf = (d) => new Date(d * DAY * 1000);
  // setUTCFullYear, since Date.UTC takes years 0 to 99 for 1900 to 1999.
  const dayOf = (year, month) => { const t = new Date(0); t.setUTCFullYear(year, month, 1); return Math.round(t.getTime() / 1000 / DAY); };
  const candidates = [
    { unit: "day", axis: "day (UTC)", label: 10, of: (d) => d, start: (b) => b },
    // 1970-01-01 is a Thursday: day 4 (1970-01-05) is a Monday.
    { unit: "week", axis: "week (UTC, from Monday)", label: 10, of: (d) => Math.floor((d - 4) / 7), start: (b) => b * 7 + 4 },
    { unit: "month", axis: "month (UTC)", label: 7,
      of: (d) => { const t = dateOf(d); return t.getUTCFullYear() * 12 + t.getUTCMonth(); },
      start: (b) => dayOf(Math.floor(b / 12), b - Math.floor(b / 12) * 12) },
  ];
  for (let k = 1; k <= 1000; k *= 10) {
    for (const n of [k, 2 * k, 5 * k]) {
      const unit = n > 1 ? `${n} years` : "year";
      candidates.push({ unit, axis: unit + " (UTC)", label: 4, of: (d) => Math.floor(dateOf(d).getUTCFullYear() / n), start: (b) => dayOf(b * n, 0) });
    }
  }
  for (const [i, c] of candidates.entries()) {
    c.first = c.of(first);
    c.count = c.of(last) - c.first + 1;
    // The last (5000 years) always fits: a report's days are of the years 0000 to 9999.
    if (c.count <= maxChartPoints || i === candidates.length - 1) return c;
  }
}

// firingsChart draws firings per UTC day as bars, every day from the first to the
// last shown (days without firings at zero); over more than maxChartPoints days, per
// week, month or years instead (chartBins), which the axes say.
function firingsChart(root, perDay) {
  const days = perDay.map((c) => [Math.round(Date.parse(c.key + "T00:00:00Z") / 1000 / DAY), c.firings]);
  // A loop, not Math.min(...days): a report may list millions of days, and V8 throws
  // past some 120,000 call arguments.
  let first = Infinity, last = -Infinity;
  for (const [d] of days) { if (d < first) first = d; if (d > last) last = d; }
  const bins = chartBins(first, last);
  const xs = [], ys = new Array(bins.count).fill(0);
  for (let b = 0; b < bins.count; b++) xs.push(bins.start(bins.first + b) * DAY);
  for (const [d, n] of days) ys[bins.of(d) - bins.first] += n;
  // Half a bin either side, so that the first and last bars show whole.
  const pad = (bins.start(bins.first + 1) - bins.start(bins.first)) * DAY / 2;
  const width = Math.max(320, root.parentElement.clientWidth - 24);
  return new uPlot({
    width, height: 180, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - pad, max + pad] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    // Ticks at the starts of bins, at most 9 of them, labelled by their UTC date.
    axes: [{ label: bins.axis, space: 50,
      splits: (u, i, min, max) => xs.filter((x, b) => b % Math.max(1, Math.ceil(xs.length / 8)) === 0 && x >= min && x <= max),
      values: (u, ticks) => ticks.map((v) => new Date(v * 1000).toISOString().slice(0, bins.label)) },
    { label: "firings per " + bins.unit, size: 50 }],
    legend: { show: false },
    series: [{}, { label: "firings per " + bins.unit, stroke: "#b45309", fill: "rgba(180,83,9,0.35)", paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
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
      el("td", { class: "mono id" }, w.customer),
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
  conflict: "Not saved: the rule changed meanwhile",
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
  // The key holds the scope, a customer id: isolated, so an override in it (U+202E)
  // does not reverse the version and offset after it.
  lines.push(el("div", {}, `${data.op} `, bdi(data.key), `${data.version ? " version " + data.version : ""}${where}`));
  if (data.message) lines.push(el("div", {}, data.message));
  if (data.problems && data.problems.length) {
    lines.push(el("ul", {}, data.problems.map((p) => el("li", {}, `${p.field}${p.column ? " column " + p.column : ""}: ${p.message}`))));
    showProblems(data.problems);
  }
  box.replaceChildren(...lines);
}

// editorTitle names the rule being edited, its key (the scope a customer id) isolated
// so that an override in it does not reverse "(active version N)".
function editorTitle(key, version) {
  $("#editor-title").replaceChildren("Edit rule ", bdi(key), ` (active version ${version})`);
}

async function save() {
  state.showAll = true;
  // Refused here: the daemon would take the draft without the version typed.
  const vp = versionProblem();
  if (vp) {
    showProblems([{ field: "version", message: vp }]);
    const box = $("#save-result");
    box.hidden = false;
    box.className = "result bad";
    box.replaceChildren(el("h3", {}, "Not saved: the version box is refused"), el("div", {}, "version: " + vp + ". Nothing was sent"));
    return;
  }
  const btn = $("#btn-save");
  btn.disabled = true;
  try {
    const { status, data } = await api("POST", "/rules", { rule: draft(), base: state.base });
    showSave(status, data);
    // The version now active, or published by this save: a later save of this edit
    // builds on it.
    if (["ok", "unchanged", "pending"].includes(data.status) && data.version) {
      state.base = { key: data.key, version: data.version };
    }
    if (data.status === "ok") {
      state.editing = data.key;
      $("#version").value = "";
      editorTitle(data.key, data.version);
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
  abortDraftRequests();
  state.editing = null;
  state.base = { key: "", version: 0 };
  state.oneGrouped = false;
  state.touched.clear();
  state.showAll = false;
  $("#editor").reset();
  state.kept = {};
  state.loaded = {};
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
  load("name", "#rule-name", rl.name, rl.name || "");
  load("description", "#rule-description", rl.description, rl.description || "");
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
  const sev = rl.alert ? rl.alert.severity : undefined;
  load("severity", "#severity", sev, sev || "medium");
  state.kept = {};
  for (const k of KEPT_FIELDS) if (rl[k]) state.kept[k] = rl[k];
  updateAggregation();
  $("#aggregation").open = !!(agg.path || (agg.fn && agg.fn !== "count") || rl.group_by || win || rl.time || rl.lateness);
  const w = rl.when;
  const isLeaf = (c) => c && !c.all && !c.any && !c.not;
  state.oneGrouped = false;
  $("#conditions").replaceChildren();
  if (isLeaf(w)) addCondition(w);
  else if ((w.all || w.any) && (w.all || w.any).every(isLeaf)) {
    $("#combinator").value = w.all ? "all" : "any";
    // One condition under all/any stays so when saved untouched (draft): written
    // bare, the rule would differ, and Save would publish a new version.
    state.oneGrouped = (w.all || w.any).length === 1;
    (w.all || w.any).forEach(addCondition);
  } else {
    addCondition({ path: "", op: "exists" });
    const note = $("#nested-note");
    note.hidden = false;
    note.textContent = "This rule nests conditions (" + JSON.stringify(w) + "), which the builder cannot show; rewrite them here or use `hindsight rules apply`.";
  }
  editorTitle(r.scope + "/" + r.id, r.version);
  state.editing = r.scope + "/" + r.id;
  state.base = { key: state.editing, version: r.version };
  changed();
  window.scrollTo({ top: 0, behavior: "smooth" });
}
