// Alerts over time, their deliveries, and the destinations and mutes of the notify
// stage.
"use strict";

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
  // A loop, not Math.min(...keys): spread, each minute would be a call argument, and V8
  // throws past some 120,000 of them.
  let first = Infinity, last = -Infinity;
  for (const m of [firing.keys(), resolved.keys()]) for (const t of m) { if (t < first) first = t; if (t > last) last = t; }
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

// The page lists one page of mutes at a time, the daemon's own size
// (--console-mutes-page-size, asked for by no limit: a limit of the page's own could be
// over the daemon's --console-mutes-max-page-size): there may be 20,000 (--max-mutes and
// --max-ended-mutes), and a table of them all, rebuilt at every poll, froze the page for
// seconds.
//
// mutesView is the page of mutes shown: cursors are those of the pages seen so far (the
// first page's is ""), so that Previous goes back; next is the next page's, "" on the
// last; size the length of a full page (one with a next), for where a page starts. Each
// poll reads the page shown again, and only it.
const mutesView = { cursors: [""], next: "", size: 0 };

// loadNotify reads the deliveries, destinations and the page of mutes shown, and
// redraws what shows them.
async function loadNotify() {
  const mv = mutesView, cursor = mv.cursors[mv.cursors.length - 1];
  const [dl, ds, ms] = await Promise.all([api("GET", "/deliveries"), api("GET", "/destinations"),
    api("GET", "/mutes" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""))]);
  if (dl.status === 200) {
    // Newest first: an alert read again (its partition came back to this member) is
    // shown by its latest delivery, not the one its earlier read left behind.
    state.deliveries = new Map();
    for (const d of dl.data.deliveries) {
      if (!state.deliveries.has(alertKey(d.alert))) state.deliveries.set(alertKey(d.alert), d);
    }
    for (const tr of $("#alerts tbody").children) {
      const a = state.alerts.find((x) => alertKey(x) === tr.dataset.key);
      if (a) tr.children[5].replaceWith(deliveryCell(a));
    }
  }
  if (ds.status === 200) {
    $("#destinations tbody").replaceChildren(...ds.data.destinations.map((d) => el("tr", { "data-destination": d.scope + "/" + d.name },
      el("td", { class: "mono" }, scopeText(d.scope)), el("td", { class: "mono id" }, d.name), el("td", {}, d.type),
      el("td", { class: "mono sub" }, d.url || (d.url_from ? "(from " + (d.url_from.env ? "env " + d.url_from.env : "file " + d.url_from.file) + ")" : "")))));
    $("#destinations-empty").hidden = ds.data.destinations.length > 0;
  }
  if (ms.status === 200 && mv.cursors[mv.cursors.length - 1] === cursor) { // not another page asked for meanwhile
    if (!ms.data.mutes.length && mv.cursors.length > 1) {
      // The mutes of this page and after it were removed: back to the first page.
      mv.cursors = [""];
      return loadNotify();
    }
    mv.next = ms.data.next_cursor || "";
    if (mv.next) mv.size = Math.max(mv.size, ms.data.mutes.length);
    renderMutes(ms.data);
  } else if (ms.status !== 200 && ms.status !== 0) {
    // Said, not dropped: an empty table would read as "no mute in force".
    $("#mutes tbody").replaceChildren();
    $("#mutes-empty").hidden = false;
    $("#mutes-empty").textContent = "The mutes cannot be listed: " + ((ms.data && ms.data.error) || "HTTP " + ms.status);
  }
}

// renderMutes shows a page of mutes, and where it is among them all.
function renderMutes(data) {
  const now = Date.now(), mv = mutesView;
  $("#mutes tbody").replaceChildren(...data.mutes.map((m) => {
    const expired = m.until && Date.parse(m.until) <= now;
    const del = el("button", { type: "button", class: "small ghost", title: "Remove this mute" }, "Unmute");
    del.addEventListener("click", () => removeMute(m));
    return el("tr", { "data-mute": m.scope + "/" + m.id, class: expired ? "expired" : "" },
      el("td", { class: "mono" }, scopeText(m.scope)), el("td", { class: "mono id" }, m.id), el("td", { class: "mono id" }, m.rule),
      el("td", {}, m.until ? fmtTime(m.until) + (expired ? " (expired)" : "") : "until removed"),
      el("td", {}, m.reason || ""), el("td", {}, del));
  }));
  $("#mutes-empty").hidden = data.mutes.length > 0;
  $("#mutes-empty").textContent = "No mutes.";
  // The pager shows only when there is more than one page, as the list looked before.
  const total = data.total || data.mutes.length;
  $("#mutes-pager").hidden = mv.cursors.length < 2 && !mv.next;
  const first = (mv.cursors.length - 1) * (mv.size || data.mutes.length);
  $("#mutes-page").textContent = data.mutes.length ? `${fmtCount(first + 1)}–${fmtCount(first + data.mutes.length)} of ${fmtCount(total)}` : "";
  $("#mutes-prev").disabled = mv.cursors.length < 2;
  $("#mutes-next").disabled = !mv.next;
}

// mutesPage goes to the next page of mutes (+1) or back to the previous (-1).
function mutesPage(step) {
  const mv = mutesView;
  if (step > 0 && mv.next) mv.cursors.push(mv.next);
  if (step < 0 && mv.cursors.length > 1) mv.cursors.pop();
  mv.next = "";
  $("#mutes-prev").disabled = $("#mutes-next").disabled = true; // until the page comes
  loadNotify().catch(() => {});
}

async function addMute(ev) {
  ev.preventDefault();
  const body = { id: $("#mute-id").value.trim(), scope: $("#mute-scope").value.trim() || "*", rule: $("#mute-rule").value.trim() || "*",
    reason: $("#mute-reason").value.trim(), by: "console" };
  const f = $("#mute-for").value.trim();
  if (f) body.for = f;
  const { status, data } = await api("POST", "/mutes", body);
  $("#mute-status").textContent = writeOutcome(status, data, `Muted: ${body.scope}/${body.id}.`, "Mute", "Not muted");
  await loadNotify();
}

async function removeMute(m) {
  const { status, data } = await api("DELETE", `/mutes?scope=${encodeURIComponent(m.scope)}&id=${encodeURIComponent(m.id)}`);
  $("#mute-status").textContent = writeOutcome(status, data, `Unmuted: ${m.scope}/${m.id}.`, "Unmute", "Not unmuted");
  await loadNotify();
}

// writeOutcome says what a mute's write did: done (200); published with no daemon's
// word on it yet (202 pending: a daemon folds it when it reads the topic, as a rule
// saved so); or not done, and why.
function writeOutcome(status, data, done, what, notDone) {
  if (status === 200) return done;
  if (status === 202) return `${what} published, not confirmed yet: ${data.message || "no daemon reported its status in time"}`;
  return `${notDone}: ${data.message || data.error}`;
}
