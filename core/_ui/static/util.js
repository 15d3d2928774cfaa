// naiad ui: shared state, helpers, colours, selection, the address (every view option lives
// in it, so a view survives a reload and can be shared) and routing. Plain JavaScript, no build
// step: util.js, table.js, charts.js, media.js, params.js, pages.js and app.js share one global
// scope, loaded in that order. Every string from the store is put in the page with textContent
// (via el()), never as HTML.
"use strict";

const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const ROW_H = 30;
const POLL_MS = 2000;
const PAGE = 100;
const VIEWS = ["runs", "charts", "media", "params", "compare", "run"];

// defaults of everything the address can hold; only what differs is written to it
const DEFAULTS = {
  heads: true, filter: "", columns: "", sort: "sys/creation_time", asc: false,
  x: "step", log: false, smooth: 0, stitch: true, pathFilter: "", zoom: null, group: "",
  axes: "", metric: "", onlyDiff: true, compareSys: false, compareFilter: "",
};
const S = {
  project: null, view: "runs", runId: null, ...DEFAULTS,
  table: { columns: [], types: {}, rows: [], total: 0 }, selected: new Map(), live: true, runPage: null,
  cursor: -1,
};
window.naiadCharts = {};
window.naiadTable = { rows: [], columns: [], total: 0, requestedAt: 0, renderedAt: 0 };
window.naiadStats = { chartsPending: 0, errors: [] };

// -- helpers ---------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

class ApiError extends Error {
  constructor(message, body) { super(message); this.body = body; }
}

function apiQuery(params) {
  const qs = new URLSearchParams();
  if (S.project) qs.append("project", S.project);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => qs.append(k, x)); else qs.append(k, v);
  }
  return qs;
}

async function api(route, params, post) {
  const init = { headers: { Accept: "application/json" } };
  if (post) Object.assign(init, { method: "POST", body: JSON.stringify(post), headers: { ...init.headers, "Content-Type": "application/json" } });
  const resp = await fetch(`api/${route}?${apiQuery(params)}`, init);
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (!resp.ok) throw new ApiError(body.error || `HTTP ${resp.status}`, body);
  return body;
}

function toast(message) {
  const t = $("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
  window.naiadStats.errors.push(message);
}

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4).replace(/\.?0+e/, "e") : String(+v.toPrecision(6));
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "object") return v.name ? `${v.name} (${fmtBytes(v.size)})` : JSON.stringify(v);
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(v)) {
    const d = new Date(v);
    if (!isNaN(d)) {
      const p = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }
  }
  return String(v);
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

function fmtDuration(s) {
  if (s === null || s === undefined || isNaN(s)) return "";
  const a = Math.abs(s);
  if (a === 0) return "0s";
  if (a < 1) return `${+(s * 1000).toPrecision(3)}ms`;
  if (a < 60) return `${+s.toFixed(a < 10 ? 2 : 1)}s`;
  if (a < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  if (a < 86400) return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.round((s % 86400) / 3600)}h`;
}

function stateDot(state) {
  const cls = state === "failed" ? "failed" : state === "active" ? "active" : "inactive";
  return el("span", { class: `state ${cls}`, title: state || "" }, el("i"), state || "");
}

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function theme() { return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"; }

// -- colours: distinct for any number of runs, and a run keeps its colour -------------------------
function colorAt(i) {
  if (i < TAB10.length) return TAB10[i];
  const hue = ((i - TAB10.length) * 137.508 + 20) % 360;  // golden angle: never the same hue twice
  const light = [48, 62, 38][i % 3];
  return `hsl(${hue.toFixed(1)}, 68%, ${light}%)`;
}

function colorMemory() {
  try { return JSON.parse(localStorage.getItem(`naiad.colors.${S.project}`) || "{}"); } catch (e) { return {}; }
}

function assignColor(run) {
  const memory = colorMemory();
  const used = new Set([...S.selected.entries()].filter(([r]) => r !== run).map(([, s]) => s.index));
  let index = memory[run];
  if (index === undefined || used.has(index)) {
    index = 0;
    while (used.has(index)) index++;
    memory[run] = index;
    try { localStorage.setItem(`naiad.colors.${S.project}`, JSON.stringify(memory)); } catch (e) { /* private mode */ }
  }
  return { index, color: colorAt(index) };
}

// -- selection -------------------------------------------------------------------------------
function select(run, on, quiet) {
  if (on && !S.selected.has(run)) S.selected.set(run, assignColor(run));
  else if (!on) S.selected.delete(run);
  if (!quiet) { saveSelection(); renderSelection(); writeURL(); }
}

function setSelection(runs) {
  S.selected.clear();
  runs.forEach((r) => select(r, true, true));
  saveSelection();
  renderSelection();
}

function saveSelection() {
  try { localStorage.setItem(`naiad.selected.${S.project}`, JSON.stringify([...S.selected.keys()])); }
  catch (e) { /* private mode */ }
}

function loadSelection() {
  let ids = [];
  try { ids = JSON.parse(localStorage.getItem(`naiad.selected.${S.project}`) || "[]"); } catch (e) { /* nothing stored */ }
  setSelection(ids);
}

function renderSelection() {
  const n = S.selected.size;
  $("selection").replaceChildren(n ? el("span", { class: "muted", text: `${n} selected` }) : "",
    n ? el("button", { class: "link", text: "clear", onclick: () => { setSelection([]); writeURL(); renderTable(); if (S.view === "charts") Charts.show(); } }) : "");
  renderLegend();
}

// -- the address -----------------------------------------------------------------------------
function viewParams(view) {  // what a view's address holds
  const p = new URLSearchParams();
  const put = (k, v, d) => { if (v !== d && v !== null && v !== undefined && v !== "") p.set(k, v === true ? "1" : v === false ? "0" : String(v)); };
  if (view === "runs" || view === "params") {
    put("heads", S.heads, true); put("filter", S.filter, ""); put("columns", S.columns, "");
    put("sort", S.sort, DEFAULTS.sort); put("asc", S.asc, false);
  }
  if (view === "params") { put("axes", S.axes, ""); put("metric", S.metric, ""); }
  if (view === "charts") {
    put("metrics", S.pathFilter, ""); put("x", S.x, "step"); put("log", S.log, false); put("smooth", S.smooth, 0);
    put("stitch", S.stitch, true); put("group", S.group, "");
    if (S.zoom) p.set("zoom", S.zoom.map((v) => +v.toPrecision(8)).join(","));
  }
  if (view === "compare") { put("diff", S.onlyDiff, true); put("sys", S.compareSys, false); put("paths", S.compareFilter, ""); }
  if (["runs", "charts", "media", "compare", "params"].includes(view)) S.selected.forEach((_, r) => p.append("run", r));
  return p;
}

function viewURL(view, runId) {
  const qs = viewParams(view).toString();
  const path = view === "run" ? `#/run/${encodeURIComponent(runId)}` : `#/${view}`;
  return qs ? `${path}?${qs}` : path;
}

function writeURL() {  // the current view's state into the address, without a new history entry
  const url = viewURL(S.view, S.runId);
  if (location.hash !== url) history.replaceState(null, "", url);
  window.__naiadURL = url;
}

function go(view, runId) { location.hash = viewURL(view, runId); }

function readURL(params, view) {  // the address into the state (what it does not say: defaults)
  const get = (k) => params.get(k);
  const bool = (k, d) => (params.has(k) ? get(k) === "1" : d);
  if (view === "runs" || view === "params") {
    S.heads = bool("heads", true); S.filter = get("filter") || ""; S.columns = get("columns") || "";
    S.sort = get("sort") || DEFAULTS.sort; S.asc = bool("asc", false);
  }
  if (view === "params") { S.axes = get("axes") || ""; S.metric = get("metric") || ""; }
  if (view === "charts") {
    S.pathFilter = get("metrics") || ""; S.x = get("x") === "time" ? "time" : "step"; S.log = bool("log", false);
    S.smooth = Math.min(0.99, Math.max(0, +get("smooth") || 0)); S.stitch = bool("stitch", true); S.group = get("group") || "";
    const z = (get("zoom") || "").split(",").map(Number);
    S.zoom = z.length === 2 && z.every(isFinite) && z[0] < z[1] ? z : null;
  }
  if (view === "compare") { S.onlyDiff = bool("diff", true); S.compareSys = bool("sys", false); S.compareFilter = get("paths") || ""; }
  syncControls();
}

function syncControls() {  // the toolbars show the state
  $("filter").value = S.filter; $("columns").value = S.columns;
  document.querySelectorAll("#mode button").forEach((b) => b.classList.toggle("on", (b.dataset.heads === "1") === S.heads));
  document.querySelectorAll("#xmode button").forEach((b) => b.classList.toggle("on", b.dataset.x === S.x));
  $("logy").checked = S.log; $("stitch").checked = S.stitch; $("smooth").value = S.smooth;
  $("smooth-value").textContent = String(S.smooth); $("path-filter").value = S.pathFilter;
  $("group").value = S.group;
  $("only-diff").checked = S.onlyDiff; $("compare-sys").checked = S.compareSys; $("compare-filter").value = S.compareFilter;
}

// -- routing ---------------------------------------------------------------------------------
let lastTableKey = null;

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const cut = hash.indexOf("?");
  const path = cut < 0 ? hash : hash.slice(0, cut);
  const params = new URLSearchParams(cut < 0 ? "" : hash.slice(cut + 1));
  const [view, ...rest] = path.split("/");
  const before = S.view;
  S.view = VIEWS.includes(view) ? view : "runs";
  S.runId = S.view === "run" ? decodeURIComponent(rest.join("/")) : null;
  readURL(params, S.view);
  const runs = params.getAll("run");
  if (runs.length && runs.join("\u0000") !== [...S.selected.keys()].join("\u0000")) setSelection(runs);
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== S.view;
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("on", a.dataset.view === S.view));
  window.__naiadURL = location.hash;
  const tableKey = JSON.stringify([S.project, S.heads, S.filter, S.columns, S.sort, S.asc]);
  if (tableKey !== lastTableKey) loadTable();  // every view: j / k and the params view use its rows
  else if (S.view === "runs") renderTable(true);
  if (S.view === "charts") Charts.show();
  if (S.view === "media") Gallery.show();
  if (S.view === "params") Params.show();
  if (S.view === "compare") showCompare();
  if (S.view === "run") showRun(S.runId, before);
}
