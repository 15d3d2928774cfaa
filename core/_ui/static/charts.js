"use strict";
// Charts: one uPlot per metric path, runs overlaid (or grouped: mean ± std bands), fork markers,
// one zoom shared by every chart, live points. window.naiadCharts exposes what each chart drew
// (data, scales, fork labels) for tests and benchmarks; window.__naiad gathers the hooks.

function ema(ys, w) {
  if (!w) return ys;
  const out = new Array(ys.length);
  let last = 0, n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !isFinite(y)) { out[i] = y; continue; }
    last = last * w + (1 - w) * y;
    n++;
    out[i] = last / (1 - Math.pow(w, n));
  }
  return out;
}

function unpack(text) {  // base64 of little-endian float64 (the server's packed()) → numbers, NaN → null
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const out = Array.from(new Float64Array(bytes.buffer));
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = null;  // a gap in the line
  return out;
}

function metricMatcher(text) {
  // plain text matches at a path segment boundary ("val/" is not "eval/"); /.../ or regex
  // characters make it a regular expression
  if (!text) return () => true;
  const re = /^\/.*\/$/.test(text) ? text.slice(1, -1) : text;
  if (/[\\^$*+?()[\]{}|]/.test(re) || re !== text) {
    try { const r = new RegExp(re); return (p) => r.test(p); } catch (e) { return () => true; }
  }
  const parts = text.split(/\s*,\s*|\s+/).filter(Boolean).map((t) => (t.startsWith("/") ? t : `/${t}`));
  return (p) => parts.some((t) => `/${p}`.includes(t));
}

function logRange(min, max) {  // pad the data a little: never snap to whole decades
  if (!(min > 0) || !(max > 0)) return [min, max];
  if (min === max) return [min / 1.1, max * 1.1];
  const pad = Math.pow(max / min, 0.06);
  return [min / pad, max * pad];
}

function logSplits(u, axisIdx, min, max) {
  if (!(min > 0) || !(max > min)) return [min];
  const decades = Math.log10(max / min);
  if (decades >= 1.5) {  // decades and their 2x, 5x
    const out = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of decades > 4 ? [1] : [1, 2, 5]) { const v = m * Math.pow(10, e); if (v >= min && v <= max) out.push(v); }
    }
    return out;
  }
  const out = [];
  for (let i = 0; i <= 5; i++) {
    const v = Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * (i / 5));
    out.push(+v.toPrecision(2));
  }
  return [...new Set(out)].filter((v) => v >= min && v <= max);
}

class Chart {
  constructor(path) {
    this.path = path;
    this.data = new Map();  // run -> series from the server
    this.groups = null;  // grouped: the groups from the server
    this.tip = el("div", { class: "tip", hidden: true });
    this.box = el("div", { class: "chart" }, el("div", { class: "chart-title", text: path }), el("div", { class: "plot" }), this.tip);
    this.plot = null;
    this.loaded = false;
    this.range = null;  // the step range the data was asked for (zoomed in), or null
    this.forkLabels = [];
  }

  runs() { return [...S.selected.keys()]; }

  async load() {
    const runs = this.runs();
    const range = S.zoom && S.x === "step" ? S.zoom : null;
    const requestedAt = performance.now();
    window.naiadStats.chartsPending++;
    try {
      const width = Math.max(200, Math.round(this.box.clientWidth || 600));
      const common = { run: runs, path: this.path, lineage: S.stitch ? "1" : "0", from: range && range[0], to: range && range[1] };
      if (S.group) {
        this.groups = await api("groups", { ...common, by: S.group, width: Math.round(width / 3) });
        this.data = new Map();
        renderLegend(this.groups.groups);
      } else {
        // many runs overlaid: fewer buckets a run (down to one per 4 px; each keeps its min and
        // max, so spikes stay), or a chart of 100 runs would draw 100 x 4 points per pixel column
        const buckets = runs.length > 16 ? Math.round(Math.max(width / 4, (width * 16) / runs.length)) : width;
        const res = await api("series", { ...common, x: S.x, width: buckets, pack: "1" });
        this.data = new Map(res.charts[this.path].map((s) => [s.run, { ...s, x: unpack(s.x), y: unpack(s.y) }]));
        this.groups = null;
      }
      this.range = range;
      this.loaded = true;
      this.render();
      await nextFrame();  // "rendered" means drawn on screen, not only handed to uPlot
      this.expose(requestedAt);
    } catch (e) {
      toast(`${this.path}: ${e.message}`);
    } finally {
      this.loading = false;
      window.naiadStats.chartsPending--;
    }
  }

  merge(s) {  // new points of a live run (no downsampling: append after our last step)
    const have = this.data.get(s.run);
    if (!have || !have.x.length || !s.steps) { if (s.n > 0) this.data.set(s.run, s); return s.n > 0; }
    const keep = [];
    s.steps.forEach((step, i) => { if (have.last_step === null || step > have.last_step) keep.push(i); });
    if (!keep.length) { have.active = s.active; return false; }
    keep.forEach((i) => { have.x.push(s.x[i]); have.y.push(s.y[i]); });
    have.n += keep.length;
    have.last_step = s.steps[keep[keep.length - 1]];
    have.active = s.active;
    return true;
  }

  expose(requestedAt) {
    const series = this.runs().filter((r) => this.data.has(r)).map((r) => {
      const s = this.data.get(r);
      return { run: r, x: s.x, y: s.y, n: s.n, downsampled: s.downsampled, segments: s.segments,
        forks: s.forks, last_step: s.last_step, active: s.active, color: (S.selected.get(r) || {}).color };
    });
    const prev = window.naiadCharts[this.path];
    const chart = this;
    window.naiadCharts[this.path] = {
      path: this.path, x: S.x, stitched: S.stitch, series, log: S.log, smooth: S.smooth,
      forks: series.flatMap((s) => s.forks.map((f) => ({ run: s.run, ...f }))),
      get forkLabels() { return chart.forkLabels; },  // read when asked: uPlot draws on its next commit
      groups: this.groups ? this.groups.groups.map((g, i) => ({ ...g, color: colorAt(i) })) : null,
      get scale() { const sc = chart.plot && chart.plot.scales; return sc ? { x: [sc.x.min, sc.x.max], y: [sc.y.min, sc.y.max] } : null; },
      zoom: S.zoom, range: this.range,
      requestedAt: requestedAt ?? (prev && prev.requestedAt), renderedAt: performance.now(),
      updates: prev ? prev.updates + 1 : 0,
    };
  }

  tables() {
    if (this.groups) {
      const groups = this.groups.groups.filter((g) => g.x.length);
      const tables = groups.map((g) => [g.x, ema(g.mean, S.smooth), g.lo, g.hi].map((a, i) => (S.log && i ? a.map((y) => (y > 0 ? y : null)) : a)));
      return { labels: groups.map((g) => g.key), colors: groups.map((g, i) => colorAt(this.groups.groups.indexOf(g))), tables, grouped: true };
    }
    const runs = this.runs().filter((r) => this.data.has(r) && this.data.get(r).x.length);
    const tables = runs.map((r) => {
      const s = this.data.get(r);
      let xs = s.x;
      if (S.x === "time") { const t0 = xs[0]; xs = xs.map((t) => t - t0); }
      let ys = ema(s.y, S.smooth);
      if (S.log) ys = ys.map((y) => (y > 0 ? y : null));
      return [xs, ys];
    });
    return { labels: runs, colors: runs.map((r) => S.selected.get(r).color), tables, grouped: false };
  }

  render() {
    const { labels, colors, tables, grouped } = this.tables();
    const host = this.box.querySelector(".plot");
    if (!labels.length) {
      if (this.plot) { this.plot.destroy(); this.plot = null; }
      host.replaceChildren(el("div", { class: "muted empty", text: "No points for the selected runs." }));
      return;
    }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const key = `${labels.join("\u0000")}|${S.log}|${S.x}|${grouped}|${theme()}`;
    if (this.plot && this.key === key) {
      this.plot.setData(data, !S.zoom);  // auto range (the live x range grows) unless zoomed
      if (S.zoom) this.plot.setScale("x", { min: S.zoom[0], max: S.zoom[1] });
      return;
    }
    if (this.plot) this.plot.destroy();
    host.replaceChildren();
    this.key = key;
    const chart = this;
    const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 }, ticks: { stroke: cssVar("--grid") } };
    const series = [{ label: S.x === "time" ? "time" : "step" }];
    const bands = [];
    labels.forEach((label, i) => {
      if (grouped) {
        const base = series.length;
        series.push({ label, stroke: colors[i], width: 1.8, points: { show: false }, spanGaps: true },
          { label: `${label} -σ`, stroke: "transparent", points: { show: false }, spanGaps: true },
          { label: `${label} +σ`, stroke: "transparent", points: { show: false }, spanGaps: true });
        bands.push({ series: [base + 2, base + 1], fill: colorAlpha(colors[i], 0.18) });
      } else {
        series.push({ label, stroke: colors[i], width: 1.4, points: { show: false } });
      }
    });
    this.plot = new uPlot({
      width: Math.max(200, host.clientWidth || 560), height: 230,
      scales: { x: { time: false }, y: S.log ? { distr: 3, log: 10, range: (u, min, max) => logRange(min, max) } : {} },
      axes: [
        { ...axis, values: S.x === "time" ? (u, ticks) => ticks.map(fmtDuration) : undefined, size: 36 },
        { ...axis, size: 56, values: (u, ticks) => ticks.map((t) => fmt(t)), ...(S.log ? { splits: logSplits } : {}) },
      ],
      series, bands,
      legend: { show: false },  // a floating tooltip instead: hovering never moves the page
      cursor: {
        sync: { key: "naiad", setSeries: false, filters: { pub: (type) => type !== "mousedown" && type !== "mouseup" } },
        drag: { x: true, y: false, setScale: false },
      },
      hooks: {
        draw: [(u) => chart.drawForks(u)],
        setCursor: [(u) => chart.tooltip(u)],
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const lo = u.posToVal(u.select.left, "x"), hi = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          Charts.setZoom([lo, hi]);
        }],
      },
    }, data, host);
    if (S.zoom) this.plot.setScale("x", { min: S.zoom[0], max: S.zoom[1] });
    this.plot.over.addEventListener("dblclick", () => Charts.setZoom(null));
    this.plot.over.addEventListener("mouseleave", () => { this.tip.hidden = true; });
  }

  tooltip(u) {  // values under the cursor, largest first, in a box that floats over the chart
    const i = u.cursor.idx;
    if (i === null || i === undefined || u.cursor.left < 0) { this.tip.hidden = true; return; }
    const items = [];
    const step = this.groups ? 3 : 1;
    for (let s = 1; s < u.series.length; s += step) {
      const v = u.data[s][i];
      if (v !== null && v !== undefined) items.push([u.series[s].label, v, u.series[s]._stroke || u.series[s].stroke]);
    }
    items.sort((a, b) => b[1] - a[1]);
    const xv = u.data[0][i];
    this.tip.replaceChildren(el("div", { class: "muted", text: `${S.x === "time" ? fmtDuration(xv) : `step ${fmt(xv)}`}` }),
      ...items.slice(0, 8).map(([label, v, c]) => el("div", {}, el("span", { class: "swatch", style: { background: typeof c === "function" ? c(u, 1) : c } }),
        el("span", { class: "tip-label", text: label }), el("b", { text: ` ${fmt(v)}` }))),
      items.length > 8 ? el("div", { class: "muted", text: `+${items.length - 8} more` }) : "");
    this.tip.hidden = !items.length;
    const left = u.cursor.left + u.over.offsetLeft;
    this.tip.style.left = `${left > u.over.clientWidth / 2 ? Math.max(4, left - 190) : left + 16}px`;
  }

  drawForks(u) {
    this.forkLabels = [];
    if (!S.stitch || this.groups) return;
    const ctx = u.ctx;
    const placed = [];  // label boxes already drawn (canvas px): a new label takes a free row or none
    const dpr = devicePixelRatio;
    for (const r of this.runs()) {
      const s = this.data.get(r);
      if (!s || !s.forks.length || !s.x.length) continue;
      const t0 = S.x === "time" ? s.x[0] : 0;
      for (const f of s.forks) {
        if (f.x === null || f.x === undefined) continue;
        const px = u.valToPos(f.x - t0, "x", true);
        if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
        const color = S.selected.get(r).color;
        ctx.save();
        ctx.strokeStyle = color;
        ctx.globalAlpha = 0.8;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.font = `${Math.round(10 * dpr)}px system-ui, sans-serif`;
        ctx.fillStyle = color;
        const label = `fork @ ${fmt(f.step)}`;
        const w = ctx.measureText(label).width, h = 12 * dpr;
        const right = px + 4 + w < u.bbox.left + u.bbox.width;
        const lx = right ? px + 4 : px - 4 - w;
        for (let row = 0; row < 4; row++) {
          const ly = u.bbox.top + row * (h + 2 * dpr);
          const box = { x: lx, y: ly, w, h };
          if (placed.some((b) => b.x < box.x + box.w + 2 && box.x < b.x + b.w + 2 && b.y < box.y + box.h && box.y < b.y + b.h)) continue;
          placed.push(box);
          ctx.fillText(label, lx, ly + 10 * dpr);
          this.forkLabels.push({ text: label, run: r, x: lx / dpr, y: ly / dpr, w: w / dpr, h: h / dpr });
          break;
        }
        if (f.y !== null && f.y !== undefined && (!S.log || f.y > 0)) {
          const py = u.valToPos(f.y, "y", true);
          ctx.setLineDash([]);
          ctx.beginPath();
          ctx.moveTo(px, py - 6); ctx.lineTo(px + 6, py); ctx.lineTo(px, py + 6); ctx.lineTo(px - 6, py);
          ctx.closePath();
          ctx.fill();
        }
        ctx.restore();
      }
    }
  }

  resize() {
    if (!this.plot) return;
    const w = this.box.querySelector(".plot").clientWidth;
    if (w && Math.abs(w - this.plot.width) > 4) this.plot.setSize({ width: w, height: 230 });
  }
}

function colorAlpha(color, a) {
  if (color.startsWith("#")) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  return color.replace("hsl(", "hsla(").replace(")", `, ${a})`);
}

const Charts = {
  charts: new Map(), key: null, observer: null,

  async show() {
    const runs = [...S.selected.keys()];
    const key = `${S.project}|${runs.join("\u0000")}|${S.stitch}|${S.x}|${S.group}|${theme()}`;
    if (key === this.key) { this.redraw(); if (this.paths) this.layout(this.paths); return; }
    this.key = key;
    this.reset();
    renderLegend();
    if (!runs.length) {
      $("charts").replaceChildren(el("div", { class: "empty muted", text: "Select runs in the table to chart them." }));
      return;
    }
    let paths;
    try {
      paths = (await api("paths", { run: runs, lineage: S.stitch ? "1" : "0" })).paths;
    } catch (e) { toast(e.message); return; }
    if (key !== this.key) return;
    this.layout(paths);
  },

  reset() {
    if (this.observer) this.observer.disconnect();
    for (const c of this.charts.values()) if (c.plot) c.plot.destroy();
    this.charts.clear();
    this.paths = null;
    window.naiadCharts = {};
    $("charts").replaceChildren();
  },

  layout(paths) {
    const match = metricMatcher(S.pathFilter);
    const shown = paths.filter(match);
    const groups = new Map();
    for (const p of shown) {
      const ns = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "(root)";
      if (!groups.has(ns)) groups.set(ns, []);
      groups.get(ns).push(p);
    }
    if (this.observer) this.observer.disconnect();
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const c = e.isIntersecting && this.charts.get(e.target.dataset.path);
        if (c && !c.loaded && !c.loading) { c.loading = true; c.load(); }
      }
    }, { rootMargin: "600px" });
    const nodes = [];
    for (const [ns, ps] of groups) {
      const grid = el("div", { class: "grid" });
      for (const p of ps) {
        if (!this.charts.has(p)) this.charts.set(p, new Chart(p));
        const c = this.charts.get(p);
        c.box.dataset.path = p;
        grid.append(c.box);
        this.observer.observe(c.box);
      }
      nodes.push(el("details", { class: "group", open: true }, el("summary", { text: `${ns}  ·  ${ps.length}` }), grid));
    }
    for (const p of Object.keys(window.naiadCharts)) if (!shown.includes(p)) delete window.naiadCharts[p];
    if (!nodes.length) nodes.push(el("div", { class: "empty muted", text: paths.length ? "No metric path matches." : "The selected runs have no float series." }));
    $("charts").replaceChildren(...nodes);
    this.paths = paths;
    window.naiadChartPaths = shown;
  },

  redraw() {
    for (const c of this.charts.values()) if (c.loaded) { c.render(); c.expose(); }
  },

  setZoom(range) {  // one zoom for every chart; in the address
    S.zoom = range;
    writeURL();
    for (const c of this.charts.values()) {
      if (!c.loaded) continue;
      const want = range && S.x === "step" ? range : null;
      const detail = [...c.data.values()].some((s) => s.downsampled) || c.groups;
      if (JSON.stringify(want) !== JSON.stringify(c.range) && (detail || c.range)) c.load();
      else { c.render(); if (!range && c.plot) c.plot.setData(c.plot.data, true); c.expose(); }
    }
  },

  async live() {
    if (S.view !== "charts") return;
    const loaded = [...this.charts.values()].filter((c) => c.loaded);
    const active = new Set();
    for (const c of loaded) for (const s of c.data.values()) if (s.active) active.add(s.run);
    if (S.group) {  // grouped: ask again while any run of the selection is live
      if (loaded.some((c) => c.groups) && (await api("runs", { heads: "0", col: [""], run: [...S.selected.keys()] })).rows.some((r) => r.state === "active")) {
        for (const c of loaded) c.load();
      }
      return;
    }
    for (const run of active) {
      // one request per live run: every loaded chart's path, each with the last step we hold
      const since = loaded.map((c) => { const s = c.data.get(run); return s && s.last_step !== null ? s.last_step : ""; });
      const res = await api("series", { run, path: loaded.map((c) => c.path), lineage: S.stitch ? "1" : "0", x: S.x, since });
      for (const c of loaded) {
        const s = res.charts[c.path] && res.charts[c.path][0];
        if (s && c.merge(s)) {
          const points = [...c.data.values()].reduce((n, x) => n + x.x.length, 0);
          if (points > 50000) c.load(); else { c.render(); c.expose(); }  // downsample again
        }
      }
    }
    if (active.size) {  // a live run may start a new metric
      const paths = (await api("paths", { run: [...S.selected.keys()], lineage: S.stitch ? "1" : "0" })).paths;
      if (paths.length !== (this.paths || []).length) { this.key = null; this.show(); }
    }
  },
};

function renderLegend(groups) {
  if (S.group && groups) {  // grouped: one chip per group (its colour, its runs), not per run
    $("legend").replaceChildren(el("span", { class: "muted small", text: `grouped by ${S.group}:` }),
      ...groups.map((g, i) => el("span", { class: "chip", "data-group": g.key, title: g.runs.join(", ") },
        el("span", { class: "swatch", style: { background: colorAt(i) } }),
        el("span", { text: g.key }), el("span", { class: "muted small", text: ` · ${g.runs.length} run${g.runs.length === 1 ? "" : "s"}` }))));
    return;
  }
  const items = [...S.selected.entries()].map(([run, s]) => el("span", { class: "chip" },
    el("span", { class: "swatch", style: { background: s.color } }),
    el("a", { href: viewURL("run", run), text: run }),
    el("button", { class: "x", title: "Remove", text: "×", onclick: () => { select(run, false); Charts.key = null; if (S.view === "charts") Charts.show(); } })));
  $("legend").replaceChildren(...items);
}
