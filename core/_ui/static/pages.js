"use strict";
// Compare (runs side by side) and the run page (fields, lineage, files, console, sys).

// -- compare ---------------------------------------------------------------------------------
async function showCompare() {
  const runs = [...S.selected.keys()];
  const box = $("compare");
  if (runs.length < 1) { box.replaceChildren(el("div", { class: "empty muted", text: "Select runs in the table to compare them." })); return; }
  let data;
  try { data = await api("compare", { run: runs }); } catch (e) { toast(e.message); return; }
  window.naiadCompare = data;
  let re = null;
  try { re = S.compareFilter ? new RegExp(S.compareFilter) : null; } catch (e) { re = null; }
  for (const r of data.rows) r.differs = r.values.some((v) => !same(v, r.values[0]));
  const rows = data.rows.filter((r) => (!S.onlyDiff || r.differs) && (!re || re.test(r.path))
    && (S.compareSys || !r.path.startsWith("sys/")));
  const head = el("tr", {}, el("th", { text: "Path" }), ...runs.map((r) => el("th", {},
    el("span", { class: "swatch", style: { background: S.selected.get(r).color } }),
    el("a", { href: viewURL("run", r), text: r }))));
  const body = rows.map((r) => el("tr", { class: r.differs ? "differs" : "" },
    el("td", { class: "path", title: r.type, text: r.path }),
    ...r.values.map((v) => el("td", { class: r.differs && !same(v, common(r.values)) ? "diff" : "", text: v === null || v === undefined ? "—" : fmt(v) }))));
  box.replaceChildren(el("div", { class: "muted small", text: `${rows.length} of ${data.rows.length} fields${S.onlyDiff ? " (differences only)" : ""}` }),
    el("table", { class: "compare" }, el("thead", {}, head), el("tbody", {}, ...body)));
}

function same(a, b) {  // equal as a person reads them: floats within rounding, sets in any order
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && [...a].sort().join("\u0000") === [...b].sort().join("\u0000");
  return JSON.stringify(a) === JSON.stringify(b);
}

function common(values) {  // the value most runs share: the others are highlighted
  let best = null, n = 0;
  for (const v of values) {
    const c = values.filter((w) => same(v, w)).length;
    if (c > n) { best = v; n = c; }
  }
  return n > 1 ? best : Symbol("none");
}

// -- run page --------------------------------------------------------------------------------
async function showRun(id, before) {
  const box = $("run");
  if (!S.runPage || S.runPage.run !== id) $("view-run").scrollTop = 0;  // a new page opens at its top
  let d;
  try { d = await api("run", { id }); } catch (e) { box.replaceChildren(el("div", { class: "error", text: e.message })); return; }
  if (S.runId !== id) return;
  S.runPage = d;
  window.naiadRun = d;
  window.naiadMedia = {};
  const sys = d.fields.filter((f) => f.path.startsWith("sys/"));
  const user = d.fields.filter((f) => !f.path.startsWith("sys/"));
  const sel = S.selected.get(d.run);
  const failure = d.failure ? el("div", { class: "panel failure", id: "failure" },
    el("h2", { text: "This run failed" }),
    el("pre", { class: "traceback", text: d.failure.traceback || d.failure.exception || "No exception was recorded (sys/failed is set)." })) : "";
  const media = el("div", { class: "media-list" });
  box.replaceChildren(
    el("div", { class: "run-head" },
      el("h1", {}, el("span", { text: d.experiment || d.run }), el("span", { class: "muted", text: `  ${d.sys_id}` })),
      el("div", { class: "muted" }, `run ${d.run}  `, stateDot(d.state)),
      el("span", { class: "muted small", text: "j / k: next / previous run" }),
      el("button", { class: "btn", text: sel ? "Charts" : "Chart this run", onclick: () => { select(d.run, true); go("charts"); } })),
    failure,
    runLineage(d),
    media,
    el("div", { class: "run-cols" },
      el("div", { class: "panel" }, el("h2", { text: "Fields" }), fieldTree(user)),
      el("div", { class: "side" },
        ...d.string_series.map((p) => consolePanel(d.run, p)),
        d.files.length ? el("div", { class: "panel" }, el("h2", { text: "Files" }), fileTable(d)) : "",
        el("div", { class: "panel" }, el("h2", { text: "sys" }), fieldTable(sys)))));
  if (before !== "run") $("view-run").scrollTop = 0;
  api("media", { id: d.run }).then((res) => {
    if (S.runId !== id) return;
    media.replaceChildren(...res.media.map((m) => mediaPanel(d.run, m)));
  }).catch((e) => toast(e.message));
}

function neighbourRun(d) {  // j / k on a run page: the next or previous run of the table
  const rows = S.table.rows.filter(Boolean);
  const i = rows.findIndex((r) => r.run === S.runId);
  const r = rows[i < 0 ? 0 : i + d];
  if (r) go("run", r.run);
}

function runLink(id) { return el("a", { href: viewURL("run", id), text: id }); }

function runLineage(d) {
  const L = d.lineage;
  if (!L.parent && !L.children.length) return "";
  const chain = L.chain.map((c, i) => el("span", { class: "lineage-step" },
    i ? el("span", { class: "muted", text: ` → forked at step ${fmt(L.chain[i - 1].until)} → ` }) : "",
    c.run === d.run ? el("b", { text: c.run }) : runLink(c.run)));
  return el("div", { class: "panel lineage" }, el("h2", { text: "Lineage" }),
    el("div", {}, ...chain),
    L.children.length ? el("div", { class: "children" }, el("span", { class: "muted", text: "Children: " }),
      ...L.children.map((c) => el("span", { class: "chip" }, runLink(c.run), el("span", { class: "muted", text: ` at step ${fmt(c.fork_step)}` })))) : "");
}

function fieldTable(fields) {
  return el("table", { class: "fields" }, el("tbody", {}, ...fields.map((f) => el("tr", {},
    el("td", { class: "path", text: f.path.replace(/^sys\//, "") }),
    el("td", { class: "value", text: fmtField(f) }),
    el("td", { class: "type muted", text: f.type })))));
}

function fmtField(f) {
  if (f.type === "FloatSeries" || f.type === "StringSeries")
    return `${fmt(f.value)}   (${f.count} points, last step ${fmt(f.step)})`;
  if (f.type === "FileSeries") return `${f.count} files`;
  if (f.type === "File" && f.value) return `${f.value.name} (${fmtBytes(f.value.size)})`;
  if (f.type === "Artifact" && f.value) return `${f.value.files} files, ${String(f.value.hash || "").slice(0, 12)}`;
  return fmt(f.value);
}

function fieldTree(fields) {
  const root = { children: new Map(), fields: [] };
  for (const f of fields) {
    const parts = f.path.split("/");
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!node.children.has(p)) node.children.set(p, { children: new Map(), fields: [] });
      node = node.children.get(p);
    }
    node.fields.push({ name: parts[parts.length - 1], ...f });
  }
  const draw = (node, depth) => el("div", { class: "tree" },
    ...[...node.children.entries()].map(([name, child]) => el("details", { open: depth < 2 },
      el("summary", { text: name }), draw(child, depth + 1))),
    ...node.fields.map((f) => el("div", { class: "leaf", title: f.path, style: { gridTemplateColumns: `${Math.max(90, 230 - 17 * depth)}px 1fr auto` } },
      el("span", { class: "key", text: f.name }), el("span", { class: "value", text: fmtField(f) }),
      el("span", { class: "type muted", text: f.type }))));
  return fields.length ? draw(root, 0) : el("div", { class: "muted", text: "No fields yet." });
}

function fileTable(d) {
  return el("table", { class: "fields" }, el("tbody", {}, ...d.files.map((f) => {
    const qs = new URLSearchParams({ id: d.run, path: f.path });
    if (S.project) qs.set("project", S.project);
    if (f.step !== null && f.step !== undefined) qs.set("step", f.step);
    return el("tr", {},
      el("td", { class: "path", text: f.path + (f.step !== null && f.step !== undefined ? ` @ ${fmt(f.step)}` : "") }),
      el("td", { text: f.name || "" }), el("td", { class: "muted", text: fmtBytes(f.size) }),
      el("td", {}, el("a", { class: "download", href: `api/file?${qs}`, download: "", text: "Download" })));
  })));
}

function consolePanel(run, path) {
  const pre = el("pre", { class: "console" });
  const panel = el("div", { class: "panel", "data-console": path }, el("h2", { text: path }), pre);
  const lines = [];
  const add = (ls) => {
    for (const l of ls) lines.push(l);
    pre.replaceChildren(...lines.slice(-1000).map((l) => el("div", {},
      el("span", { class: "step", text: String(fmt(l.step)).padStart(7) }), " ", l.text)));
    pre.scrollTop = pre.scrollHeight;
  };
  panel.poll = async () => {
    const since = lines.length ? lines[lines.length - 1].step : null;
    const res = await api("strings", { id: run, path, since, tail: 1000 });
    if (res.lines.length) add(res.lines);
  };
  panel.poll();
  return panel;
}
