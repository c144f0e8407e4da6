// Hindsight rule console: what every part of the page shares (the HTTP API of
// console/API.md, building elements, the page's state). The page loads its scripts in
// order, base.js first; nothing is loaded from anywhere else.
"use strict";

const API = "/v1/console";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// LONG_WORD is the longest run of characters without a space that el keeps whole. A
// customer id, a group's or context's value, a URL are data: a kilobyte without a space
// (a hash, a user agent), which would widen its table past its panel and the page
// sideways. An element given text with a longer run is marked "long" (style.css: it
// breaks anywhere); shorter ones stay on one line, since a table cell that may break
// anywhere can be squeezed a letter wide by a long neighbour.
const LONG_WORD = 32;
const longWord = new RegExp(`\\S{${LONG_WORD + 1}}`);

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
    if (!(c instanceof Node) && longWord.test(String(c))) e.classList.add("long");
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// bdi isolates a value others wrote (a customer id, a name, a value of an event) from
// the text around it: its own direction stays its own. A customer id holding U+202E
// (RIGHT-TO-LEFT OVERRIDE) reversed what followed it on the line, the count beside it
// read backwards ("evil: 21" for 12).
function bdi(v, attrs) { return el("bdi", attrs || {}, v); }

// bdiList is values, each isolated (bdi), with sep between them.
function bdiList(values, sep) { return values.flatMap((v, i) => i ? [sep, bdi(v)] : [bdi(v)]); }

// fmtCount writes a count with thousands separators ("3,000"), as the pagers say where
// a page is among all.
function fmtCount(n) { return Number(n).toLocaleString("en-US"); }

// KEPT_FIELDS are rule fields the editor shows no input for: a loaded rule keeps them
// as they were when saved again.
const KEPT_FIELDS = ["limits", "backfill", "alert"]; // alert.severity has an input (draft)

const state = {
  info: null,
  rules: [],
  alerts: [], // newest first
  alertIDs: new Set(), // alertKey of each shown
  deliveries: new Map(), // alertKey → delivery states (GET /deliveries)
  alertsError: "", // the daemon's problem reading the alerts topic (GET /alerts), if any
  touched: new Set(),
  showAll: false, // after a preview or save attempt, show every problem
  validateSeq: 0,
  // The preview and the backtest running (AbortController), each aborted by the one
  // that replaces it: the page shows the answer of the latest request only.
  running: { preview: null, backtest: null },
  editing: null, // key of the rule loaded into the editor
  // The rule the edit began from (save's base): its key and the version then active, 0
  // for a new rule. A save finds whether another version became active meanwhile.
  base: { key: "", version: 0 },
  kept: {}, // the loaded rule's fields the editor has no inputs for (limits, backfill, alert): kept as they are
  // The loaded rule's name, description and alert.severity as it wrote them (undefined:
  // absent), and the text each input showed for them: an input the user left as shown
  // gives the field as loaded (draft), so that an untouched Edit then Save publishes no
  // change where the input cannot show the text exactly (ends, newlines) or shows an
  // absent field as its default (severity medium).
  loaded: {},
};

// ---------- API ----------

// BigDigits is a number of the API's JSON that a Number would show with other digits:
// a 64-bit id beyond 2^53, which the engine keeps apart from its neighbours (users
// 9007199254740993 and 9007199254740992 are two groups) while a double holds both as
// 9007199254740992; or one past a double's range (1e999), which a Number holds as
// Infinity. It shows (String, templates) and is sent back (JSON.stringify) with
// the digits it came with, and computes and compares as the nearest Number.
class BigDigits {
  constructor(digits) { this.digits = digits; }
  toString() { return this.digits; }
  valueOf() { return Number(this.digits); }
  toJSON() { return JSON.rawJSON(this.digits); }
}

// parseJSON is JSON.parse but for such integers, which it keeps as BigDigits, and for
// numbers past a double's range, kept so too: the engine writes a value that overflows
// (an event's 1e400) as 1e999, a group apart from null, and a Number read it as
// Infinity, which JSON.stringify writes null. Every other number stays a Number: the
// engine writes its floats (sums, thresholds) as their shortest text, which a Number
// reads back with the same digits.
function parseJSON(text) {
  return JSON.parse(text, (key, v, ctx) =>
    typeof v === "number" && ctx && (!Number.isFinite(v) ||
      (!Number.isSafeInteger(v) && /^-?\d+$/.test(ctx.source) && String(v) !== ctx.source))
      ? new BigDigits(ctx.source) : v);
}

function authHeaders() {
  const t = $("#token").value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

// api calls the API. signal, when given, aborts the request (AbortController): the
// answer is then { status: 0, aborted: true }, which its caller shows nothing of, since
// the user asked for another. retryAfter is the daemon's Retry-After, in seconds (0
// without one).
async function api(method, path, body, signal) {
  const opts = { method, headers: { ...authHeaders() }, signal };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(API + path, opts);
  } catch (e) {
    if (signal && signal.aborted) return { status: 0, aborted: true, data: { error: "aborted" } };
    // No answer (the daemon restarting, the connection dropped): status 0, with why,
    // so that every caller says the request failed rather than keep its last result.
    return { status: 0, data: { error: "no answer from the daemon (" + e.message + ")" } };
  }
  let data = null;
  try { data = parseJSON(await resp.text()); } catch (e) {
    // Aborted while the body was still coming.
    if (signal && signal.aborted) return { status: 0, aborted: true, data: { error: "aborted" } };
    data = { error: "the daemon answered " + resp.status + " without JSON" };
  }
  return { status: resp.status, data, retryAfter: Number(resp.headers.get("Retry-After")) || 0 };
}
