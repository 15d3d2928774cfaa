"use strict";
// Charts: one uPlot per metric path, runs overlaid, fork markers, zoom, live points.
// window.naiadCharts exposes what each chart drew (for tests and benchmarks).

// -- charts ----------------------------------------------------------------------------------
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

class Chart {
  constructor(path) {
    this.path = path;
    this.data = new Map();  // run -> series from the server
    this.box = el("div", { class: "chart" }, el("div", { class: "chart-title", text: path }), el("div", { class: "plot" }));
    this.plot = null;
    this.loaded = false;
    this.range = null;  // zoomed step range, or null
  }

  runs() { return [...S.selected.keys()]; }

  async load(range) {
    const runs = this.runs();
    this.range = range || null;
    const requestedAt = performance.now();
    window.naiadStats.chartsPending++;
    try {
      const width = Math.max(200, Math.round(this.box.clientWidth || 600));
      const res = await api("series", { run: runs, path: this.path, lineage: S.stitch ? "1" : "0", x: S.x,
        width, from: range && range[0], to: range && range[1] });
      this.data = new Map(res.charts[this.path].map((s) => [s.run, s]));
      this.loaded = true;
      this.render(!!range);
      await nextFrame();  // "rendered" means drawn on screen, not only handed to uPlot
      this.expose(requestedAt);
    } catch (e) {
      toast(`${this.path}: ${e.message}`);
    } finally {
      window.naiadStats.chartsPending--;
    }
  }

  merge(s) {  // new points of a live run (no downsampling: append after our last step)
    const have = this.data.get(s.run);
    if (!have || !have.x.length || !s.steps) { this.data.set(s.run, s); return s.n > 0; }
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
        forks: s.forks, last_step: s.last_step, active: s.active };
    });
    const prev = window.naiadCharts[this.path];
    window.naiadCharts[this.path] = {
      path: this.path, x: S.x, stitched: S.stitch, series,
      forks: series.flatMap((s) => s.forks.map((f) => ({ run: s.run, ...f }))),
      requestedAt: requestedAt ?? (prev && prev.requestedAt), renderedAt: performance.now(),
      updates: prev ? prev.updates + 1 : 0,
    };
  }

  tables() {
    const runs = this.runs().filter((r) => this.data.has(r) && this.data.get(r).x.length);
    const tables = runs.map((r) => {
      const s = this.data.get(r);
      let xs = s.x;
      if (S.x === "time") { const t0 = xs[0]; xs = xs.map((t) => t - t0); }
      let ys = ema(s.y, S.smooth);
      if (S.log) ys = ys.map((y) => (y > 0 ? y : null));
      return [xs, ys];
    });
    return { runs, tables };
  }

  render(keepScale) {
    const { runs, tables } = this.tables();
    const host = this.box.querySelector(".plot");
    if (!runs.length) {
      if (this.plot) { this.plot.destroy(); this.plot = null; }
      host.replaceChildren(el("div", { class: "muted empty", text: "No points for the selected runs." }));
      return;
    }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const key = `${runs.join("\u0000")}|${S.log}|${S.x}`;
    if (this.plot && this.key === key) {
      this.plot.setData(data, !keepScale);
      return;
    }
    if (this.plot) this.plot.destroy();
    host.replaceChildren();
    this.key = key;
    const chart = this;
    this.plot = new uPlot({
      width: Math.max(200, host.clientWidth || 560), height: 230,
      scales: { x: { time: false }, y: { distr: S.log ? 3 : 1 } },
      axes: [
        { values: S.x === "time" ? (u, ticks) => ticks.map(fmtDuration) : undefined, size: 36 },
        { size: 56, values: (u, ticks) => ticks.map((t) => fmt(t)) },
      ],
      series: [{ label: S.x === "time" ? "time" : "step", value: (u, v) => (v === null ? "" : S.x === "time" ? fmtDuration(v) : fmt(v)) },
        ...runs.map((r) => ({ label: r, stroke: S.selected.get(r).color, width: 1.4, points: { show: false },
          value: (u, v) => fmt(v) }))],
      cursor: { sync: { key: "naiad" }, drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        draw: [(u) => chart.drawForks(u)],
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const lo = u.posToVal(u.select.left, "x"), hi = u.posToVal(u.select.left + u.select.width, "x");
          chart.zoom(lo, hi);
        }],
      },
    }, data, host);
    this.plot.over.addEventListener("dblclick", () => { if (this.range) this.load(null); });
  }

  zoom(lo, hi) {
    const anyDown = [...this.data.values()].some((s) => s.downsampled);
    if (S.x === "step" && anyDown) this.load([lo, hi]).then(() => this.plot && this.plot.setScale("x", { min: lo, max: hi }));
  }

  drawForks(u) {
    if (!S.stitch) return;
    const ctx = u.ctx;
    for (const r of this.runs()) {
      const s = this.data.get(r);
      if (!s || !s.forks.length || !s.x.length) continue;
      const t0 = S.x === "time" ? s.x[0] : 0;
      for (const f of s.forks) {
        if (f.x === null || f.x === undefined) continue;
        const px = u.valToPos(f.x - t0, "x", true);
        if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
        ctx.save();
        ctx.strokeStyle = S.selected.get(r).color;
        ctx.globalAlpha = 0.8;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.font = `${Math.round(10 * devicePixelRatio)}px system-ui, sans-serif`;
        ctx.fillStyle = S.selected.get(r).color;
        const label = `fork @ ${fmt(f.step)}`;
        const w = ctx.measureText(label).width;
        const right = px + 4 + w < u.bbox.left + u.bbox.width;
        ctx.fillText(label, right ? px + 4 : px - 4 - w, u.bbox.top + 12 * devicePixelRatio);
        if (f.y !== null && f.y !== undefined && (!S.log || f.y > 0)) {
          const py = u.valToPos(S.smooth ? f.y : f.y, "y", true);
          ctx.setLineDash([]);
          ctx.fillStyle = S.selected.get(r).color;
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

const Charts = {
  charts: new Map(), key: null, observer: null,

  async show() {
    const runs = [...S.selected.keys()];
    const key = `${S.project}|${runs.join("\u0000")}|${S.stitch}|${S.x}`;
    if (key === this.key) { this.redraw(); return; }
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
    window.naiadCharts = {};
    $("charts").replaceChildren();
  },

  layout(paths) {
    let re = null;
    try { re = S.pathFilter ? new RegExp(S.pathFilter) : null; } catch (e) { re = null; }
    const shown = paths.filter((p) => !re || re.test(p));
    const groups = new Map();
    for (const p of shown) {
      const ns = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "(root)";
      if (!groups.has(ns)) groups.set(ns, []);
      groups.get(ns).push(p);
    }
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
    if (!nodes.length) nodes.push(el("div", { class: "empty muted", text: paths.length ? "No metric path matches." : "The selected runs have no float series." }));
    $("charts").replaceChildren(...nodes);
    this.paths = paths;
  },

  redraw() {
    for (const c of this.charts.values()) if (c.loaded) { c.render(); c.expose(); }
  },

  async live() {
    if (S.view !== "charts") return;
    const loaded = [...this.charts.values()].filter((c) => c.loaded && !c.range);
    const active = new Set();
    for (const c of loaded) for (const s of c.data.values()) if (s.active) active.add(s.run);
    for (const run of active) {
      // one request per live run: every loaded chart's path, each with the last step we hold
      const since = loaded.map((c) => { const s = c.data.get(run); return s && s.last_step !== null ? s.last_step : ""; });
      const res = await api("series", { run, path: loaded.map((c) => c.path), lineage: S.stitch ? "1" : "0", x: S.x, since });
      for (const c of loaded) {
        const s = res.charts[c.path] && res.charts[c.path][0];
        if (s && c.merge(s)) {
          const points = [...c.data.values()].reduce((n, x) => n + x.x.length, 0);
          if (points > 50000) c.load(); else { c.render(true); c.expose(); }  // downsample again
        }
      }
    }
    if (active.size) {  // a live run may start a new metric
      const paths = (await api("paths", { run: [...S.selected.keys()], lineage: S.stitch ? "1" : "0" })).paths;
      if (paths.length !== (this.paths || []).length) { this.key = null; this.show(); }
    }
  },
};

function renderLegend() {
  const items = [...S.selected.entries()].map(([run, s]) => el("span", { class: "chip" },
    el("span", { class: "swatch", style: { background: s.color } }),
    el("a", { href: `#/run/${encodeURIComponent(run)}`, text: run }),
    el("button", { class: "x", title: "Remove", text: "×", onclick: () => { select(run, false); Charts.key = null; if (S.view === "charts") Charts.show(); } })));
  $("legend").replaceChildren(...items);
}
