"use strict";
// Parallel coordinates: hyperparameters against a metric for every run the table's filter keeps
// (up to MAX_LINES). One vertical axis per hyperparameter, the metric last; each run is a line,
// coloured by its metric value. Clicking a line selects the run. window.naiadParams exposes the
// axes and the lines' coordinates.

const SVG = "http://www.w3.org/2000/svg";
const MAX_LINES = 2000;

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function axisTicks(s) {  // categories; or five even values (linear), or the decades inside (log)
  if (s.kind === "category") return s.categories;
  if (s.kind === "log") {
    const out = [s.min];
    for (let e = Math.ceil(Math.log10(s.min)); Math.pow(10, e) < s.max; e++) {
      const v = Math.pow(10, e);
      if (Math.log10(v / s.min) > 0.15 && Math.log10(s.max / v) > 0.15) out.push(v);  // no label on another
    }
    return [...out, s.max];
  }
  return [0, 1, 2, 3, 4].map((i) => +(s.min + ((s.max - s.min) * i) / 4).toPrecision(4));
}

const Params = {
  async show() {
    const box = $("params");
    const seq = (this.seq = (this.seq || 0) + 1);
    let axes = S.axes.split(",").map((a) => a.trim()).filter(Boolean);
    let metric = S.metric;
    let types = {};
    try {
      const probe = await api("runs", { ...tableParams(), columns: S.columns, limit: PAGE, total: "0" });
      types = probe.types || {};
      const atoms = probe.columns.filter((c) => types[c] && !/Series$/.test(types[c]) && types[c] !== "Datetime");
      const metrics = probe.columns.filter((c) => types[c] === "FloatSeries");
      if (!axes.length) axes = atoms.slice(0, 8);
      if (!metric) metric = metrics[0] || "";
    } catch (e) { box.replaceChildren(el("div", { class: "error", text: e.message })); return; }
    $("params-axes").value = axes.join(", ");
    $("params-metric").value = metric;
    const cols = [...axes, ...(metric ? [metric] : [])];
    if (cols.length < 2) { box.replaceChildren(el("div", { class: "empty muted", text: "Give at least two columns (hyperparameters and a metric)." })); return; }
    let data;
    try { data = await api("runs", { ...tableParams(), col: cols, limit: MAX_LINES }); } catch (e) { toast(e.message); return; }
    if (seq !== this.seq) return;
    this.draw(box, data, axes, metric);
  },

  draw(box, data, axes, metric) {
    const cols = data.columns;
    const W = Math.max(600, box.clientWidth || 1000), H = 380, top = 40, bottom = 30, pad = 70;
    const xs = cols.map((_, i) => pad + (i * (W - 2 * pad)) / Math.max(1, cols.length - 1));
    const scales = cols.map((c, i) => {
      const vals = data.rows.map((r) => r.cells[i]).filter((v) => v !== null && v !== undefined);
      const numeric = vals.length && vals.every((v) => typeof v === "number");
      if (numeric) {
        let min = Math.min(...vals), max = Math.max(...vals);
        const log = min > 0 && max / min >= 100;
        if (min === max) { min -= 0.5; max += 0.5; }
        const f = log ? Math.log10 : (v) => v;
        const y = (v) => top + (H - top - bottom) * (1 - (f(v) - f(min)) / (f(max) - f(min) || 1));
        return { path: c, kind: log ? "log" : "linear", min, max, y, x: xs[i] };
      }
      const cats = [...new Set(vals.map((v) => fmt(v)))].sort();
      const y = (v) => top + (H - top - bottom) * (cats.length > 1 ? 1 - cats.indexOf(fmt(v)) / (cats.length - 1) : 0.5);
      return { path: c, kind: "category", categories: cats, y, x: xs[i] };
    });
    const mi = metric ? cols.indexOf(metric) : -1;
    const mvals = mi >= 0 ? data.rows.map((r) => r.cells[mi]).filter((v) => typeof v === "number") : [];
    const mmin = Math.min(...mvals), mmax = Math.max(...mvals);
    const root = svg("svg", { width: W, height: H, class: "pcoords", viewBox: `0 0 ${W} ${H}` });
    const lines = [];
    const selected = [];
    for (const r of data.rows) {
      const points = r.cells.map((v, i) => (v === null || v === undefined ? null : [scales[i].x, scales[i].y(v)]));
      let d = "", pen = false;
      for (const p of points) { if (!p) { pen = false; continue; } d += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`; pen = true; }
      const mv = mi >= 0 ? r.cells[mi] : null;
      const sel = S.selected.get(r.run);
      const color = sel ? sel.color : typeof mv === "number" ? heatColor(mmax > mmin ? (mv - mmin) / (mmax - mmin) : 0.5) : cssVar("--muted");
      const path = svg("path", { d, class: `pline ${sel ? "sel" : ""}`, stroke: color, "data-run": r.run }, svg("title", {}, `${r.run}${mv !== null ? `  ${metric} = ${fmt(mv)}` : ""}`));
      path.addEventListener("click", () => { select(r.run, !S.selected.has(r.run)); this.show(); });
      (sel ? selected : lines).push(path);
      window.naiadParamsLines = null;
      lines.meta = lines.meta || [];
      lines.meta.push({ run: r.run, values: r.cells, points, color, selected: !!sel });
    }
    const axisNodes = scales.map((s) => {
      const g = svg("g", { class: "axis" });
      g.append(svg("line", { x1: s.x, x2: s.x, y1: top, y2: H - bottom }));
      for (const t of axisTicks(s)) {
        g.append(svg("text", { x: s.x - 6, y: s.y(t) + 3, "text-anchor": "end", class: "tick" }, s.kind === "category" ? t : fmt(t)));
        g.append(svg("line", { x1: s.x - 3, x2: s.x, y1: s.y(t), y2: s.y(t), class: "tick-mark" }));
      }
      const agg = s.path.match(AGG);  // min(training/val/loss): "min(loss)" over "training/val"
      const base = agg ? agg[2] : s.path;
      const leaf = base.split("/").pop();
      g.append(svg("text", { x: s.x, y: top - 22, "text-anchor": "middle", class: `axis-name ${s.path === metric ? "metric" : ""}` },
        agg ? `${agg[1]}(${leaf})` : leaf, svg("title", {}, s.path)));
      g.append(svg("text", { x: s.x, y: top - 10, "text-anchor": "middle", class: "axis-ns" }, base.slice(0, Math.max(0, base.lastIndexOf("/")))));
      return g;
    });
    root.append(svg("g", { class: "lines" }, ...lines, ...selected), ...axisNodes);
    box.replaceChildren(el("div", { class: "muted small", text: `${data.rows.length} of ${data.total ?? data.rows.length} runs · colour: ${metric || "—"}` }), root);
    window.naiadParams = {
      axes: scales.map(({ y, ...rest }) => rest), metric, total: data.total,
      lines: lines.meta || [],
    };
  },
};
