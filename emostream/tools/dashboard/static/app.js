// emostream dashboard: renders the snapshots the server pushes over Server-Sent Events.
// All text goes through textContent; nothing from the stream is parsed as HTML.
"use strict";

const COLORS = {
  angry: "#d64545", disgust: "#7a9a01", fear: "#8e44ad", happy: "#f2a900",
  sad: "#2f6fdb", surprise: "#17a2b8", neutral: "#8a94a6", calm: "#5aa469",
};

function color(name) {
  if (COLORS[name]) return COLORS[name];
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h}, 55%, 50%)`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function setPill(node, text, level) {
  node.textContent = text;
  node.classList.remove("ok", "bad", "warn");
  node.classList.add("pill", level);
}

function seconds(s) {
  if (s < 90) return `${Math.max(0, Math.round(s))} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function peopleTable(people, now) {
  if (!people.length) return el("div", { class: "none" }, "nobody tracked right now");
  const rows = people.map((p) => {
    const conf = p.confidence == null ? null : Math.round(p.confidence * 100);
    const chip = el("span", { class: "chip emotion" + (p.provisional ? " provisional" : ""),
                               style: `background:${color(p.emotion)}` }, p.emotion || "…");
    const bar = el("span", { class: "bar" }, el("span", { style: `width:${conf || 0}%` }));
    // who speaks: a face the current voice is attributed to, with its fused (face + voice) emotion;
    // a voice row says whose voice it is
    let talk = "";
    if (p.modality === "face") {
      talk = el("span", { class: "speaking" + (p.speaking ? " on" : "") }, p.speaking ? "speaking" : "");
      if (p.fused) talk.append(" ", el("span", { class: "chip fused", style: `background:${color(p.fused)}` }, p.fused));
    } else if (p.modality === "voice") {
      talk = el("span", { class: "speaker" }, p.speaker == null ? "off screen / unknown" : `face #${p.speaker}`);
    }
    return el("tr", { class: "person", "data-track": p.track, "data-modality": p.modality },
      el("td", {}, `#${p.track}`), el("td", {}, chip),
      el("td", {}, bar, conf == null ? "–" : `${conf}%`),
      el("td", {}, seconds(now - p.since)), el("td", {}, p.modality), el("td", {}, talk));
  });
  const head = el("tr", {}, ...["person", "emotion", "confidence", "tracked for", "from", "speaks · fused"].map((h) => el("th", {}, h)));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function drawTimeline(canvas, timeline) {
  const w = (canvas.width = canvas.clientWidth || 600);
  const h = (canvas.height = canvas.clientHeight || 110);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const n = timeline.length || 1;
  const bw = w / n;
  timeline.forEach((slot, i) => {
    let y = h;
    for (const [emo, share] of Object.entries(slot.shares)) {
      const bh = share * h;
      ctx.fillStyle = color(emo);
      ctx.fillRect(i * bw, y - bh, Math.max(1, bw - 0.5), bh);
      y -= bh;
    }
  });
}

function cameraCard(id, cam, health, now, snap) {
  const src = health ? health.source_up : undefined;
  const badge = el("span", { class: "pill source" }, "");
  setPill(badge, src === undefined ? "source ?" : src ? "source up" : "source down",
          src === undefined ? "warn" : src ? "ok" : "bad");
  const meta = [`${cam.people.length} tracked`, `${cam.events} events`];
  if (health && health.fps !== undefined) meta.unshift(`${health.fps.toFixed(1)} frames/s analysed`);
  if (cam.last_event) meta.push(`last event ${seconds(now - cam.last_event)} ago`);
  const canvas = el("canvas", { class: "timeline" });
  const seen = new Set();
  cam.timeline.forEach((s) => Object.keys(s.shares).forEach((k) => seen.add(k)));
  const legend = el("div", { class: "legend" },
    ...[...seen].sort().map((k) => el("span", {}, el("i", { style: `background:${color(k)}` }), k)));
  const recent = el("ol", { class: "recent" }, ...cam.recent.map((e) =>
    el("li", { class: "event" }, `${(e.time || "").slice(11, 19)}  ${e.type}  #${e.track}  ` +
      (e.emotion ? `${e.previous ? e.previous + " → " : ""}${e.emotion}` : ""))));
  const down = !health && snap.daemons.some((d) => !d.up);  // nobody vouches for these faces now
  const card = el("section", { class: "camera" + (down ? " stale" : ""), "data-camera": id, "data-events": cam.events },
    el("h2", {}, el("span", { class: "camera-id" }, id), badge),
    el("div", { class: "meta" }, meta.join(" · ")),
    peopleTable(cam.people, now), canvas,
    el("div", { class: "axis" }, el("span", {}, `−${seconds(snap.window)}`), el("span", {}, "now")),
    legend, recent);
  return [card, () => drawTimeline(canvas, cam.timeline)];
}

function render(snap) {
  const now = snap.now;
  document.getElementById("bucket").textContent = snap.bucket;
  document.getElementById("window").textContent = Math.round(snap.window / 60);
  const r = snap.redis;
  setPill(document.getElementById("redis"), r.up ? "redis up" : "redis down", r.up ? "ok" : "bad");
  document.getElementById("redis").title = `${r.url}${r.error ? ": " + r.error : ""}`;
  const dbox = document.getElementById("daemons");
  dbox.replaceChildren(...snap.daemons.map((d) => {
    const p = el("span", { class: "pill daemon" }, "");
    if (!d.up) setPill(p, "daemon unreachable", "bad");
    else if (!d.ready) setPill(p, d.redis_up === false ? "daemon up · its redis down" : "daemon up · not ready", "warn");
    else setPill(p, `daemon ok · v${d.version || "?"} · ${d.published ?? 0} published`, "ok");
    p.title = `${d.url}${d.error ? ": " + d.error : ""}`;
    return p;
  }));
  const health = {};
  for (const d of snap.daemons) Object.assign(health, d.cameras || {});
  const ids = Object.keys(snap.cameras).sort();
  const main = document.getElementById("cameras");
  if (!ids.length) {
    main.replaceChildren(el("p", { class: "empty" }, "Waiting for cameras…"));
    return;
  }
  const built = ids.map((id) => cameraCard(id, snap.cameras[id], health[id], now, snap));
  main.replaceChildren(...built.map((b) => b[0]));
  built.forEach((b) => b[1]());
}

let source = null;
let lastMessage = 0;

function connect() {
  const conn = document.getElementById("conn");
  source = new EventSource("/api/events");
  source.onopen = () => setPill(conn, "live", "ok");
  source.addEventListener("state", (msg) => {
    lastMessage = Date.now();
    setPill(conn, "live", "ok");
    render(JSON.parse(msg.data));
  });
  source.onerror = () => {
    setPill(conn, "reconnecting…", "bad");
    if (source.readyState === EventSource.CLOSED) {  // the browser gave up: start over ourselves
      source = null;
      setTimeout(connect, 2000);
    }
  };
}

setInterval(() => {  // the server sends at least once a second; silence means a dead connection
  if (source && lastMessage && Date.now() - lastMessage > 5000) {
    setPill(document.getElementById("conn"), "stale, reconnecting…", "bad");
    source.close();
    lastMessage = 0;
    connect();
  }
}, 1000);

connect();
