// Hindsight rule console: wiring the page's controls to the other scripts (base.js,
// draft.js, editor.js, rules.js, notify.js, stream.js), which index.html loads first.
"use strict";

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
  $("#rules-filter").addEventListener("input", filterRules);
  $("#rules-prev").addEventListener("click", () => rulesPage(-1));
  $("#rules-next").addEventListener("click", () => rulesPage(1));
  $("#mute-form").addEventListener("submit", addMute);
  $("#mutes-prev").addEventListener("click", () => mutesPage(-1));
  $("#mutes-next").addEventListener("click", () => mutesPage(1));
  resetEditor();
  loadInfo().catch(() => {}).finally(connect); // info says how the stream must be read
  loadNotify().catch(() => {});
  loadAlertsError().catch(() => {});
  // Deliveries change without an alert arriving (retries, give-ups): poll them, and
  // whether the alerts topic can be read, which the stream does not say.
  setInterval(() => { loadNotify().catch(() => {}); loadAlertsError().catch(() => {}); }, 3000);
}

init();
