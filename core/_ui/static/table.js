"use strict";
// The runs table: server-side filter, sort and paging (pages load as they scroll into view);
// virtualized rows; a sticky name column; columns the user resizes and reorders; live rows.

let tableSeq = 0;
const FIXED = () => [
  { id: "check", label: "", width: 46 },
  { id: "name", label: S.heads ? "Experiment" : "Run", sort: S.heads ? "sys/name" : "sys/custom_run_id", width: 230 },
  { id: "state", label: "State", sort: "sys/state", width: 96 },
  ...(S.heads ? [] : [{ id: "experiment", label: "Experiment", sort: "sys/experiment/name", width: 150 }]),
  { id: "parent", label: "Parent", sort: "sys/forking/parent", width: 150 },
  { id: "tags", label: "Tags", width: 140 },
  { id: "created", label: "Created", sort: "sys/creation_time", width: 170 },
];

function tableParams() {
  return { heads: S.heads ? "1" : "0", filter: S.filter, sort: S.sort, asc: S.asc ? "1" : "0" };
}

function widthOf(path) {
  const saved = (tableWidths()[path]);
  return saved || (path.endsWith("_time") ? 160 : 124);
}

function tableWidths() {
  try { return JSON.parse(localStorage.getItem("naiad.widths") || "{}"); } catch (e) { return {}; }
}

function setWidth(path, w) {
  const all = tableWidths();
  all[path] = Math.max(40, Math.round(w));
  try { localStorage.setItem("naiad.widths", JSON.stringify(all)); } catch (e) { /* private mode */ }
}

function csvHref() {
  const p = apiQuery({ ...tableParams(), col: S.table.columns });
  if (!S.table.columns.length) p.append("col", "");
  return `api/runs.csv?${p}`;
}

async function loadTable() {
  const seq = ++tableSeq;
  lastTableKey = JSON.stringify([S.project, S.heads, S.filter, S.columns, S.sort, S.asc]);
  window.naiadTable.requestedAt = performance.now();
  window.naiadTable.firstRenderedAt = 0;
  try {
    // the first rows do not wait for the count: a full first page is drawn as "100+" until it comes
    const first = await api("runs", { ...tableParams(), columns: S.columns, limit: PAGE, total: "0" });
    if (seq !== tableSeq) return;
    $("filter-error").hidden = true;
    window.naiadTable.error = null;
    S.table = { columns: first.columns, types: first.types || {}, rows: first.rows, total: first.total, pages: new Set([0]) };
    S.cursor = Math.min(S.cursor, first.rows.length - 1);
    exposeTable();
    renderTable(true);
    $("csv").href = csvHref();
    await nextFrame();
    window.naiadTable.firstRenderedAt = performance.now();
    window.naiadTable.renderedAt = performance.now();
    if (first.total === null) {
      const { total } = await api("count", { heads: tableParams().heads, filter: S.filter });
      if (seq !== tableSeq) return;
      S.table.total = total;
      exposeTable();
      renderTable(false, false);
    }
  } catch (e) {
    if (seq !== tableSeq) return;
    const box = $("filter-error");
    box.textContent = e.message;
    box.hidden = false;
    window.naiadTable.error = e.message;
    window.naiadTable.renderedAt = performance.now();
  }
}

async function loadPage(page) {  // rows page*PAGE ... as they scroll into view
  const t = S.table;
  if (t.pages.has(page)) return;
  t.pages.add(page);
  const seq = tableSeq;
  try {
    const res = await api("runs", { ...tableParams(), col: t.columns.length ? t.columns : [""], offset: page * PAGE, limit: PAGE, total: "0" });
    if (seq !== tableSeq) return;
    res.rows.forEach((r, i) => { t.rows[page * PAGE + i] = remap(r, res.columns); });
    exposeTable();
    renderTable(false, false);
  } catch (e) { t.pages.delete(page); toast(e.message); }
}

function remap(row, columns) {  // a row's cells put under this table's columns, by name
  if (columns.join("\u0000") === S.table.columns.join("\u0000")) return row;
  const at = new Map(columns.map((c, i) => [c, i]));
  return { ...row, cells: S.table.columns.map((c) => (at.has(c) ? row.cells[at.get(c)] : null)) };
}

function exposeTable() {
  Object.assign(window.naiadTable, {
    rows: S.table.rows.filter(Boolean), columns: S.table.columns, total: S.table.total, types: S.table.types,
  });
}

function headerCell(col, key, i) {
  const on = col.sort && S.sort === col.sort;
  const isAgg = /^(min|max)\(/.test(key || "");
  const sortPath = isAgg ? null : col.sort;
  const cell = el("div", {
    class: `th ${col.id === "name" ? "name" : ""} ${col.id === "check" ? "check" : ""} ${sortPath ? "sortable" : ""} ${on ? "sorted" : ""}`,
    title: key || col.label, "data-col": key || col.id, draggable: key ? "true" : null,
    onclick: sortPath ? (e) => {
      if (e.target.classList.contains("resize")) return;
      if (S.sort === sortPath) S.asc = !S.asc; else { S.sort = sortPath; S.asc = true; }
      writeURL(); loadTable();
    } : null,
  }, key ? headerLabel(AGG.test(key) ? key.replace(AGG, "$2") : key) : el("span", { class: "leafname", text: col.label }),
  on ? el("span", { class: "arrow", text: S.asc ? " ▲" : " ▼" }) : "",
  key && S.table.types[key] === "FloatSeries" ? aggregatePicker(key) : "");
  if (key) {
    const handle = el("span", { class: "resize", title: "Drag to resize" });
    handle.addEventListener("pointerdown", (e) => startResize(e, key, cell));
    handle.addEventListener("click", (e) => e.stopPropagation());
    cell.append(handle);
    cell.addEventListener("dragstart", (e) => { e.dataTransfer.setData("text/plain", key); });
    cell.addEventListener("dragover", (e) => e.preventDefault());
    cell.addEventListener("drop", (e) => { e.preventDefault(); moveColumn(e.dataTransfer.getData("text/plain"), key); });
  }
  return cell;
}

const AGG = /^(last|min|max)\((.+)\)$/;

function aggregatePicker(key) {  // a float series column shows its last, lowest or highest value
  const m = key.match(AGG);
  const path = m ? m[2] : key;
  const pick = el("select", { class: "agg", title: "Which value of the series this column shows" },
    ...["last", "min", "max"].map((a) => el("option", { value: a, text: a })));
  pick.value = m ? m[1] : "last";
  pick.addEventListener("click", (e) => e.stopPropagation());  // not a click on the header: no sort
  pick.addEventListener("change", () => {
    const want = pick.value === "last" ? path : `${pick.value}(${path})`;
    const cols = S.table.columns.map((c) => (c === key ? want : c));
    if (S.sort === key) S.sort = want;
    S.columns = cols.join(", ");
    $("columns").value = S.columns;
    writeURL();
    loadTable();
  });
  return pick;
}

function startResize(e, key, cell) {
  e.preventDefault();
  e.stopPropagation();
  const x0 = e.clientX, w0 = cell.getBoundingClientRect().width;
  const move = (ev) => { setWidth(key, w0 + ev.clientX - x0); renderTable(true); };
  const up = () => { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

function moveColumn(from, to) {  // the column order becomes the columns box's explicit list
  const cols = [...S.table.columns];
  const i = cols.indexOf(from), j = cols.indexOf(to);
  if (i < 0 || j < 0 || i === j) return;
  cols.splice(j, 0, cols.splice(i, 1)[0]);
  S.columns = cols.join(", ");
  $("columns").value = S.columns;
  writeURL();
  loadTable();
}

function headerLabel(path) {  // namespace small on top, the field's own name below
  const cut = path.lastIndexOf("/");
  if (cut < 0) return el("span", { class: "leafname", text: path });
  return el("span", { class: "stack" }, el("span", { class: "ns", text: path.slice(0, cut + 1) }),
    el("span", { class: "leafname", text: path.slice(cut + 1) }));
}

function renderTable(fresh, rebuild) {
  const cols = S.table.columns;
  const fixed = FIXED();
  const widths = [...fixed.map((c) => c.width), ...cols.map(widthOf)];
  const template = widths.map((w) => `${w}px`).join(" ");
  const head = $("thead");
  const inner = $("table-inner");
  if (fresh || !head.firstChild) {
    inner.style.setProperty("--cols", template);  // one grid template for the header and every row
    inner.style.width = `${widths.reduce((a, b) => a + b, 0)}px`;
    head.replaceChildren(...fixed.map((c) => headerCell(c, null)), ...cols.map((c, i) => headerCell({ id: "col", sort: c }, c, i)));
  }
  const counted = S.table.total !== null && S.table.total !== undefined;
  const n = counted ? S.table.total : S.table.rows.length;
  $("count").textContent = `${n}${counted ? "" : "+"} ${S.heads ? "experiments" : "runs"}`;
  const body = $("tbody");
  body.style.height = `${n * ROW_H}px`;
  const box = $("table");
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 10);
  const last = Math.min(n, Math.ceil((box.scrollTop + box.clientHeight) / ROW_H) + 10);
  const pool = renderTable.pool;
  if (rebuild !== false || pool.template !== template) { pool.clear(); body.replaceChildren(); pool.template = template; }
  for (const [i, node] of pool) if (i < first || i >= last || (node.loading && S.table.rows[i]) || node.cursor !== (i === S.cursor)) { node.remove(); pool.delete(i); }
  const added = [];
  for (let i = first; i < last; i++) {
    if (pool.has(i)) continue;
    const r = S.table.rows[i];
    if (!r && S.table.pages) loadPage(Math.floor(i / PAGE));
    const node = r ? tableRow(r, i, cols)
      : el("div", { class: "tr loading", style: { top: `${i * ROW_H}px` } }, el("div", { class: "td muted", text: "…" }));
    node.loading = !r;
    node.cursor = i === S.cursor;
    pool.set(i, node);
    added.push(node);
  }
  body.append(...added);
  if (!n) body.replaceChildren(el("div", { class: "empty", text: S.filter ? "No run matches the filter." : "No runs in this project yet." }));
}
renderTable.pool = new Map();

function tableRow(r, i, cols) {
  const sel = S.selected.get(r.run);
  const box = el("input", { type: "checkbox", title: "Show in charts and compare" });
  box.checked = !!sel;
  box.addEventListener("change", () => { select(r.run, box.checked); renderTable(); });
  const name = el("div", { class: "td name" },
    el("a", { href: viewURL("run", r.run), text: S.heads && r.experiment ? r.experiment : r.run }),
    S.heads && r.experiment && r.experiment !== r.run ? el("span", { class: "muted small", text: ` ${r.run}` }) : "");
  const parent = r.parent ? el("div", { class: "td parent" }, el("a", { href: viewURL("run", r.parent), text: r.parent }),
    el("span", { class: "muted small", text: ` @ ${fmt(r.fork_step)}` })) : el("div", { class: "td muted", text: "" });
  return el("div", {
    class: `tr ${sel ? "selected" : ""} ${i === S.cursor ? "cursor" : ""}`, style: { top: `${i * ROW_H}px` },
    "data-key": r.key, "data-run": r.run,
  },
  el("div", { class: "td check" }, sel ? el("span", { class: "swatch", style: { background: sel.color } }) : "", box),
  name,
  el("div", { class: "td" }, stateDot(r.state)),
  S.heads ? "" : el("div", { class: "td", text: r.experiment || "" }),
  parent,
  el("div", { class: "td tags" }, ...(r.tags || []).map((t) => el("span", { class: "tag", text: t }))),
  el("div", { class: "td", text: fmt(r.created) }),
  ...r.cells.map((v, j) => el("div", { class: `td ${typeof v === "number" ? "num" : ""}`, "data-col": cols[j], title: `${cols[j]}: ${fmt(v)}`, text: fmt(v) })));
}

async function tableLive() {
  tableLive.tick = (tableLive.tick || 0) + 1;
  const active = S.table.rows.filter((r) => r && r.state === "active").map((r) => r.key);
  if (active.length && active.length <= 500) {
    const seq = tableSeq;
    const res = await api("runs", { ...tableParams(), col: S.table.columns.length ? S.table.columns : [""], run: active });
    if (seq !== tableSeq) return;
    const byKey = new Map(res.rows.map((r) => [r.key, remap(r, res.columns)]));
    S.table.rows = S.table.rows.map((r) => (r && byKey.get(r.key)) || r);
    exposeTable();
    renderTable(false);
  }
  if (tableLive.tick % 5 === 0) {  // every 10 s: did runs come or go?
    const { total } = await api("count", { heads: tableParams().heads, filter: S.filter });
    if (S.table.total !== null && total !== S.table.total) await loadTable();
  }
}

function moveCursor(d) {  // j / k through the rows
  const n = S.table.rows.length;
  if (!n) return;
  S.cursor = Math.max(0, Math.min(n - 1, S.cursor + d));
  const box = $("table");
  const top = S.cursor * ROW_H;
  if (top < box.scrollTop + ROW_H) box.scrollTop = Math.max(0, top - ROW_H);
  else if (top > box.scrollTop + box.clientHeight - 2 * ROW_H) box.scrollTop = top - box.clientHeight + 2 * ROW_H;
  renderTable(false, false);
  window.naiadTable.cursor = S.table.rows[S.cursor] && S.table.rows[S.cursor].run;
}
