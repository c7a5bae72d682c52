// tagstream's live web view: draws what the server sends over one websocket.
// Panels arrive as Plotly figures with their numbers; this page knows no measurement kind.
"use strict";

const query = window.location.search;
const RATE_WINDOW_S = 60;  // the rolling count-rate chart shows this much
// Plotly's "responsive" costs a resize check in every update: the page resizes the plots itself
const plotConfig = { displaylogo: false };
const state = {
  socket: null, control: false, mode: null, snapshots: 0, rates: new Map(), t0: null, closed: false,
  pending: new Map(), drawing: false,  // panels waiting to be drawn, by key; whether one is drawn
};

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function setBadge(id, text, kind = "") {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = "badge " + kind;
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + window.location.host + "/ws" + query);
  state.socket = socket;
  socket.onopen = () => setBadge("connection", "connected", "good");
  socket.onclose = () => {
    state.closed = true;
    setBadge("connection", "disconnected: the run ended or the server stopped", "bad");
    setBadge("role", "");
    document.getElementById("message").textContent = "";
    for (const id of ["stop", "clear", "apply"]) document.getElementById(id).disabled = true;
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const handler = handlers[message.type];
    if (handler) handler(message);
  };
}

const handlers = {
  hello(m) {
    state.control = m.control;
    state.mode = m.mode;
    setBadge("role", m.control ? "controls" : "watching (another page controls)", m.control ? "good" : "");
    const live = m.mode === "live";
    document.getElementById("live-controls").hidden = !live;
    for (const id of ["stop", "clear", "apply"]) document.getElementById(id).disabled = !(m.control && live) || state.closed;
    document.getElementById("browse").hidden = m.mode !== "file";
  },
  status(m) { renderStatus(m); },
  panels(m) { renderPanels(m); },
  reply(m) {
    document.getElementById("message").textContent = (m.ok ? "" : "refused: ") + m.text;
  },
};

// ---------------------------------------------------------------- status and count rates
function formatRate(cps) {
  if (cps === null || cps === undefined) return "—";
  if (Math.abs(cps) >= 1e6) return (cps / 1e6).toPrecision(3) + " Mcps";
  if (Math.abs(cps) >= 1e3) return (cps / 1e3).toPrecision(3) + " kcps";
  return cps.toPrecision(3) + " cps";
}

function fixed(value, digits, unit) {
  return value === null || value === undefined ? "—" : value.toFixed(digits) + unit;
}

function renderStatus(m) {
  const rates = document.getElementById("rates");
  const names = Object.keys(m.rates_cps || {});
  for (const name of names) {
    let box = rates.querySelector(`[data-key="${CSS.escape(name)}"]`);
    if (!box) {
      box = el("div", { class: "number", "data-key": name });
      box.append(el("span", { class: "label" }, name), el("span", { class: "value" }));
      rates.append(box);
    }
    box.dataset.value = m.rates_cps[name];
    box.querySelector(".value").textContent = formatRate(m.rates_cps[name]);
  }
  rates.dataset.updates = String(Number(rates.dataset.updates || 0) + 1);
  if (m.t_s !== null && m.t_s !== undefined) extendRates(m.t_s, m.rates_cps || {});
  const rows = [
    ["state", m.state],
    ["elapsed", fixed(m.t_s, 1, " s")],
    ["lag", fixed(m.lag_s, 2, " s") + (m.source_warning ? " (source behind real time)" : "")],
    ["lost to the analysis", m.missed === undefined ? "—" : `${m.missed} messages, ${m.analysis_gaps} gaps, ${m.restarts} restarts`],
    ["writer queue", fixed(m.writer_queue_mb, 0, " MB")],
    ["file size", fixed(m.file_mb, 1, " MB")],
    ["free disk", fixed(m.free_gb, 1, " GB")],
    ["snapshots", m.snapshots === undefined ? "—" : String(m.snapshots)],
    ["analysis segment", segmentText(m.segment)],
  ];
  const body = document.querySelector("#status-table tbody");
  body.replaceChildren(...rows.filter((r) => r[1] !== "—" || r[0] === "elapsed").map(([k, v]) => {
    const tr = el("tr", { "data-key": k.replace(/ /g, "_") });
    tr.append(el("td", {}, k), el("td", {}, v));
    return tr;
  }));
  setBadge("state", m.state || "", m.state === "complete" ? "good" : "");
  if (m.segment) fillSettings(m.segment.settings || {});
  if (m.snapshots !== undefined) updateSlider(m.snapshots);
}

function segmentText(segment) {
  if (!segment) return "—";
  if (segment.number === 0) return "0 (since the run's start)";
  const at = segment.start_s === null ? "" : ` at ${segment.start_s.toFixed(1)} s`;
  return `${segment.number} (${segment.reason}${at})`;
}

function fillSettings(settings) {
  for (const [key, value] of Object.entries(settings)) {
    const input = document.getElementById(key);
    if (input && document.activeElement !== input && !input.dataset.edited) input.value = value;
  }
}

function extendRates(t, rates) {
  const plot = document.getElementById("rate-plot");
  const names = Object.keys(rates);
  if (!plot.data || names.some((n) => !state.rates.has(n))) {
    names.forEach((n, i) => state.rates.set(n, i));
    const data = names.map((n) => ({ type: "scatter", mode: "lines", name: n, x: [], y: [] }));
    const layout = {
      margin: { l: 55, r: 10, t: 30, b: 35 }, xaxis: { title: { text: "time (s)" } },
      yaxis: { title: { text: "cps" }, rangemode: "tozero" }, legend: { orientation: "h", x: 1, xanchor: "right", y: 1.25 },
      hovermode: false,
    };
    Plotly.newPlot(plot, data, layout, plotConfig);
  }
  const xs = names.map(() => [t]);
  const ys = names.map((n) => [rates[n]]);
  Plotly.extendTraces(plot, { x: xs, y: ys }, names.map((n) => state.rates.get(n)), 5 * RATE_WINDOW_S);
}

// ---------------------------------------------------------------- the kinds' panels
function renderPanels(m) {
  state.snapshots = m.snapshots;
  const note = document.getElementById("window-note");
  note.hidden = !m.note;
  note.textContent = m.note || "";
  updateSlider(m.snapshots, m.shown);
  if (m.complete) {  // every panel there is (a file's snapshot): drop the others
    const keys = new Set(m.panels.map((p) => p.key));
    for (const node of [...document.getElementById("panels").children]) {
      if (!keys.has(node.dataset.key)) node.remove();
    }
  }
  m.panels.forEach(panelNode);  // every panel in place first: the plots size to their cells
  for (const p of m.panels) state.pending.set(p.key, p);
  if (m.complete) for (const key of [...state.pending.keys()]) if (!m.panels.some((p) => p.key === key)) state.pending.delete(key);
  if (!state.drawing) drawPending();
}

// One panel at a time, the latest of each: a panel that arrives while others are drawn
// replaces its older version instead of queueing behind it.
async function drawPending() {
  state.drawing = true;
  try {
    while (state.pending.size) {
      const [key, p] = state.pending.entries().next().value;
      state.pending.delete(key);
      try {
        await renderPanel(p);
      } catch (error) {  // one panel that cannot be drawn leaves the others drawn
        console.error(`panel ${key}: ${error}`);
      }
    }
  } finally {
    state.drawing = false;
  }
}

function panelNode(p) {
  let node = document.getElementById("panel-" + p.key);
  if (node) return node;
  node = el("section", { id: "panel-" + p.key, class: "panel", "data-key": p.key, "data-slot": p.slot });
  const title = el("h2");
  title.append(el("span", { class: "title" }), el("span", { class: "covered" }));
  node.append(title, el("div", { class: "numbers" }), el("ul", { class: "notes" }), el("div", { class: "plot" }));
  const container = document.getElementById("panels");
  const after = [...container.children].find((c) => Number(c.dataset.slot) > p.slot);
  container.insertBefore(node, after || null);
  return node;
}

function renderPanel(p) {
  const node = panelNode(p);
  node.querySelector(".title").textContent = p.title;
  const covered = p.covered_ps ? (p.covered_ps[1] - p.covered_ps[0]) / 1e12 : null;
  node.querySelector(".covered").textContent = covered === null ? "" : `${covered.toFixed(1)} s of data`;
  node.dataset.coveredEnd = p.covered_ps ? String(p.covered_ps[1]) : "";
  node.dataset.published = p.published_s === null ? "" : String(p.published_s);
  const numbers = node.querySelector(".numbers");
  numbers.replaceChildren(...p.numbers.map((n) => {
    const box = el("div", { class: "number", "data-key": n.key, "data-value": n.value === null ? "" : String(n.value),
      "data-error": n.error === null ? "" : String(n.error), "data-end": n.end_ps === null ? "" : String(n.end_ps) });
    box.append(el("span", { class: "label" }, n.label), el("span", { class: "value" }, n.text + (n.unit ? " " + n.unit : "")));
    return box;
  }));
  node.querySelector(".notes").replaceChildren(...p.notes.map((t) => el("li", {}, t)));
  const plot = node.querySelector(".plot");
  const done = () => {
    node.dataset.updates = String(Number(node.dataset.updates || 0) + 1);
    if (p.published_s !== null) {
      send({ op: "shown", key: p.key, published_s: p.published_s, shown_s: Date.now() / 1000 });
    }
  };
  if (p.figure) {
    plot.hidden = false;
    return Plotly.react(plot, p.figure.data, p.figure.layout, plotConfig).then(done);
  }
  plot.hidden = true;
  done();
  return Promise.resolve();
}

// ---------------------------------------------------------------- browsing a file
function updateSlider(count, shown) {
  const slider = document.getElementById("snapshot");
  slider.max = String(Math.max(0, count - 1));
  const follow = document.getElementById("follow").checked;
  if (follow) slider.value = slider.max;
  else if (shown !== undefined && shown !== null) slider.value = String(shown);
  document.getElementById("snapshot-label").textContent = `${Number(slider.value) + 1} of ${count}`;
}

function windowSeconds() {
  const value = document.getElementById("window").value;
  return value === "" ? null : Number(value);
}

function show() {
  const follow = document.getElementById("follow").checked || state.mode !== "file";
  send({ op: "show", k: follow ? null : Number(document.getElementById("snapshot").value), window_s: windowSeconds() });
}

document.getElementById("snapshot").addEventListener("input", () => {
  document.getElementById("follow").checked = false;
  show();
});
document.getElementById("follow").addEventListener("change", show);
document.getElementById("window").addEventListener("change", show);
document.getElementById("stop").addEventListener("click", () => {
  if (!window.confirm("Stop the run? The run file is completed and the acquisition ends.")) return;
  send({ op: "stop" });
  document.getElementById("stop").disabled = true;
});
document.getElementById("clear").addEventListener("click", () => send({ op: "clear" }));
for (const key of ["g2_window", "g2_bin", "trace_bin"]) {
  document.getElementById(key).addEventListener("input", (event) => { event.target.dataset.edited = "1"; });
}
document.getElementById("settings").addEventListener("submit", (event) => {
  event.preventDefault();
  const message = { op: "settings" };
  for (const key of ["g2_window", "g2_bin", "trace_bin"]) {
    const input = document.getElementById(key);
    if (input.dataset.edited) message[key] = input.value.trim();
    delete input.dataset.edited;
  }
  send(message);
});

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    for (const plot of document.querySelectorAll(".plot")) if (plot.data) Plotly.Plots.resize(plot);
  }, 150);
});

connect();
