"use strict";
// The runs table: server-side filter, sort and paging; virtualized rows; live rows.

// -- runs table ------------------------------------------------------------------------------
let tableSeq = 0;

function tableParams() {
  return { heads: S.heads ? "1" : "0", filter: S.filter, columns: S.columns, sort: S.sort, asc: S.asc ? "1" : "0" };
}

async function loadTable(opts) {
  const only = opts && opts.only;
  const seq = only ? tableSeq : ++tableSeq;  // a live patch must not cancel a full load
  if (!only) window.naiadTable.requestedAt = performance.now();
  const params = { ...tableParams(), run: only };
  const show = (data) => {
    if (only) {
      const byKey = new Map(data.rows.map((r) => [r.key, r]));
      S.table.rows = S.table.rows.map((r) => byKey.get(r.key) || r);
    } else {
      S.table = data;
    }
    Object.assign(window.naiadTable, { rows: S.table.rows, columns: S.table.columns, total: S.table.total });
    renderTable(!only);
  };
  try {
    // the first rows come back at once (SQL sorts and limits); the rest follows
    const first = await api("runs", only ? params : { ...params, limit: FIRST_PAGE });
    if (seq !== tableSeq) return;
    $("filter-error").hidden = true;
    window.naiadTable.error = null;
    show(first);
    await nextFrame();
    if (!only) window.naiadTable.firstRenderedAt = performance.now();
    if (!only && first.total > first.rows.length) {
      const all = await api("runs", params);
      if (seq !== tableSeq) return;
      show(all);
      await nextFrame();
    }
    if (!only) window.naiadTable.renderedAt = performance.now();
  } catch (e) {
    if (seq !== tableSeq) return;
    const box = $("filter-error");
    box.textContent = e.message;
    box.hidden = false;
    window.naiadTable.error = e.message;
  }
}

function headerCell(label, sortPath, cls) {
  const on = S.sort === sortPath;
  return el("div", {
    class: `th ${cls || ""} ${sortPath ? "sortable" : ""} ${on ? "sorted" : ""}`, title: sortPath || label,
    onclick: sortPath ? () => {
      if (S.sort === sortPath) S.asc = !S.asc; else { S.sort = sortPath; S.asc = true; }
      loadTable();
    } : null,
  }, headerLabel(label), on ? el("span", { class: "arrow", text: S.asc ? " ▲" : " ▼" }) : "");
}

function headerLabel(path) {  // namespace small on top, the field's own name below
  const cut = path.lastIndexOf("/");
  if (cut < 0) return el("span", { class: "leafname", text: path });
  return el("span", { class: "stack" }, el("span", { class: "ns", text: path.slice(0, cut + 1) }),
    el("span", { class: "leafname", text: path.slice(cut + 1) }));
}

function renderTable(fresh, rebuild) {
  const cols = S.table.columns;
  const widths = [46, 230, 96, 150, ...cols.map((c) => (c.endsWith("_time") ? 160 : 124))];
  const template = widths.map((w) => `${w}px`).join(" ");
  const head = $("thead");
  const inner = $("table-inner");
  if (fresh || !head.firstChild) {
    inner.style.setProperty("--cols", template);  // one grid template for the header and every row
    inner.style.width = `${widths.reduce((a, b) => a + b, 0)}px`;
    head.replaceChildren(
      el("div", { class: "th" }),
      headerCell(S.heads ? "Experiment" : "Run", S.heads ? "sys/name" : "sys/custom_run_id", "name"),
      headerCell("State", "sys/state"),
      headerCell("Tags", null),
      ...cols.map((c) => headerCell(c, c)));
  }
  const n = Math.max(S.table.rows.length, S.table.total || 0);
  $("count").textContent = `${S.table.total} ${S.heads ? "experiments" : "runs"}`;
  const body = $("tbody");
  body.style.height = `${n * ROW_H}px`;
  const box = $("table");
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 10);
  const last = Math.min(n, Math.ceil((box.scrollTop + box.clientHeight) / ROW_H) + 10);
  // virtualized: only the rows in view exist; rows still in view are kept, not rebuilt
  const pool = renderTable.pool;
  if (rebuild !== false || pool.template !== template) { pool.clear(); body.replaceChildren(); pool.template = template; }
  for (const [i, node] of pool) if (i < first || i >= last || (node.loading && S.table.rows[i])) { node.remove(); pool.delete(i); }
  const added = [];
  for (let i = first; i < last; i++) {
    if (pool.has(i)) continue;
    const r = S.table.rows[i];
    const node = r ? tableRow(r, i, template, cols)
      : el("div", { class: "tr loading", style: { top: `${i * ROW_H}px` } }, el("div", { class: "td muted", text: "…" }));
    node.loading = !r;
    pool.set(i, node);
    added.push(node);
  }
  body.append(...added);
  if (!n) body.replaceChildren(el("div", { class: "empty", text: S.filter ? "No run matches the filter." : "No runs in this project yet." }));
}
renderTable.pool = new Map();

function tableRow(r, i, template, cols) {
  const sel = S.selected.get(r.run);
  const box = el("input", { type: "checkbox", title: "Show in charts and compare" });
  box.checked = !!sel;
  box.addEventListener("change", () => { select(r.run, box.checked); renderTable(); });
  const name = el("div", { class: "td name" },
    el("a", { href: `#/run/${encodeURIComponent(r.run)}`, text: S.heads && r.experiment ? r.experiment : r.run }),
    S.heads && r.experiment && r.experiment !== r.run ? el("span", { class: "muted small", text: ` ${r.run}` }) : "");
  return el("div", {
    class: `tr ${sel ? "selected" : ""}`, style: { top: `${i * ROW_H}px` },
    "data-key": r.key,
  },
  el("div", { class: "td check" }, sel ? el("span", { class: "swatch", style: { background: sel.color } }) : "", box),
  name,
  el("div", { class: "td" }, stateDot(r.state, r.failed)),
  el("div", { class: "td tags" }, ...(r.tags || []).map((t) => el("span", { class: "tag", text: t }))),
  ...r.cells.map((v, j) => el("div", { class: `td ${typeof v === "number" ? "num" : ""}`, title: `${cols[j]}: ${fmt(v)}`, text: fmt(v) })));
}

async function tableLive() {
  tableLive.tick = (tableLive.tick || 0) + 1;
  const active = S.table.rows.filter((r) => r.state === "active").map((r) => r.key);
  if (active.length && active.length <= 500) await loadTable({ only: active });
  if (tableLive.tick % 5 === 0) {  // every 10 s: did runs come or go?
    const head = await api("runs", { ...tableParams(), limit: 1 });
    if (head.total !== S.table.total) await loadTable();
  }
}
