"use strict";
// naiad ui: live polling, wiring of the controls, keyboard shortcuts, saved views, start-up.

// -- live ------------------------------------------------------------------------------------
// The page re-reads when the store says its runs changed: /api/changes (both `naiad ui` and
// `naiad server`) answers at once when the token we hold is stale, else once a write lands or
// after its wait. Re-reads are at least LIVE_MIN_MS apart, so a run logging every millisecond
// costs a few reads a second; where the wait fails, the page polls every POLL_MS instead.
const LIVE_MIN_MS = 300, CHANGES_WAIT_S = 20;
let changeToken = null;

async function refreshLive() {
  if (S.view === "runs") await tableLive();
  else if (S.view === "charts") await Charts.live();
  else if (S.view === "run" && S.runPage && S.runPage.state === "active") {
    for (const p of document.querySelectorAll("[data-console]")) await p.poll();
  }
}

async function poll() {
  let next = POLL_MS;
  if (S.live && !document.hidden) {
    const started = performance.now();
    try {
      const res = await api("changes", { since: changeToken, wait: changeToken === null ? 0 : CHANGES_WAIT_S });
      const moved = res.token !== changeToken;
      changeToken = res.token;
      next = Math.max(0, LIVE_MIN_MS - (performance.now() - started));
      if (!moved) { setTimeout(poll, next); return; }  // the wait ran out: nothing to re-read
    } catch (e) { changeToken = null; }  // no change feed now: re-read, and poll
    try { await refreshLive(); } catch (e) { toast(e.message); }
  }
  setTimeout(poll, next);
}

function nextFrame() {  // the next painted frame (or 100 ms in a hidden tab, which paints none)
  return new Promise((resolve) => { requestAnimationFrame(() => resolve()); setTimeout(resolve, 100); });
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// -- saved views (kept in the store) ------------------------------------------------------------
async function loadViews() {
  try { renderViews((await api("views")).views); } catch (e) { /* an old server */ }
}

function renderViews(views) {
  window.naiadViews = views;
  $("views").replaceChildren(el("option", { value: "", text: views.length ? "Saved views…" : "No saved views" }),
    ...views.map((v) => el("option", { value: v.url, text: v.name })));
}

async function saveView() {
  const name = $("view-name").value.trim();
  if (!name) { $("view-name").focus(); return; }
  try {
    renderViews((await api("views", {}, { name, url: location.hash || "#/runs" })).views);
    $("view-name").value = "";
    toast(`Saved view '${name}'.`);
  } catch (e) { toast(e.message); }
}

// -- keyboard --------------------------------------------------------------------------------
function onKey(e) {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (e.key === "Escape" && typing) { document.activeElement.blur(); return; }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "/") {
    e.preventDefault();
    const box = S.view === "charts" ? $("path-filter") : S.view === "compare" ? $("compare-filter") : $("filter");
    if (S.view !== "runs" && S.view !== "charts" && S.view !== "compare") { go("runs"); setTimeout(() => box.focus(), 0); }
    else box.focus();
  } else if (e.key === "j" || e.key === "k") {
    const d = e.key === "j" ? 1 : -1;
    if (S.view === "run") neighbourRun(d);
    else if (S.view === "runs") moveCursor(d);
  } else if (e.key === "Enter" && S.view === "runs" && S.table.rows[S.cursor]) {
    go("run", S.table.rows[S.cursor].run);
  } else if (e.key === "x" && S.view === "runs" && S.table.rows[S.cursor]) {
    const r = S.table.rows[S.cursor].run;
    select(r, !S.selected.has(r));
    renderTable();
  }
}

// -- wiring ----------------------------------------------------------------------------------
async function init() {
  const info = await api("info");
  S.project = info.project;
  const sel = $("project");
  sel.replaceChildren(...info.projects.map((p) => el("option", { value: p, text: p })));
  sel.value = info.project;
  sel.addEventListener("change", () => { S.project = sel.value; loadSelection(); Charts.key = null; lastTableKey = null; loadViews(); route(); });
  if (!/[?&]run=/.test(location.hash)) loadSelection();

  const changed = (fn) => (...a) => { fn(...a); writeURL(); };
  document.querySelectorAll("#mode button").forEach((b) => b.addEventListener("click", changed(() => {
    S.heads = b.dataset.heads === "1";
    document.querySelectorAll("#mode button").forEach((x) => x.classList.toggle("on", x === b));
    S.sort = DEFAULTS.sort; S.asc = false; S.cursor = -1;
    loadTable();
  })));
  $("filter").addEventListener("keydown", (e) => { if (e.key === "Enter") { S.filter = e.target.value.trim(); writeURL(); loadTable(); } });
  $("filter").addEventListener("input", debounce((e) => { if (e.target.value.trim() === "" && S.filter) { S.filter = ""; writeURL(); loadTable(); } }, 300));
  const setColumns = (e) => { if (S.columns !== e.target.value.trim()) { S.columns = e.target.value.trim(); writeURL(); loadTable(); } };
  $("columns").addEventListener("keydown", (e) => { if (e.key === "Enter") setColumns(e); });
  $("columns").addEventListener("change", setColumns);
  $("table").addEventListener("scroll", () => requestAnimationFrame(() => renderTable(false, false)), { passive: true });
  window.addEventListener("resize", debounce(() => { renderTable(); for (const c of Charts.charts.values()) c.resize(); }, 150));

  document.querySelectorAll("#xmode button").forEach((b) => b.addEventListener("click", changed(() => {
    S.x = b.dataset.x;
    S.zoom = null;
    document.querySelectorAll("#xmode button").forEach((x) => x.classList.toggle("on", x === b));
    Charts.show();
  })));
  $("logy").addEventListener("change", changed((e) => { S.log = e.target.checked; Charts.redraw(); }));
  $("stitch").addEventListener("change", changed((e) => { S.stitch = e.target.checked; Charts.show(); }));
  $("group").addEventListener("change", changed((e) => { S.group = e.target.value.trim(); Charts.key = null; Charts.show(); }));
  $("smooth").addEventListener("input", changed((e) => { S.smooth = +e.target.value; $("smooth-value").textContent = e.target.value; Charts.redraw(); }));
  $("path-filter").addEventListener("input", debounce(changed((e) => { S.pathFilter = e.target.value; if (Charts.paths) Charts.layout(Charts.paths); }), 250));
  $("live").addEventListener("change", (e) => { S.live = e.target.checked; });
  $("only-diff").addEventListener("change", changed((e) => { S.onlyDiff = e.target.checked; showCompare(); }));
  $("compare-sys").addEventListener("change", changed((e) => { S.compareSys = e.target.checked; showCompare(); }));
  $("compare-filter").addEventListener("input", debounce(changed((e) => { S.compareFilter = e.target.value; showCompare(); }), 250));
  const setParams = changed(() => { S.axes = $("params-axes").value.trim(); S.metric = $("params-metric").value.trim(); Params.show(); });
  $("params-axes").addEventListener("change", setParams);
  $("params-metric").addEventListener("change", setParams);
  $("view-save").addEventListener("click", saveView);
  $("view-name").addEventListener("keydown", (e) => { if (e.key === "Enter") saveView(); });
  $("views").addEventListener("change", (e) => { if (e.target.value.startsWith("#/")) location.hash = e.target.value; e.target.value = ""; });
  document.querySelectorAll("#tabs a").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); go(a.dataset.view); }));
  document.addEventListener("keydown", onKey);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { Charts.key = null; if (S.view === "charts") Charts.show(); });
  window.addEventListener("hashchange", route);

  route();
  loadViews();
  if (!location.hash.includes("run=") && !S.selected.size && S.view === "runs") {
    const wait = () => (window.naiadTable.renderedAt ? Promise.resolve() : new Promise((r) => setTimeout(r, 50)).then(wait));
    await wait();
    if (!S.selected.size) { S.table.rows.slice(0, 5).forEach((r) => r && select(r.run, true, true)); saveSelection(); renderSelection(); renderTable(); }
  }
  api("columns").then((res) => {  // after the table: it should not wait for this
    $("column-paths").replaceChildren(...res.columns.map((c) => el("option", { value: c.path, text: c.type })));
    window.naiadColumns = res.columns;
  }).catch(() => {});
  setTimeout(poll, POLL_MS);
}

// everything a test or a benchmark reads of the page: data, scales, the address
window.__naiad = {
  get url() { return location.hash; },
  get state() { return { ...S, selected: [...S.selected.keys()], colors: Object.fromEntries([...S.selected].map(([r, s]) => [r, s.color])), table: undefined, runPage: undefined }; },
  get charts() { return window.naiadCharts; },
  get chartPaths() { return window.naiadChartPaths || []; },
  get table() { return window.naiadTable; },
  get run() { return window.naiadRun; },
  get media() { return window.naiadMedia; },
  get gallery() { return window.naiadGallery; },
  get params() { return window.naiadParams; },
  get compare() { return window.naiadCompare; },
  get views() { return window.naiadViews; },
  get theme() { return theme(); },
  get pending() { return window.naiadStats.chartsPending; },
};

init().catch((e) => toast(`naiad ui could not start: ${e.message}`));
