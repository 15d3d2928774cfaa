"use strict";
// naiad ui: live polling, wiring of the controls, start-up.

// -- live ------------------------------------------------------------------------------------
async function poll() {
  if (S.live && !document.hidden) {
    try {
      if (S.view === "runs") await tableLive();
      else if (S.view === "charts") await Charts.live();
      else if (S.view === "run" && S.runPage && S.runPage.state === "active") {
        for (const p of document.querySelectorAll("[data-console]")) await p.poll();
      }
    } catch (e) { toast(e.message); }
  }
  setTimeout(poll, POLL_MS);
}

// -- wiring ----------------------------------------------------------------------------------
function nextFrame() {  // the next painted frame (or 100 ms in a hidden tab, which paints none)
  return new Promise((resolve) => { requestAnimationFrame(() => resolve()); setTimeout(resolve, 100); });
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

async function init() {
  const info = await api("info");
  S.project = info.project;
  const sel = $("project");
  sel.replaceChildren(...info.projects.map((p) => el("option", { value: p, text: p })));
  sel.value = info.project;
  sel.addEventListener("change", () => { S.project = sel.value; loadSelection(); Charts.key = null; loadTable(); route(); });
  loadSelection();

  document.querySelectorAll("#mode button").forEach((b) => b.addEventListener("click", () => {
    S.heads = b.dataset.heads === "1";
    document.querySelectorAll("#mode button").forEach((x) => x.classList.toggle("on", x === b));
    S.sort = "sys/creation_time"; S.asc = false;
    loadTable();
  }));
  $("filter").addEventListener("keydown", (e) => { if (e.key === "Enter") { S.filter = e.target.value.trim(); loadTable(); } });
  $("filter").addEventListener("input", debounce((e) => { if (e.target.value.trim() === "" && S.filter) { S.filter = ""; loadTable(); } }, 300));
  $("columns").addEventListener("keydown", (e) => { if (e.key === "Enter") { S.columns = e.target.value.trim(); loadTable(); } });
  $("columns").addEventListener("change", (e) => { S.columns = e.target.value.trim(); loadTable(); });
  $("table").addEventListener("scroll", () => requestAnimationFrame(() => renderTable(false, false)), { passive: true });
  window.addEventListener("resize", debounce(() => { renderTable(); for (const c of Charts.charts.values()) c.resize(); }, 150));

  document.querySelectorAll("#xmode button").forEach((b) => b.addEventListener("click", () => {
    S.x = b.dataset.x;
    document.querySelectorAll("#xmode button").forEach((x) => x.classList.toggle("on", x === b));
    Charts.show();
  }));
  $("logy").addEventListener("change", (e) => { S.log = e.target.checked; Charts.redraw(); });
  $("stitch").addEventListener("change", (e) => { S.stitch = e.target.checked; Charts.show(); });
  $("smooth").addEventListener("input", (e) => { S.smooth = +e.target.value; $("smooth-value").textContent = e.target.value; Charts.redraw(); });
  $("path-filter").addEventListener("input", debounce((e) => { S.pathFilter = e.target.value; if (Charts.paths) Charts.layout(Charts.paths); }, 250));
  $("live").addEventListener("change", (e) => { S.live = e.target.checked; });
  $("only-diff").addEventListener("change", (e) => { S.onlyDiff = e.target.checked; showCompare(); });
  $("compare-sys").addEventListener("change", (e) => { S.compareSys = e.target.checked; showCompare(); });
  $("compare-filter").addEventListener("input", debounce((e) => { S.compareFilter = e.target.value; showCompare(); }, 250));
  document.querySelectorAll("#tabs a").forEach((a) => a.addEventListener("click", (e) => {
    if (a.dataset.view === "charts" || a.dataset.view === "compare") {
      e.preventDefault();
      const qs = new URLSearchParams();
      S.selected.forEach((_, r) => qs.append("run", r));
      location.hash = `#/${a.dataset.view}${S.selected.size ? `?${qs}` : ""}`;
    }
  }));
  window.addEventListener("hashchange", route);

  const table = loadTable();
  const chosen = location.hash.includes("run=") || location.hash.startsWith("#/run/");
  if (chosen) route();  // charts, compare or a run page asked for by address: no need to wait
  await table;
  api("columns").then((res) => {  // after the table: it should not wait for this
    $("column-paths").replaceChildren(...res.columns.map((c) => el("option", { value: c.path, text: c.type })));
    window.naiadColumns = res.columns;
  }).catch(() => {});
  if (!chosen) {
    if (!S.selected.size && S.table.rows.length) S.table.rows.slice(0, 5).forEach((r) => select(r.run, true));
    route();
  }
  setTimeout(poll, POLL_MS);
}

init().catch((e) => toast(`naiad ui could not start: ${e.message}`));
