// naiad ui: shared state, helpers, selection and routing. Plain JavaScript, no build step:
// util.js, table.js, charts.js, pages.js and app.js share one global scope, loaded in that order.
// Every string from the store is put in the page with textContent (via el()), never as HTML.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a"];
const ROW_H = 30;
const POLL_MS = 2000;
const FIRST_PAGE = 100;

const S = {
  project: null, heads: true, filter: "", columns: "", sort: "sys/creation_time", asc: false,
  table: { columns: [], rows: [], total: 0 }, selected: new Map(), view: "runs",
  x: "step", log: false, smooth: 0, stitch: true, pathFilter: "", live: true,
  onlyDiff: true, compareSys: false, compareFilter: "", runPage: null,
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

async function api(route, params) {
  const qs = new URLSearchParams();
  if (S.project) qs.append("project", S.project);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => qs.append(k, x)); else qs.append(k, v);
  }
  const resp = await fetch(`api/${route}?${qs}`, { headers: { Accept: "application/json" } });
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

function stateDot(state, failed) {
  const cls = failed ? "failed" : state === "active" ? "active" : "inactive";
  const title = failed ? "failed" : state || "";
  return el("span", { class: `state ${cls}`, title }, el("i"), failed ? "failed" : state || "");
}

// -- selection -------------------------------------------------------------------------------
function select(run, on) {
  if (on && !S.selected.has(run)) {
    const used = new Set([...S.selected.values()].map((s) => s.color));
    const color = PALETTE.find((c) => !used.has(c)) || PALETTE[S.selected.size % PALETTE.length];
    S.selected.set(run, { color });
  } else if (!on) {
    S.selected.delete(run);
  }
  saveSelection();
  renderSelection();
}

function saveSelection() {
  try { localStorage.setItem(`naiad.selected.${S.project}`, JSON.stringify([...S.selected.keys()])); }
  catch (e) { /* private mode */ }
}

function loadSelection() {
  S.selected.clear();
  try {
    const ids = JSON.parse(localStorage.getItem(`naiad.selected.${S.project}`) || "[]");
    ids.forEach((id) => select(id, true));
  } catch (e) { /* nothing stored */ }
}

function renderSelection() {
  const n = S.selected.size;
  $("selection").replaceChildren(n ? el("span", { class: "muted", text: `${n} selected` }) : "",
    n ? el("button", { class: "link", text: "clear", onclick: () => { S.selected.clear(); saveSelection(); renderSelection(); renderTable(); } }) : "");
  renderLegend();
}

// -- routing ---------------------------------------------------------------------------------
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const runs = params.getAll("run");
  if (runs.length && runs.join("\u0000") !== [...S.selected.keys()].join("\u0000")) {
    S.selected.clear();
    runs.forEach((r) => select(r, true));
  }
  const [view, ...rest] = path.split("/");
  S.view = ["charts", "compare", "run"].includes(view) ? view : "runs";
  for (const v of ["runs", "charts", "compare", "run"]) $(`view-${v}`).hidden = v !== S.view;
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("on", a.dataset.view === S.view));
  if (S.view === "runs") renderTable();
  if (S.view === "charts") Charts.show();
  if (S.view === "compare") showCompare();
  if (S.view === "run") showRun(decodeURIComponent(rest.join("/")));
}
