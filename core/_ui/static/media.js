"use strict";
// Media: image files and series (thumbnails, a step slider), histogram series (a heatmap over
// steps and one step's bars), safe previews of text, CSV and HTML files, and a gallery of the
// selected runs' images. Images come from /api/image, which serves only bytes that are an image.
// HTML is shown in a sandboxed frame (no scripts, no same origin) under the page's own CSP.

window.naiadMedia = {};

function fileQuery(run, path, step) {
  const qs = apiQuery({ id: run, path });
  if (step !== null && step !== undefined) qs.set("step", step);
  return qs;
}

function imageURL(run, path, step) { return `api/image?${fileQuery(run, path, step)}`; }

function nearestStep(steps, want) {  // the last step at or before want (else the first)
  let best = steps[0];
  for (const s of steps) if (s <= want) best = s;
  return best;
}

function mediaPanel(run, m) {
  const expose = (extra) => { window.naiadMedia[m.path] = { run, path: m.path, kind: m.kind, ...extra }; };
  const title = el("h2", { text: m.path });
  if (m.kind === "image") {
    const img = el("img", { class: "thumb", alt: m.path, loading: "lazy" });
    if (!m.series) {
      img.src = imageURL(run, m.path);
      expose({ step: null, src: img.getAttribute("src") });
      return el("div", { class: "panel media", "data-media": m.path }, title, img);
    }
    const slider = el("input", { type: "range", min: 0, max: m.steps.length - 1, step: 1, value: m.steps.length - 1, class: "step-slider" });
    const label = el("span", { class: "muted" });
    const show = () => {
      const step = m.steps[+slider.value];
      img.src = imageURL(run, m.path, step);
      label.textContent = `step ${fmt(step)} (${+slider.value + 1} of ${m.steps.length})`;
      expose({ step, steps: m.steps, src: img.getAttribute("src") });
    };
    slider.addEventListener("input", show);
    show();
    return el("div", { class: "panel media", "data-media": m.path }, title, img, el("div", { class: "slider-row" }, slider, label));
  }
  if (m.kind === "histogram") return histogramPanel(run, m, expose);
  if (["text", "csv", "html"].includes(m.kind) && !m.series) {
    const body = el("div", { class: "preview muted", text: "loading…" });
    previewFile(run, m, body).then((info) => expose(info)).catch((e) => { body.textContent = e.message; });
    return el("div", { class: "panel media", "data-media": m.path }, title, body);
  }
  return "";
}

async function previewFile(run, m, body) {
  if (m.size > 2 * 1024 * 1024) { body.textContent = `${fmtBytes(m.size)}: too large to preview; download it below.`; return { preview: "none" }; }
  const resp = await fetch(`api/file?${fileQuery(run, m.path)}`);
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const text = (await resp.text()).slice(0, 256 * 1024);
  body.classList.remove("muted");
  if (m.kind === "html") {
    const frame = el("iframe", { class: "html-preview", sandbox: "", title: m.path, referrerpolicy: "no-referrer" });
    frame.srcdoc = text;  // sandboxed: its own opaque origin, no scripts, no forms
    body.replaceChildren(frame);
    return { preview: "html", sandbox: frame.getAttribute("sandbox") };
  }
  if (m.kind === "csv") {
    const rows = parseCSV(text, /\.tsv$/i.test(m.name || "") ? "\t" : ",").slice(0, 201);
    body.replaceChildren(el("table", { class: "fields csv" },
      el("thead", {}, el("tr", {}, ...(rows[0] || []).map((c) => el("th", { text: c })))),
      el("tbody", {}, ...rows.slice(1).map((r) => el("tr", {}, ...r.map((c) => el("td", { text: c })))))));
    return { preview: "csv", rows: rows.length - 1, header: rows[0] || [] };
  }
  body.replaceChildren(el("pre", { class: "console", text }));
  return { preview: "text", chars: text.length };
}

function parseCSV(text, sep) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { row.push(cell); cell = ""; }
    else if (c === "\n") { row.push(cell.replace(/\r$/, "")); rows.push(row); row = []; cell = ""; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// -- histograms ------------------------------------------------------------------------------
function heatColor(t) {  // 0..1 → a perceptual ramp (viridis, 5 stops)
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function histogramPanel(run, m, expose) {
  const heat = el("canvas", { class: "heatmap", width: 560, height: 180 });
  const bars = el("canvas", { class: "bars", width: 560, height: 140 });
  const slider = el("input", { type: "range", min: 0, max: 0, step: 1, value: 0, class: "step-slider" });
  const label = el("span", { class: "muted" });
  const panel = el("div", { class: "panel media", "data-media": m.path }, el("h2", { text: `${m.path} · histograms` }),
    el("div", { class: "muted small", text: "over steps (x: step, y: value, colour: count)" }), heat,
    el("div", { class: "slider-row" }, slider, label), bars);
  api("histograms", { id: run, path: m.path }).then((h) => {
    if (!h.steps.length) { label.textContent = "no histograms yet"; return; }
    let lo = Infinity, hi = -Infinity, top = 0;
    for (const g of h.histograms) {
      lo = Math.min(lo, g.edges[0]); hi = Math.max(hi, g.edges[g.edges.length - 1]);
      for (const v of g.values) top = Math.max(top, v || 0);
    }
    const ctx = heat.getContext("2d");
    const W = heat.width, H = heat.height, cw = W / h.steps.length;
    ctx.fillStyle = heatColor(0); ctx.fillRect(0, 0, W, H);
    const cells = [];
    h.histograms.forEach((g, i) => {
      g.values.forEach((v, b) => {
        const y0 = H - ((g.edges[b] - lo) / (hi - lo || 1)) * H, y1 = H - ((g.edges[b + 1] - lo) / (hi - lo || 1)) * H;
        ctx.fillStyle = heatColor(top ? (v || 0) / top : 0);
        ctx.fillRect(i * cw, y1, Math.ceil(cw), Math.max(1, y0 - y1));
      });
      cells.push(g.values.length);
    });
    slider.max = h.steps.length - 1;
    slider.value = h.steps.length - 1;
    const draw = () => {
      const i = +slider.value;
      const g = h.histograms[i];
      const b = bars.getContext("2d");
      b.clearRect(0, 0, bars.width, bars.height);
      const peak = Math.max(...g.values.map((v) => v || 0), 1e-12);
      const span = g.edges[g.edges.length - 1] - g.edges[0] || 1;
      b.fillStyle = cssVar("--accent");
      g.values.forEach((v, k) => {
        const x0 = ((g.edges[k] - g.edges[0]) / span) * bars.width, x1 = ((g.edges[k + 1] - g.edges[0]) / span) * bars.width;
        const bh = ((v || 0) / peak) * (bars.height - 14);
        b.fillRect(x0, bars.height - bh, Math.max(1, x1 - x0 - 1), bh);
      });
      b.fillStyle = cssVar("--muted");
      b.font = "10px system-ui, sans-serif";
      b.fillText(`${fmt(g.edges[0])} … ${fmt(g.edges[g.edges.length - 1])}   peak ${fmt(peak)}`, 4, 10);
      label.textContent = `step ${fmt(h.steps[i])} (${i + 1} of ${h.steps.length})`;
      expose({ steps: h.steps, step: h.steps[i], heatmap: { columns: h.steps.length, bins: cells, range: [lo, hi], max: top },
        bars: g.values, edges: g.edges, density: g.density });
    };
    slider.addEventListener("input", draw);
    draw();
  }).catch((e) => { label.textContent = e.message; });
  return panel;
}

// -- gallery across the selected runs ----------------------------------------------------------
const Gallery = {
  async show() {
    const runs = [...S.selected.keys()];
    const box = $("gallery");
    window.naiadGallery = { paths: [] };
    if (!runs.length) { box.replaceChildren(el("div", { class: "empty muted", text: "Select runs in the table to see their images." })); return; }
    let data;
    try { data = await api("gallery", { run: runs }); } catch (e) { toast(e.message); return; }
    if (!data.paths.length) { box.replaceChildren(el("div", { class: "empty muted", text: "The selected runs have no images." })); return; }
    const exposed = [];
    const sections = data.paths.map((p) => {
      const all = [...new Set(Object.values(p.runs).flatMap((s) => s || []))].sort((a, b) => a - b);
      const slider = el("input", { type: "range", min: 0, max: Math.max(0, all.length - 1), step: 1, value: Math.max(0, all.length - 1), class: "step-slider" });
      const label = el("span", { class: "muted" });
      const cells = runs.filter((r) => r in p.runs).map((r) => {
        const img = el("img", { class: "thumb", alt: `${r} ${p.path}`, loading: "lazy" });
        return { run: r, steps: p.runs[r], img, node: el("figure", { class: "cell" }, img,
          el("figcaption", {}, el("span", { class: "swatch", style: { background: S.selected.get(r).color } }), r)) };
      });
      const info = { path: p.path, steps: all, step: null, cells: [] };
      exposed.push(info);
      const show = () => {
        const want = all[+slider.value];
        info.step = want === undefined ? null : want;
        info.cells = cells.map((c) => {
          const step = c.steps ? nearestStep(c.steps, want) : null;
          c.img.src = imageURL(c.run, p.path, step);
          return { run: c.run, step, src: c.img.getAttribute("src") };
        });
        label.textContent = all.length ? `step ${fmt(want)}` : "";
      };
      slider.addEventListener("input", show);
      show();
      return el("div", { class: "panel", "data-gallery": p.path }, el("h2", { text: p.path }),
        all.length > 1 ? el("div", { class: "slider-row" }, slider, label) : "",
        el("div", { class: "gallery-row" }, ...cells.map((c) => c.node)));
    });
    window.naiadGallery = { paths: exposed };
    box.replaceChildren(...sections);
  },
};
