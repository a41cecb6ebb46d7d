// The telebus dashboard: streams with their rates (from /api/streams), the newest values of the chosen
// stream as a tree, and live plots of the numbers a user clicks (uPlot). Data arrive over the dashboard's
// WebSocket feed, which keeps only the newest record of each stream for a slow page.
"use strict";

const WINDOW_SECONDS = 60;
const MAX_POINTS = 20000;
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;

const state = {
  selected: null, // stream shown in the tree
  latest: new Map(), // stream -> newest record
  plotted: new Map(), // "stream\u0000a/b/c" -> { stream, path, xs: [], ys: [] }
  plot: null,
  dirty: false,
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function lookup(data, path) {
  let cur = data;
  for (const seg of path.split("/")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[seg];
  }
  return cur;
}

/**
 * A number as a reader wants it: integers whole; otherwise 3 decimals from 1 up (12.346) and 4 significant digits
 * below (0.001235), exponents only for the very large or small. The exact value stays in the tooltip.
 */
function formatNumber(v) {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-6) return v.toExponential(3);
  return String(Number(a >= 1 ? v.toFixed(3) : v.toPrecision(4)));
}

/** Seconds since the epoch as a UTC date and time, to the millisecond: `2024-01-02 03:04:05.678 UTC`. */
function formatTime(seconds) {
  // Rounded, not truncated as Date does: 1.811 s is often 1810.9999… ms in binary.
  return new Date(Math.round(seconds * 1000)).toISOString().replace("T", " ").replace("Z", " UTC");
}

/** A `time` key holding seconds since the epoch (after 1973, before 2286) is shown as a date. */
const isEpochTime = (key, v) => key === "time" && v > 1e8 && v < 1e10;

function renderTree() {
  const box = document.getElementById("tree");
  const rec = state.latest.get(state.selected);
  if (!rec) return;
  const build = (value, prefix) => {
    const ul = el("ul");
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}/${k}` : k;
      const li = el("li", {}, el("span", { class: "key" }, `${k}: `));
      if (v !== null && typeof v === "object" && !Array.isArray(v) && !("$bin" in v)) {
        li.append(build(v, path));
      } else if (typeof v === "number") {
        const id = `${state.selected}\u0000${path}`;
        const time = isEpochTime(k, v);
        li.append(el("span", {
          class: `num${time ? " time" : ""}${state.plotted.has(id) ? " plotted" : ""}`,
          "data-path": path,
          "data-value": String(v),
          title: `${v} — click to plot`,
          onclick: () => togglePlot(state.selected, path),
        }, time ? formatTime(v) : formatNumber(v)));
      } else {
        li.append(el("span", { class: "str" }, JSON.stringify(v)));
      }
      ul.append(li);
    }
    return ul;
  };
  box.replaceChildren(
    el("div", {}, el("strong", {}, state.selected), ` — ${formatTime(rec.time)}`),
    build(rec.data, ""),
  );
}

function togglePlot(stream, path) {
  const id = `${stream}\u0000${path}`;
  if (state.plotted.has(id)) state.plotted.delete(id);
  else state.plotted.set(id, { stream, path, xs: [], ys: [] });
  rebuildPlot();
  renderTree();
}

function rebuildPlot() {
  const box = document.getElementById("plot");
  state.plot?.destroy();
  state.plot = null;
  box.replaceChildren();
  document.getElementById("plot-hint").hidden = state.plotted.size > 0;
  if (state.plotted.size === 0) return;
  const colors = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"];
  const series = [{}];
  let i = 0;
  for (const s of state.plotted.values()) {
    series.push({ label: `${s.stream} ${s.path}`, stroke: colors[i++ % colors.length], width: 1.5, spanGaps: true });
  }
  state.plot = new uPlot(
    {
      width: Math.max(300, box.clientWidth || document.getElementById("plot-box").clientWidth - 20),
      height: 300,
      series,
      scales: { x: { time: true } },
      legend: { live: true },
    },
    plotData(),
    box,
  );
}

/** Aligns every plotted series on one x axis (uPlot's format): the union of their times. */
function plotData() {
  const all = [...state.plotted.values()];
  const times = [...new Set(all.flatMap((s) => s.xs))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data = [times];
  for (const s of all) {
    const ys = new Array(times.length).fill(null);
    s.xs.forEach((t, j) => (ys[index.get(t)] = s.ys[j]));
    data.push(ys);
  }
  return data;
}

function onRecord(rec) {
  state.latest.set(rec.stream, rec);
  for (const s of state.plotted.values()) {
    if (s.stream !== rec.stream) continue;
    const v = lookup(rec.data, s.path);
    if (typeof v !== "number") continue;
    s.xs.push(rec.time);
    s.ys.push(v);
    const cutoff = rec.time - WINDOW_SECONDS;
    while (s.xs.length > MAX_POINTS || (s.xs.length && s.xs[0] < cutoff)) s.xs.shift(), s.ys.shift();
  }
  if (!state.selected) selectStream(rec.stream);
  state.dirty = true;
}

function selectStream(stream) {
  state.selected = stream;
  for (const tr of document.querySelectorAll("#streams tr")) {
    tr.classList.toggle("selected", tr.dataset.stream === stream);
  }
  renderTree();
}

// Redraw at most ~10 times a second, whatever the data rate.
setInterval(() => {
  if (!state.dirty) return;
  state.dirty = false;
  renderTree();
  state.plot?.setData(plotData());
}, 100);

async function refreshStreams() {
  try {
    const res = await fetch(withToken("api/streams"));
    const streams = await res.json();
    const body = document.getElementById("streams");
    body.replaceChildren(...streams.map((s) =>
      el(
        "tr",
        {
          class: `stream${s.stream === state.selected ? " selected" : ""}`,
          "data-stream": s.stream,
          onclick: () => selectStream(s.stream),
        },
        el("td", {}, s.stream),
        el("td", { class: "rate" }, s.rate.toFixed(1)),
      )
    ));
  } catch {
    // the daemon is restarting; the next refresh tries again
  }
}
setInterval(refreshStreams, 1000);
refreshStreams();

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const base = location.pathname.replace(/[^/]*$/, "");
  const ws = new WebSocket(withToken(`${proto}//${location.host}${base}ws/dashboard?format=json`));
  const status = document.getElementById("status");
  ws.onopen = () => status.textContent = "live";
  ws.onclose = () => {
    status.textContent = "disconnected — retrying";
    setTimeout(connect, 1000);
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    for (const rec of Array.isArray(msg) ? msg : [msg]) onRecord(rec);
  };
}
connect();
addEventListener(
  "resize",
  () => state.plot?.setSize({ width: document.getElementById("plot").clientWidth, height: 300 }),
);
