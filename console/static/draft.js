// The rule being edited: reading it from the form, and the problems the daemon finds
// in it, each shown under its input.
"use strict";

// scalar reads what a user typed as a JSON value when it is one (5, true, "x"), and as
// a string otherwise (login.failed). An integer beyond 2^53 keeps its digits (parseJSON):
// the daemon then refuses it (such ids are compared as strings), where the double would
// be a condition on a neighbouring id it takes.
function scalar(text) {
  const t = text.trim();
  if (t === "") return "";
  try {
    const v = parseJSON(t);
    if (v === null || ["number", "boolean", "string"].includes(typeof v) || Array.isArray(v) || typeof v === "object") return v;
  } catch (e) { /* a bare string */ }
  return t;
}

function valueOf(op, text) {
  if (op === "exists") return undefined;
  if (op === "matches") return text;
  if (op === "in") {
    const t = text.trim();
    if (t.startsWith("[")) { try { return parseJSON(t); } catch (e) { return t; } }
    return t === "" ? [] : t.split(",").map(scalar);
  }
  return scalar(text);
}

function describeValue(op, text) {
  if (op === "exists") return "true when the path selects anything";
  const v = valueOf(op, text);
  if (text.trim() === "") return "";
  const kind = (x) => Array.isArray(x) ? "list" : x === null ? "null" : x instanceof BigDigits ? "number" : typeof x;
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

// conditionText shows a condition's value so that valueOf(op, text) reads back the same
// value, and an untouched Edit then Save publishes no change: a pattern is its text as
// it is (valueOf keeps it so, quotes and all), and an in list whose members' texts
// hold a comma (which valueOf splits at) is written as JSON.
function conditionText(op, v) {
  if (op === "matches" && typeof v === "string") return v;
  if (op === "in" && Array.isArray(v)) {
    const parts = v.map(textOf);
    // JSON when the list would not read back from its members joined: none, an empty
    // one (valueOf reads "" as no members), one holding a comma, or a first starting [.
    if (parts.length === 0 || parts.some((p) => p.includes(",") || p.trim() === "") || parts[0].trim().startsWith("[")) return JSON.stringify(v);
    return parts.join(", ");
  }
  return textOf(v);
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
  if (typeof t === "number") return "≥ " + fmtNum(t);
  const ops = { ">=": "≥", "<=": "≤", "==": "=" };
  return (ops[t.op] || t.op) + " " + fmtNum(t.value);
}

// fmtNum shows a number with the digits the API's JSON (contract.AppendJSONFloat) and
// the alert record carry, so a value at its threshold never reads as below it: String
// is the same shortest round-trip text, exponent form below 1e-6 and from 1e21 alike,
// except that it drops the sign of -0, which the JSON keeps.
function fmtNum(v) {
  if (typeof v !== "number") return String(v);
  return Object.is(v, -0) ? "-0" : String(v);
}

function plural(k, word) { return `${k} ${word}${k === 1 ? "" : "s"}`; }

// groupText shows a window's group, one "path = value" line per group_by path.
function groupText(group) {
  return group ? Object.entries(group).map(([path, v]) => el("div", {}, bdi(path), " = ", bdi(JSON.stringify(v)))) : "—";
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
    if (c.value !== undefined) val.value = conditionText(c.op, c.value);
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

// asLoaded is the loaded rule's field when its input still shows what edit put there,
// else typed(the input's text): what a user types is tidied, what a rule file wrote
// (a description's trailing newline, a name's trailing space, an explicit "medium") is
// sent back as it was.
function asLoaded(field, sel, typed) {
  const v = $(sel).value;
  if (field in state.loaded && v === state.loaded[field].shown) return state.loaded[field].value;
  return typed(v);
}

// load puts a loaded rule's field into its input and remembers both (asLoaded).
function load(field, sel, value, text) {
  $(sel).value = text;
  state.loaded[field] = { value, shown: $(sel).value }; // as the input keeps it
}

function draft() {
  const r = {};
  const id = $("#rule-id").value.trim();
  if (id) r.id = id;
  r.scope = $("#scope-global").checked ? "*" : $("#scope-value").value.trim();
  const name = asLoaded("name", "#rule-name", (v) => v.trim());
  if (name) r.name = name;
  const desc = asLoaded("description", "#rule-description", (v) => v.trim());
  if (desc) r.description = desc;
  const conds = conditionRows().map((row) => {
    const op = $(".cond-op", row).value;
    const c = { path: $(".cond-path", row).value, op };
    const v = valueOf(op, $(".cond-value", row).value);
    if (v !== undefined) c.value = v;
    return c;
  });
  r.when = conds.length === 1 && !state.oneGrouped ? conds[0] : { [$("#combinator").value]: conds };
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
  const sev = asLoaded("severity", "#severity", (v) => v === "medium" ? undefined : v);
  if (sev !== undefined) alert.severity = sev;
  if (Object.keys(alert).length) r.alert = alert;
  else delete r.alert;
  const lb = $("#lookback").value.trim();
  if (lb) r.lookback = lb;
  const ver = $("#version").value.trim();
  if (ver !== "") r.version = versionOf(ver);
  return r;
}

// versionProblem is why the page will not send the version box as it is, or "". A
// number input holding text the browser cannot read as a number (1e, -, 1-2) reports
// an empty value, as if nothing were typed, and validity.badInput alone tells; a 0 (or
// -0, 0.0) goes as version 0, which the console reads as no version. Either way the
// rule was saved as the next version, one not typed, and the page said "Saved".
function versionProblem() {
  const box = $("#version");
  const want = "want a whole number from 1, or nothing for the next version";
  if (box.validity.badInput) return "holds text that is no number; " + want;
  const t = box.value.trim();
  if (t !== "" && integerOf(t) === 0n) return "is " + t + "; " + want + " (0 is read as none, and the next would be saved)";
  return "";
}

// versionOf reads the version typed. Number rounded one past 2^53 (9007199254740993)
// to the neighbour the daemon takes, and a fraction a double does not hold
// (2.00000000000000001, 4503599627370496.5) to a whole number: the rule was saved as a
// version not typed. Only text whose value is a safe integer exactly goes as a Number
// (1.0 and 1e3 too); any other number goes with its digits (BigDigits), for the daemon
// to refuse by name. Text that is no JSON number (leading zeros aside) goes as Number
// reads it, which the daemon refuses or takes as typed.
function versionOf(text) {
  const n = Number(text);
  const exact = integerOf(text);
  if (exact !== null && Number.isSafeInteger(n) && BigInt(n) === exact) return n;
  const t = text.replace(/^(-?)0+(?=\d)/, "$1");
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? new BigDigits(t) : n;
}

// integerOf is the exact value of decimal text as a BigInt, or null when it is no
// whole number (or no decimal, or beyond 10^21, past any version).
function integerOf(text) {
  const m = /^(-?)(\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === "" && m[3] === undefined)) return null;
  const frac = m[3] || "";
  let digits = (m[2] + frac).replace(/^0+/, "");
  let exp = Number(m[4] || 0) - frac.length;
  if (digits === "") return 0n;
  while (exp < 0 && digits.endsWith("0")) { digits = digits.slice(0, -1); exp++; }
  if (exp < 0 || digits.length + exp > 22) return null;
  return BigInt(m[1] + digits) * 10n ** BigInt(exp);
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

// pointAt marks the character at column in text: the whole of it, since one outside the
// Basic Multilingual Plane (an emoji) is two UTF-16 units, and half of it showed as a
// replacement character on each side of the mark. The text is the user's, isolated
// (bdi): an override in it (U+202E) reversed the column and message after it.
function pointAt(text, column) {
  const i = charIndex(text, column);
  const n = i < text.length ? String.fromCodePoint(text.codePointAt(i)).length : 1;
  return bdi(el("code", {}, text.slice(0, i), el("mark", {}, text.slice(i, i + n) || " "), text.slice(i + n)));
}

// fieldText is the text at field ("group_by[1]", "aggregate.path") of rule r, the draft
// as sent, or undefined: a problem's column counts in that text, which for a list
// typed in one input (group_by) is one member of it, trimmed.
function fieldText(r, field) {
  let v = r;
  for (const [, name, index] of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[name !== undefined ? name : Number(index)];
  }
  return typeof v === "string" ? v : undefined;
}

function clearProblems() {
  $$("[data-err]").forEach((e) => e.replaceChildren());
  $$(".cond-err").forEach((e) => e.replaceChildren());
  $$("#editor input, #editor textarea").forEach((e) => e.classList.remove("bad"));
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
    // Found by comparing the attribute, not by a selector built from the field's name:
    // one holding a quote, backslash or bracket made querySelector throw, and no
    // problem was shown.
    const top = p.field.split(/[.[]/)[0];
    const target = $$("[data-err]").find((e) => e.dataset.err === top) || $('[data-err="rule"]');
    const input = $$("[data-field]").find((e) => e.dataset.field === top);
    if (!state.showAll && !state.touched.has(top)) continue;
    if (input) input.classList.add("bad");
    if (target.closest("#aggregation")) $("#aggregation").open = true; // else the problem is hidden
    const msg = el("div", {}, p.field && p.field !== "rule" ? p.field + ": " : "");
    const text = p.column ? fieldText(draft(), p.field) : undefined;
    if (text !== undefined) msg.append(pointAt(text, p.column), " column " + p.column + ": ");
    msg.append(p.message);
    target.append(msg);
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
  let { status, data } = await api("POST", "/validate", { rule: draft() });
  if (seq !== state.validateSeq) return; // a newer draft is on its way
  const v = $("#validity");
  if (status !== 200) { v.className = "validity bad"; v.textContent = data.error || "validation failed"; return; }
  // The draft went without the version box's text, so the daemon cannot see this.
  const vp = versionProblem();
  if (vp) data = { ...data, valid: false, problems: [...(data.problems || []), { field: "version", message: vp }] };
  showProblems(data.problems || []);
  if (data.valid) { v.className = "validity ok"; v.textContent = "✓ valid rule"; }
  else { v.className = "validity bad"; v.textContent = data.problems.length + (data.problems.length === 1 ? " problem" : " problems"); }
  return data;
}
