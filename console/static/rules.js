// The rules as they run, their open windows, and the alerts they raise, as the live
// stream brings them.
"use strict";

function scopeText(s) { return s === "*" ? "every customer" : s; }

// sparkHistory keeps, per rule, what its counts summary said each time the rules came
// (events counted for a plain count, customers with open windows otherwise), for its
// sparkline: the last SPARK_POINTS samples. Only the rules shown are sampled, and the
// SPARK_RULES sampled last kept (a Map keeps the order of insertion; a rule sampled is
// moved to its end): at --max-rules, 100,000, a history of every rule would hold
// tens of millions of samples. A rule's sparkline so starts when its page is first shown.
const SPARK_POINTS = 120;
const SPARK_RULES = 1000;
const sparkHistory = new Map();
let sparks = []; // the uPlot instances drawn, destroyed before the next

function recordSpark(r) {
  const key = r.scope + "/" + r.id + "@" + r.version;
  const h = sparkHistory.get(key) || [[], []];
  h[0].push(Date.now() / 1000);
  h[1].push(r.plain ? (r.counts.total || 0) : (r.counts.customers || 0));
  if (h[0].length > SPARK_POINTS) { h[0].shift(); h[1].shift(); }
  sparkHistory.delete(key);
  sparkHistory.set(key, h);
  if (sparkHistory.size > SPARK_RULES) sparkHistory.delete(sparkHistory.keys().next().value);
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

// RULES_PAGE is how many rules the table shows at once. The daemon takes up to
// --max-rules (100,000), and the stream sends them all on every change (up to once a
// second while counts move): rebuilding a row and a sparkline per rule each time froze
// the page for seconds with a few thousand. Each "rules" event now rebuilds the rows and
// sparklines of the page shown only; the filter finds a rule on any page.
const RULES_PAGE = 100;

// rulesView is what the rules table shows: the rules whose id, name or scope contains
// filter (case aside), and page the page of those shown (from 0).
const rulesView = { filter: "", page: 0 };

// rulesShown are the rules the filter keeps, in the daemon's order.
function rulesShown() {
  const f = rulesView.filter.toLowerCase();
  if (!f) return state.rules;
  return state.rules.filter((r) => r.id.toLowerCase().includes(f) || (r.name || "").toLowerCase().includes(f) ||
    r.scope.toLowerCase().includes(f));
}

function renderRules(data) {
  state.rules = data.rules;
  drawRules();
  const inv = $("#invalid");
  inv.hidden = !data.invalid.length;
  $("ul", inv).replaceChildren(...data.invalid.slice(-10).reverse().map((ic) =>
    el("li", {}, bdi(ic.key), ` (controls offset ${ic.offset}): `, bdi(ic.error))));
}

// filterRules shows the rules matching the filter box, from their first page.
function filterRules() {
  rulesView.filter = $("#rules-filter").value.trim();
  rulesView.page = 0;
  drawRules();
}

// rulesPage goes to the next page of rules (+1) or back to the previous (-1).
function rulesPage(step) {
  rulesView.page += step;
  drawRules();
}

// drawRules rebuilds the rows and sparklines of the page of rules shown, and the pager.
function drawRules() {
  const all = state.rules, shown = rulesShown();
  const pages = Math.max(1, Math.ceil(shown.length / RULES_PAGE));
  rulesView.page = Math.min(Math.max(0, rulesView.page), pages - 1); // the rules may be fewer now
  const first = rulesView.page * RULES_PAGE;
  const page = shown.slice(first, first + RULES_PAGE);
  for (const u of sparks) u.destroy();
  sparks = [];
  const spark = [];
  const tbody = $("#rules tbody");
  tbody.replaceChildren(...page.map((r) => {
    const st = el("td", {}, el("span", { class: "badge " + r.state }, r.state));
    if (r.state !== r.status) st.append(" ", el("span", { class: "sub" }, "(" + r.status + ")"));
    if (r.progress) {
      const p = r.progress;
      st.append(el("div", { class: "sub" }, p.files_total ? `${p.files_done}/${p.files_total} files, ${p.rows} rows` : `${p.rows} rows, ${p.tail_records} from Kafka`));
      if (p.percent >= 0) st.append(el("div", { class: "progress" }, el("div", { style: `width:${Math.round(p.percent)}%` })));
    }
    const errs = [r.last_error, ...(r.backfill || []).map((b) => b.last_error)].filter(Boolean);
    if (errs.length) st.append(el("div", { class: "err" }, errs[0]));
    if (r.degraded) st.append(el("div", { class: "sub" }, "Lower bounds: " + r.degraded));
    st.append(...historyNotes(r));
    const c = r.counts;
    // A count reaches a bare-number threshold only when the count is what the rule
    // compares: a plain count, or count per group and window (not a sum, say). Live
    // checks it per partition, so it is a customer's largest count on one partition
    // (partition_max) that must reach it, not its count summed over partitions.
    const fn = (r.rule && r.rule.aggregate && r.rule.aggregate.fn) || "count";
    const reaches = (t) => typeof r.threshold === "number" && fn === "count" && t.partition_max >= r.threshold;
    let summary;
    if (r.plain) summary = c.customers ? `${plural(c.customers, "customer")}, ${c.total} events` : "nothing counted yet";
    else summary = c.customers ? `${plural(c.customers, "customer")} with open windows; largest window's count:` : "no open window";
    const sparkCell = el("div", { class: "spark", title: r.plain ? "events counted, over time" : "customers with open windows, over time" });
    spark.push([sparkCell, recordSpark(r)]);
    const counts = el("td", { class: "tops" },
      sparkCell,
      el("div", { class: "sub" }, summary),
      c.top.map((t) => el("span", { class: reaches(t) ? "would" : "", title: t.partition_max < t.count ? `at most ${t.partition_max} on one partition` : null }, bdi(t.customer), ": ", el("b", {}, t.count))),
      r.plain ? null : el("div", {}, el("button", { type: "button", class: "small", "data-windows": r.scope + "/" + r.id, onclick: () => openWindows(r) }, "Open windows")));
    return el("tr", { "data-key": r.scope + "/" + r.id },
      el("td", {}, el("div", { class: "mono id" }, r.id), el("div", { class: "sub" }, r.name ? [bdi(r.name), " · "] : null, "v" + r.version)),
      el("td", {}, scopeText(r.scope)),
      el("td", {}, typeof r.threshold === "number" ? r.threshold : thresholdText(r.threshold)),
      st,
      counts,
      el("td", {},
        el("button", { type: "button", class: "small", onclick: () => edit(r) }, "Edit"), " ",
        el("button", { type: "button", class: "small ghost", onclick: () => remove(r) }, "Delete")));
  }));
  $("#rules-empty").hidden = all.length > 0;
  $("#rules-none").hidden = !all.length || shown.length > 0;
  // With a page or fewer of rules and no filter, the table looks as it always did.
  $("#rules-pager").hidden = all.length <= RULES_PAGE && !rulesView.filter;
  const of = rulesView.filter ? `${fmtCount(shown.length)} matching (${fmtCount(all.length)} rules)` : fmtCount(all.length);
  $("#rules-page").textContent = page.length ? `${fmtCount(first + 1)}–${fmtCount(first + page.length)} of ${of}` : `none of ${fmtCount(all.length)} rules`;
  $("#rules-prev").disabled = rulesView.page === 0;
  $("#rules-next").disabled = first + RULES_PAGE >= shown.length;
  for (const [cell, h] of spark) sparks.push(drawSpark(cell, h));
}

// ---------- open windows ----------

// windowsView is the rule whose open windows the windows panel shows. cursors are the
// cursors of the pages seen so far (the first page's is ""), so that Previous goes
// back; limit is the customers per page, the daemon's (--console-windows-page-size).
const windowsView = { rule: null, fn: "count", cursors: [""], next: "", limit: 20, seq: 0 };

function openWindows(r) {
  windowsView.limit = (state.info && state.info.windows_page_size) || 20;
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
    const line = el("td", { colspan: 5 }, bdi(c.customer, { class: "mono id" }),
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

// valuesText shows a path → JSON value map (an alert's group or context) on one line,
// each path and value isolated (bdi).
function valuesText(m) {
  return Object.keys(m).sort().flatMap((k, i) => [i ? ", " : "", bdi(k), "=", bdi(JSON.stringify(m[k]))]);
}

// alertKey names one alert record: a resolved record shares its firing alert's id.
function alertKey(a) { return a.alert_id + ":" + (a.status || "firing"); }

// deliveryCell shows an alert's state at each destination its rule notifies.
function deliveryCell(a) {
  const d = state.deliveries.get(alertKey(a));
  if (d && d.destinations) {
    return el("td", { class: "delivery" }, d.destinations.map((s) => el("div", {},
      el("span", { class: "badge dlv-" + s.state, title: s.reason || "" }, s.state), " ", bdi(s.name, { class: "mono id" }),
      s.attempts > 1 ? el("span", { class: "sub" }, ` ×${s.attempts}`) : null)));
  }
  if (a.muted) return el("td", { class: "delivery" }, el("span", { class: "badge dlv-muted" }, "muted"));
  return el("td", { class: "delivery sub" }, a.notify && a.notify.length ? bdiList(a.notify, ", ") : "—");
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
    el("td", {}, el("div", { class: "mono id" }, a.rule_id), el("div", { class: "sub" }, bdi(scopeText(a.scope)), ` · v${a.version} `,
      el("span", { class: "badge sev-" + sev }, sev))),
    el("td", { class: "mono id" }, a.customer),
    el("td", {}, alertFigure(a),
      a.group ? el("div", { class: "sub mono" }, "group ", valuesText(a.group)) : null,
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
  // As many as the daemon keeps (--console-recent-alerts).
  const keep = (state.info && state.info.recent_alerts) || 200;
  while (state.alerts.length > keep) {
    const old = state.alerts.pop();
    state.alertIDs.delete(alertKey(old));
    tbody.lastElementChild.remove();
  }
  showAlertsEmpty();
  drawAlertsChart();
}

// showAlertsEmpty says "No alerts yet." when none is shown, unless the alerts topic
// cannot be read: then nothing says whether any fired, and #alerts-error says why.
function showAlertsEmpty() {
  $("#alerts-empty").hidden = state.alerts.length > 0 || !!state.alertsError;
}

// loadAlertsError shows the problem the daemon has reading the alerts topic, which
// GET /alerts reports (error) and the stream does not carry, and hides it once reading
// works again. Polled with the deliveries (app.js).
async function loadAlertsError() {
  const { status, data } = await api("GET", "/alerts?limit=0"); // the error alone
  if (status !== 200) return; // the daemon's answer is the stream's concern (#conn)
  state.alertsError = data.error || "";
  const p = $("#alerts-error");
  p.textContent = state.alertsError ? "The alerts topic cannot be read, so alerts may be missing here: " + state.alertsError : "";
  p.hidden = !state.alertsError;
  showAlertsEmpty();
}
