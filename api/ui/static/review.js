// The auditor's review page: claims the next item, draws the frame with its boxes, takes one-key
// decisions and keyboard (or mouse) corrections. Boxes are [x1, y1, x2, y2] in image pixels.
// window.gtqaReview.timings holds each decision's round trip (ms): from the key press to the next item
// drawn (the DOM and the canvas updated, and the browser's next frame painted).
// Nothing is lost and nothing decided unseen: edits and the comment are kept in localStorage per item until
// the decision is recorded (a reload restores them), a decision the server refuses (409: the claim went to
// someone else) stays on screen with its edits, a held-down key repeats no decision, and a decision sooner
// than the minimum time on screen (data-min-seconds) is ignored. The seconds stored with an audit are the
// seconds the item was on screen with the tab visible.

const $ = (id) => document.getElementById(id);
const root = $("review");
const canvas = $("frame");
const g = canvas.getContext("2d");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const leaseSeconds = Number(root.dataset.leaseSeconds) || 900;
const minSeconds = Number(root.dataset.minSeconds) || 0;
const pollSeconds = Number(root.dataset.pollSeconds) || 15;
const readonly = root.dataset.readonly ? Number(root.dataset.readonly) : null;  // /ui/items/<id>: look only
// The queue chosen on the page (?job=): the next item is claimed from that job only.
const claimQuery = root.dataset.job ? `?job=${encodeURIComponent(root.dataset.job)}` : "";
const DRAFT = "gtqa.review.draft.";  // + item id: the unsaved edits of that item
const DRAFT_DAYS = 7;  // drafts of items never seen again are dropped after this long
const css = getComputedStyle(document.documentElement);
const colour = (name) => css.getPropertyValue(`--${name}`).trim();
const COLOURS = {
  canvas: colour("canvas"), text: colour("canvas-text"), flag: colour("box-flag"), fix: colour("box-fix"),
  other: colour("box-other"), proposed: colour("box-proposed"), pred: colour("box-pred"),
};

const state = {
  item: null, shownAt: 0, busy: false, zoom: false, original: null, box: null, proposed: null, match: null,
  size: [1, 1], image: null, imageReady: false, imageFailed: false, drag: null, extendTimer: 0, timings: [],
  visibleMs: 0, visibleSince: null, lost: false, pollTimer: 0, region: null, ignored: 0, restored: false,
  track: null, scene: null, lidar: null, step: 0,
  others: {}, added: [], sel: null,  // edits of the frame's other labels: by label id, the boxes drawn, the one selected
};
window.gtqaReview = state;
state.redraw = () => draw();  // for tests and screenshots

// ---- requests -------------------------------------------------------------------------------------

async function post(url, body) {
  const res = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body ?? {}),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(data?.error?.message ?? res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

async function send(url, body, note, done = null) {
  if (state.busy) return;
  state.busy = true;
  root.setAttribute("aria-busy", "true");
  const started = performance.now();
  try {
    const data = await post(url, body);
    if (done != null) dropDraft(done);
    show(data);
    announce(note);
    // The next frame paints what show() drew; the task after it runs once that frame is out.
    requestAnimationFrame(() => setTimeout(() => state.timings.push(performance.now() - started), 0));
  } catch (err) {
    failed(err);
  } finally {
    state.busy = false;
    root.removeAttribute("aria-busy");
  }
}

function failed(err) {
  if (err.status === 401) { window.location.assign(`/ui/login?next=${encodeURIComponent("/ui/review")}`); return; }
  if (err.status === 409) { lost(err.message); return; }
  showError(err.message);
}

// The server refused: this item is no longer ours. It stays on screen with every edit (and they stay in
// localStorage, so they come back if the item returns to us); nothing moves on until N.
function lost(message) {
  if (!state.item) return;
  saveDraft();
  state.lost = true;
  clearInterval(state.extendTimer);
  root.dataset.state = "lost";
  $("lost-text").textContent = `Not recorded: ${message}. Your claim on this item lapsed and it may be ` +
    "another auditor's now. Your edits and comment are kept here and in this browser: they are put back " +
    "if this item comes back to you. Press N for the next item.";
  $("lost").hidden = false;
}

const loadNext = () => send(`/ui/api/next${claimQuery}`, {}, "");

// ---- time on screen -------------------------------------------------------------------------------

function onScreenSeconds() {
  const running = state.visibleSince == null ? 0 : performance.now() - state.visibleSince;
  return (state.visibleMs + running) / 1000;
}

function onVisibility() {
  if (document.hidden && state.visibleSince != null) {
    state.visibleMs += performance.now() - state.visibleSince;
    state.visibleSince = null;
  } else if (!document.hidden && state.item && state.visibleSince == null) {
    state.visibleSince = performance.now();
  }
}

// Too soon after the item appeared: the key was meant for the previous one, or pressed unseen.
function tooSoon() {
  if (onScreenSeconds() >= minSeconds) return false;
  state.ignored += 1;
  announce(`Ignored: this item has been on screen under ${minSeconds} s.`);
  return true;
}

// ---- decisions ------------------------------------------------------------------------------------

function decide(verdict) {
  if (!state.item || state.busy || state.lost || readonly || tooSoon()) return;
  const body = { verdict, seconds: Math.round(onScreenSeconds() * 1000) / 1000 };
  const comment = $("comment").value.trim();
  if (comment) body.comment = comment;
  const others = frameEdits();
  if (others.length) body.frame_edits = others;
  if (verdict === "defect") {
    const issue = $("issue").value || state.item.finding?.type || inferredIssue();
    if (!issue) { showError("Choose the issue type first (I)."); $("issue").focus(); return; }
    const fix = correction();
    if (fix === undefined) return;
    body.issue_type = issue;
    if (fix) body.corrected = fix;
  }
  const note = { defect: "Defect confirmed", not_defect: "Flag rejected", unsure: "Marked unsure" }[verdict] +
    (others.length ? `, ${others.length} other label${others.length > 1 ? "s" : ""} corrected` : "");
  const id = state.item.item.id;
  send(`/ui/api/items/${id}/decision${claimQuery}`, body, note + (body.corrected ? " with a correction" : ""), id);
}

function skipItem() {
  if (!state.item || state.busy || state.lost || readonly || tooSoon()) return;
  const id = state.item.item.id;
  send(`/ui/api/items/${id}/skip${claimQuery}`, {}, "Skipped", id);
}

// The correction to send: null when nothing changed, undefined when it cannot be sent yet.
function correction() {
  const fix = {};
  const label = state.item.label;
  const cls = $("cls").value;
  if (!label || changed(state.box, state.original)) fix.box = boxObject(state.box);
  if (!label || cls !== label.cls) fix.cls = cls;
  if (!label && !cls) { showError("Choose the missing object's class first (K)."); $("cls").focus(); return undefined; }
  const trunc = $("truncation").value, occ = $("occlusion").value;
  if (trunc !== "" && Number(trunc) !== label?.truncation) fix.truncation = Number(trunc);
  if (occ !== "" && Number(occ) !== label?.occlusion) fix.occlusion = Number(occ);
  const attrs = editedAttributes();
  if (attrs) fix.attributes = attrs;
  return Object.keys(fix).length ? fix : null;
}

function inferredIssue() {
  const label = state.item.label;
  if (label && $("cls").value !== label.cls) return "wrong_class";
  if (changed(state.box, state.original)) return "bad_box";
  return editedAttributes() || $("truncation").value !== "" || $("occlusion").value !== "" ? "attribute" : "";
}

function editedAttributes() {
  const label = state.item.label;
  if (!label) return null;
  const out = { ...label.attributes };
  let edited = false;
  for (const input of $("extra-attrs").querySelectorAll("input")) {
    const old = label.attributes[input.dataset.key];
    const value = typeof old === "boolean" ? input.checked : typeof old === "number" ? Number(input.value) : input.value;
    if (value !== old) { out[input.dataset.key] = value; edited = true; }
  }
  return edited ? out : null;
}

// ---- showing an item ------------------------------------------------------------------------------

function show(payload) {
  clearInterval(state.extendTimer);
  clearTimeout(state.pollTimer);
  pace(payload.pace);
  const c = payload.context;
  state.item = c;
  state.lost = false;
  state.region = null;
  $("error").hidden = true;
  $("lost").hidden = true;
  $("empty").hidden = Boolean(c);
  $("why").hidden = !c;
  root.dataset.state = c ? "ready" : "empty";
  root.dataset.itemId = c ? String(c.item.id) : "";
  if (!c) { emptyQueue(); return; }
  state.original = c.label ? boxArray(c.label.box) : [...c.finding.box];
  state.box = [...state.original];
  state.proposed = !c.label ? [...c.finding.box] : c.finding?.proposed_box ? [...c.finding.proposed_box] : null;
  state.match = payload.why?.match ?? null;
  state.track = payload.track ?? null;
  state.scene = payload.scene ?? null;
  state.lidar = payload.lidar ?? null;
  state.step = 0;
  state.others = {};
  state.added = [];
  state.sel = null;
  state.size = frameSize(c);
  canvas.style.setProperty("--frame-aspect", String(state.size[0] / state.size[1]));
  loadImage(c.image_url);
  state.vendor = payload.vendor ?? "";
  describe(c, payload.classes);
  why(payload.why);
  around();
  history(payload.history ?? []);
  state.restored = restoreDraft(c);
  edits();
  draw();
  if (state.restored) announce("Your unsaved edits of this item were put back.");
  state.shownAt = performance.now();
  state.visibleMs = 0;
  state.visibleSince = document.hidden ? null : state.shownAt;
  if (!readonly) state.extendTimer = setInterval(extendClaim, (leaseSeconds * 1000) / 3);
}

function describe(c, classes) {
  const f = c.finding;
  $("item-title").textContent = titleOf(c);
  $("item-meta").textContent = `${state.vendor ? `${state.vendor} · ` : ""}${c.dataset} · batch ${c.item.batch_id} · job ${c.item.job_id} · ` +
    (c.label ? `label ${c.label.id}` : "missing object");
  fillSelect($("cls"), classes, c.label?.cls ?? f?.cls ?? "", !c.label);
  $("issue").value = "";
  $("issue").options[0].textContent = f ? `— the flag's own (${f.type.replaceAll("_", " ")}) —` : "— choose —";
  $("truncation").value = c.label?.truncation ?? "";
  $("occlusion").value = c.label?.occlusion ?? "";
  $("comment").value = "";
  extraAttributes(c.label?.attributes ?? {});
  judge(f?.judge);
  rules(c.rules);
  const link = $("item-link");
  link.href = `/ui/items/${c.item.id}`;
  link.hidden = false;
}

function titleOf(c) {
  const what = c.finding ? c.finding.type.replaceAll("_", " ") : "spot check";
  return `${what} · frame ${c.item.frame}`;
}

function fillSelect(select, values, current, allowNone) {
  select.replaceChildren();
  if (allowNone || !values.includes(current)) select.append(new Option(allowNone ? "— choose —" : current, allowNone ? "" : current));
  for (const v of values) select.append(new Option(v, v));
  select.value = current;
}

function extraAttributes(attrs) {
  const box = $("extra-attrs");
  box.replaceChildren();
  for (const [key, value] of Object.entries(attrs)) {
    const id = `attr-${key.replace(/[^a-z0-9_-]/gi, "_")}`;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: key });
    const input = Object.assign(document.createElement("input"), { id });
    input.dataset.key = key;
    if (typeof value === "boolean") { input.type = "checkbox"; input.checked = value; }
    else { input.type = typeof value === "number" ? "number" : "text"; input.value = String(value); }
    input.addEventListener("change", edits);
    box.append(label, input);
  }
}

// Why it was flagged (api/ui/why.py): the reason, the probability in words, the checks that contributed
// and the detection the flag was reasoned from.
function why(w) {
  $("message").textContent = w?.reason ?? "";
  $("probability").textContent = w ? w.wording[0].toUpperCase() + w.wording.slice(1) + "." : "";
  const body = $("checks").tBodies[0];
  body.replaceChildren();
  for (const c of w?.contributions ?? []) {
    const row = body.insertRow();
    row.insertCell().textContent = c.check;
    row.insertCell().textContent = c.strength.toFixed(2);
    row.insertCell().textContent = c.about;
  }
  $("checks").hidden = !w?.contributions.length;
  const m = w?.match;
  $("match").textContent = !w || !state.item?.finding ? "" : m
    ? `The detection it used: ${m.cls} ${m.score.toFixed(2)} (${m.detector}), IoU ${w.match_iou.toFixed(2)} with the flagged box.`
    : "No detection was used for this flag.";
}

// Earlier decisions on this label, in any delivery of its dataset; an identical re-delivery said first.
function history(list) {
  state.history = list;
  const box = $("history");
  box.replaceChildren();
  if (!list.length) return;
  const same = list.find((h) => h.identical);
  box.append(Object.assign(document.createElement("h3"), { textContent: "Decided before" }));
  if (same) {
    box.append(Object.assign(document.createElement("p"), { className: "notice", id: "redelivered",
      textContent: `This label is identical to one already decided in batch ${same.batch_id}: ${words(same)}.` }));
  }
  const ul = document.createElement("ul");
  for (const h of list) ul.append(Object.assign(document.createElement("li"), { textContent: words(h) }));
  box.append(ul);
}

function words(h) {
  const what = h.verdict === "defect" ? `defect (${(h.issue_type ?? "").replaceAll("_", " ")})` : h.verdict.replaceAll("_", " ");
  const fix = h.corrected_box ? `, corrected to ${h.corrected_cls} at ${h.corrected_box.map(Math.round).join(",")}` : "";
  return `${h.at.slice(0, 10)} ${h.auditor}, batch ${h.batch_id ?? "?"}: ${what}${fix}${h.comment ? ` ("${h.comment}")` : ""}`;
}

function judge(opinion) {
  const box = $("judge");
  box.replaceChildren();
  if (!opinion) return;
  const h = Object.assign(document.createElement("h3"), { textContent: "The judge" });
  const verdict = opinion.verdict ? opinion.verdict.replaceAll("_", " ") : `no verdict (${opinion.failure})`;
  const conf = opinion.confidence == null ? "" : `, confidence ${opinion.confidence.toFixed(2)}`;
  const p = Object.assign(document.createElement("p"), { textContent: `${verdict}${conf}` });
  const why = Object.assign(document.createElement("p"), { className: "reasoning", textContent: opinion.reasoning });
  const src = Object.assign(document.createElement("p"), { className: "muted", textContent: `${opinion.model} · ${opinion.prompt_id} v${opinion.prompt_version}` });
  box.append(h, p, why, src);
}

function rules(list) {
  const box = $("rules");
  box.replaceChildren();
  for (const rule of list) {
    const h = Object.assign(document.createElement("h3"), { textContent: `Rule ${rule.id}` });
    const section = Object.assign(document.createElement("p"), { className: "muted", textContent: rule.section });
    const prose = Object.assign(document.createElement("p"), { className: "prose", textContent: rule.prose });
    box.append(h, section, prose);
  }
}

// Nothing of the previous item stays on screen; the page looks for new work by itself.
function emptyQueue() {
  $("item-title").textContent = "Nothing to review: the queue is empty";
  $("item-meta").textContent = "";
  why(null);
  judge(null);
  rules([]);
  history([]);
  $("item-link").hidden = true;
  state.track = null;
  state.scene = null;
  state.lidar = null;
  around();
  for (const id of ["x1", "y1", "x2", "y2", "truncation", "occlusion", "comment", "issue"]) $(id).value = "";
  $("cls").replaceChildren();
  $("other-cls").replaceChildren();
  $("other-name").textContent = "none";
  $("extra-attrs").replaceChildren();
  $("edits").textContent = "(no changes)";
  $("image-failed").hidden = true;
  state.image = null;
  state.imageReady = false;
  draw();
  canvas.setAttribute("aria-label", "No item: the queue is empty");
  if (!readonly) state.pollTimer = setTimeout(() => { if (!state.item) send(`/ui/api/next${claimQuery}`, {}, ""); }, pollSeconds * 1000);
}

function pace(p) {
  $("pace-rate").textContent = p.per_hour == null ? "—" : Math.round(p.per_hour);
  $("pace-median").textContent = p.median_seconds == null ? "—" : p.median_seconds.toFixed(1);
  $("pace-count").textContent = p.decisions;
  $("queue-left").textContent = p.pending;
}

function announce(text) { $("status").textContent = text; }
function showError(text) { $("error").textContent = text; $("error").hidden = false; }

function loadImage(url) {
  state.imageReady = false;
  state.imageFailed = false;
  state.image = null;
  $("image-failed").hidden = true;
  if (!url) {
    // A batch delivered without images (labels and detections only): say so, never a silent blank.
    if (state.item) {
      $("image-failed").textContent = "This frame came without an image: the boxes are drawn on a blank " +
        "canvas of the frame's size. Judge only what the boxes and detections show, mark unsure (U) or " +
        "skip (S); the Queue menu above can take you to a job whose frames have images.";
      $("image-failed").hidden = false;
    }
    return;
  }
  const img = new Image();
  img.onload = () => { if (state.image === img) { state.imageReady = true; draw(); } };
  img.onerror = () => {
    if (state.image !== img) return;
    state.imageFailed = true;
    $("image-failed").textContent = "The frame's image could not be loaded: the boxes are drawn on a blank " +
      "canvas of the frame's size. Judge only what the boxes alone show, or skip (S).";
    $("image-failed").hidden = false;
    draw();
  };
  img.src = url;
  state.image = img;
}

async function extendClaim() {
  if (!state.item || state.busy) return;
  try { await post(`/ui/api/items/${state.item.item.id}/extend`, {}); } catch (err) { failed(err); }
}

// ---- the track and the 3D scene (api/ui/scene.py) -----------------------------------------------------

// A LiDAR label's sweep from above (api/ui/bev.py): the server's own SVG, parsed as SVG (not HTML).
function lidarBev(view) {
  const box = $("lidar-bev");
  $("lidar-box").hidden = !view;
  if (!view) { box.replaceChildren(); return; }
  const svg = new DOMParser().parseFromString(view.svg, "image/svg+xml").documentElement;
  box.replaceChildren(document.importNode(svg, true));
  const points = view.points ? `${view.points} LiDAR points` : "no LiDAR points (the sweep has none)";
  box.setAttribute("aria-label", `The sweep from above: ${view.cuboids} cuboids, the flagged ${view.flagged_cls} ` +
    `highlighted, ${points}, its track over ${view.path} sweeps with the flagged one marked`);
}

function around() {
  const t = state.track, sc = state.scene;
  $("around").hidden = !t && !sc && !state.lidar;
  $("bev-box").hidden = !sc;
  $("track-box").hidden = !t;
  if (sc) drawBev(sc);
  lidarBev(state.lidar);
  $("strip").replaceChildren();
  if (!t) return;
  const changes = t.points.length;
  $("track-caption").textContent = `Track ${t.track_id}: ${changes} frames; the neighbouring frames (flagged one outlined) ` +
    "and, across the whole track, the box's height and centre, the 3D size, occlusion and truncation (flagged frame: the vertical line)";
  for (const n of t.neighbours) $("strip").append(thumb(n));
  drawTimeline(t);
}

function thumb(n) {
  const el = document.createElement("canvas");
  const [w, h] = state.size;
  el.width = 96; el.height = Math.max(8, Math.round((96 * h) / w));
  el.dataset.offset = String(n.offset);
  el.setAttribute("role", "listitem");
  el.setAttribute("aria-label", `frame ${n.index}${n.box ? "" : ", object not labelled"}`);
  el.classList.toggle("here", n.offset === 0);
  const t = el.getContext("2d");
  t.fillStyle = COLOURS.canvas; t.fillRect(0, 0, el.width, el.height);
  t.scale(el.width / w, el.height / h);
  t.lineWidth = w / el.width;
  t.strokeStyle = COLOURS.other;
  for (const b of n.others) t.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  if (n.box) { t.lineWidth = (2.5 * w) / el.width; t.strokeStyle = COLOURS.flag; t.strokeRect(n.box[0], n.box[1], n.box[2] - n.box[0], n.box[3] - n.box[1]); }
  return el;
}

// One row per series, each scaled to its own range; the flagged frame is the vertical line.
function drawTimeline(t) {
  const el = $("timeline"), x = el.getContext("2d");
  const rows = [
    ["box height, px", t.points.map((p) => p.box[3] - p.box[1])],
    ["box centre x, px", t.points.map((p) => (p.box[0] + p.box[2]) / 2)],
    ["3D h / w / l, m", t.points.map((p) => p.dims)],
    ["occlusion", t.points.map((p) => p.occlusion)],
    ["truncation", t.points.map((p) => p.truncation)],
  ];
  const left = 120, width = el.width - left - 8, rowH = (el.height - 6) / rows.length;
  const idx = t.points.map((p) => p.index), lo = Math.min(...idx), hi = Math.max(...idx);
  const xAt = (i) => left + (hi === lo ? width / 2 : ((i - lo) / (hi - lo)) * width);
  x.fillStyle = COLOURS.canvas; x.fillRect(0, 0, el.width, el.height);
  x.font = "11px system-ui, sans-serif";
  rows.forEach(([name, values], r) => {
    const top = 3 + r * rowH;
    const series = Array.isArray(values[0]) || values.some((v) => Array.isArray(v))
      ? [0, 1, 2].map((k) => values.map((v) => (v ? v[k] : null))) : [values];
    const flat = series.flat().filter((v) => v != null);
    const vlo = Math.min(...flat), vhi = Math.max(...flat);
    x.fillStyle = COLOURS.text;
    x.fillText(name, 4, top + rowH / 2);
    x.fillText(flat.length ? `${fmt(vlo)}–${fmt(vhi)}` : "not given", 4, top + rowH / 2 + 11);
    const colours = [COLOURS.fix, COLOURS.proposed, COLOURS.pred];
    series.forEach((vals, k) => {
      x.strokeStyle = colours[k % colours.length];
      x.lineWidth = 1.5;
      x.beginPath();
      let pen = false;
      vals.forEach((v, i) => {
        if (v == null) { pen = false; return; }
        const y = top + rowH - 3 - (vhi === vlo ? 0.5 : (v - vlo) / (vhi - vlo)) * (rowH - 6);
        if (pen) x.lineTo(xAt(idx[i]), y); else x.moveTo(xAt(idx[i]), y);
        pen = true;
      });
      x.stroke();
    });
  });
  x.strokeStyle = COLOURS.flag;
  x.lineWidth = 2;
  x.beginPath(); x.moveTo(xAt(t.flagged_index), 0); x.lineTo(xAt(t.flagged_index), el.height); x.stroke();
  el.setAttribute("aria-label", `Timeline of track ${t.track_id}, frames ${lo} to ${hi}; flagged frame ${t.flagged_index}`);
}

const fmt = (v) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2));

// From above, metres: x to the right, z forwards; the camera at the bottom centre.
function drawBev(sc) {
  const el = $("bev"), x = el.getContext("2d");
  const zs = sc.boxes.flatMap((b) => b.corners.map((c) => c[1]));
  const xs = sc.boxes.flatMap((b) => b.corners.map((c) => Math.abs(c[0])));
  const depth = Math.max(20, ...zs) * 1.05, half = Math.max(10, ...xs) * 1.05;
  const s = Math.min((el.height - 10) / depth, (el.width - 10) / (2 * half));
  const at = ([px, pz]) => [el.width / 2 + px * s, el.height - 5 - pz * s];
  x.fillStyle = COLOURS.canvas; x.fillRect(0, 0, el.width, el.height);
  x.strokeStyle = COLOURS.other; x.setLineDash([3, 3]); x.lineWidth = 1;
  const [l, r] = sc.fov;
  x.beginPath();
  x.moveTo(...at([-Math.tan(l) * depth, depth])); x.lineTo(...at([0, 0])); x.lineTo(...at([Math.tan(r) * depth, depth]));
  x.stroke(); x.setLineDash([]);
  x.fillStyle = COLOURS.fix;
  const [cx, cy] = at([0, 0]);
  x.beginPath(); x.moveTo(cx, cy - 8); x.lineTo(cx - 5, cy); x.lineTo(cx + 5, cy); x.closePath(); x.fill();
  for (const b of [...sc.boxes].sort((a, c) => a.flagged - c.flagged)) {
    x.strokeStyle = b.flagged ? COLOURS.flag : COLOURS.other;
    x.lineWidth = b.flagged ? 2.5 : 1;
    x.beginPath();
    b.corners.forEach((c, i) => (i ? x.lineTo(...at(c)) : x.moveTo(...at(c))));
    x.closePath(); x.stroke();
  }
  const flagged = sc.boxes.find((b) => b.flagged);
  el.setAttribute("aria-label", `Bird's-eye view: ${sc.boxes.length} cuboids` + (flagged ? `, the flagged ${flagged.cls} highlighted` : "") +
    `; camera field of view ${Math.round(((l + r) * 180) / Math.PI)} degrees${sc.calibrated ? "" : " (assumed: no calibration)"}`);
}

// ---- geometry -------------------------------------------------------------------------------------

const boxArray = (b) => [b.x1, b.y1, b.x2, b.y2];
const boxObject = (b) => ({ x1: b[0], y1: b[1], x2: b[2], y2: b[3] });
const changed = (a, b) => a.some((v, i) => Math.abs(v - b[i]) > 1e-6);

function iou(a, b) {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

// The frame's proposals queued after this item because they are probably its object
// (gtqa.scoring.mark_followers: IoU above 0.3): drawn here, since deciding this item decides them too.
function followers(c) {
  if (!c.finding) return [];
  return c.frame_findings.filter((f) => f.follows && !f.label && iou(f.box, state.original) > 0.3);
}

function frameSize(c) {
  if (c.width && c.height) return [c.width, c.height];
  const boxes = [state.original, ...c.neighbours.map((l) => boxArray(l.box))];
  return [Math.max(...boxes.map((b) => b[2])) * 1.1, Math.max(...boxes.map((b) => b[3])) * 1.1];
}

// A box moved past the frame is shifted back in; a resize (``resized``) leaves the edges it did not move
// where they were (a label may reach past the image) and its nudge stops the moved edge at the frame.
function setBox(box, resized = false) {
  const [w, h] = state.size;
  let [x1, y1, x2, y2] = box.map((v) => Math.round(v * 10) / 10);
  x2 = Math.max(x2, x1 + 1);
  y2 = Math.max(y2, y1 + 1);
  const dx = resized ? 0 : Math.min(0, w - x2) - Math.min(0, x1);
  const dy = resized ? 0 : Math.min(0, h - y2) - Math.min(0, y1);
  putTarget([x1 + dx, y1 + dy, x2 + dx, y2 + dy]);
  edits();
  draw();
}

// ``edge``: "far" moves the right or bottom edge, "near" the left or top one, null the whole box.
function nudge(dx, dy, edge) {
  const [x1, y1, x2, y2] = target();
  const [w, h] = state.size;
  const edgeAt = (v, moved, lo, hi) => (moved ? Math.min(Math.max(v, lo), hi) : v);
  // An edge already past the frame (a label may reach past a cropped image) may move back in freely.
  if (edge === "far") {
    setBox([x1, y1, edgeAt(x2 + dx, dx, x1 + 1, Math.max(w, x2)), edgeAt(y2 + dy, dy, y1 + 1, Math.max(h, y2))], true);
  } else if (edge === "near") {
    setBox([edgeAt(x1 + dx, dx, Math.min(0, x1), x2 - 1), edgeAt(y1 + dy, dy, Math.min(0, y1), y2 - 1), x2, y2], true);
  }
  else setBox([x1 + dx, y1 + dy, x2 + dx, y2 + dy]);
}

function edits() {
  if (!state.item) return;
  ["x1", "y1", "x2", "y2"].forEach((k, i) => { $(k).value = state.box[i]; });
  const parts = changes();
  const n = frameEdits().length;
  if (n) parts.push(`${n} other label${n > 1 ? "s" : ""}`);
  $("edits").textContent = parts.length ? `(changed: ${parts.join(", ")})` : "(no changes)";
  otherPanel();
  saveDraft();
}

// What the auditor changed of the label: box, class, truncation, occlusion, attributes.
function changes() {
  const label = state.item.label;
  const parts = [];
  if (changed(state.box, state.original)) parts.push("box");
  if (label && $("cls").value !== label.cls) parts.push("class");
  const trunc = $("truncation").value, occ = $("occlusion").value;
  if (trunc !== "" && Number(trunc) !== (label?.truncation ?? null)) parts.push("truncation");
  if (occ !== "" && Number(occ) !== (label?.occlusion ?? null)) parts.push("occlusion");
  if (editedAttributes()) parts.push("attributes");
  return parts;
}

// ---- drafts: unsaved edits survive a reload -------------------------------------------------------

function saveDraft() {
  const c = state.item;
  if (!c || state.restoring) return;
  const draft = {
    at: Date.now(), label: c.label?.id ?? null, box: state.box, cls: $("cls").value, issue: $("issue").value,
    truncation: $("truncation").value, occlusion: $("occlusion").value, comment: $("comment").value,
    attrs: Object.fromEntries([...$("extra-attrs").querySelectorAll("input")]
      .map((i) => [i.dataset.key, i.type === "checkbox" ? i.checked : i.value])),
  };
  draft.others = state.others;
  draft.added = state.added;
  const dirty = changes().length || frameEdits().length || draft.comment.trim() || draft.issue;
  try {
    if (dirty) localStorage.setItem(DRAFT + c.item.id, JSON.stringify(draft));
    else localStorage.removeItem(DRAFT + c.item.id);
  } catch { /* storage full or disabled: the page still works, without drafts */ }
}

function restoreDraft(c) {
  let draft = null;
  try { draft = JSON.parse(localStorage.getItem(DRAFT + c.item.id) ?? "null"); } catch { draft = null; }
  if (!draft || draft.label !== (c.label?.id ?? null)) return false;
  state.restoring = true;
  state.box = draft.box.map(Number);
  state.others = draft.others ?? {};
  state.added = draft.added ?? [];
  for (const k of ["cls", "issue", "truncation", "occlusion", "comment"]) $(k).value = draft[k];
  for (const input of $("extra-attrs").querySelectorAll("input")) {
    const v = draft.attrs?.[input.dataset.key];
    if (v === undefined) continue;
    if (input.type === "checkbox") input.checked = Boolean(v); else input.value = String(v);
  }
  state.restoring = false;
  return true;
}

function hasDraft(itemId) {
  try { return localStorage.getItem(DRAFT + itemId) !== null; } catch { return false; }
}

function dropDraft(itemId) {
  try { localStorage.removeItem(DRAFT + itemId); } catch { /* nothing kept */ }
}

function dropOldDrafts() {
  const limit = Date.now() - DRAFT_DAYS * 86_400_000;
  try {
    for (const key of Object.keys(localStorage).filter((k) => k.startsWith(DRAFT))) {
      if ((JSON.parse(localStorage.getItem(key) ?? "{}").at ?? 0) < limit) localStorage.removeItem(key);
    }
  } catch { /* nothing kept */ }
}

// ---- drawing --------------------------------------------------------------------------------------

function view() {
  const rect = canvas.getBoundingClientRect();
  const [w, h] = state.size;
  let region = state.region ?? [0, 0, w, h];
  if (!state.region && state.zoom && state.box) {
    const [x1, y1, x2, y2] = state.box;
    const pad = Math.max(x2 - x1, y2 - y1, 48);
    region = [x1 - pad, y1 - pad, x2 + pad, y2 + pad];
  }
  const scale = Math.min(rect.width / (region[2] - region[0]), rect.height / (region[3] - region[1]));
  const ox = (rect.width - (region[2] - region[0]) * scale) / 2 - region[0] * scale;
  const oy = (rect.height - (region[3] - region[1]) * scale) / 2 - region[1] * scale;
  return { rect, scale, ox, oy };
}

function draw() {
  const { rect, scale, ox, oy } = view();
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(rect.width * dpr) || canvas.height !== Math.round(rect.height * dpr)) {
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
  }
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.fillStyle = COLOURS.canvas;
  g.fillRect(0, 0, canvas.width, canvas.height);
  const c = state.item;
  if (!c) return;
  g.setTransform(scale * dpr, 0, 0, scale * dpr, ox * dpr, oy * dpr);
  const [w, h] = state.size;
  if (state.step) { drawNeighbour(scale, w, h); return; }
  if (state.imageReady) {
    g.filter = `brightness(${$("brightness").value}) contrast(${$("contrast").value})`;
    g.drawImage(state.image, 0, 0, w, h);
    g.filter = "none";
  }
  stroke([0, 0, w, h], COLOURS.other, 1, [2, 4], scale);
  for (const l of c.neighbours) drawOther(l, scale);
  state.added.forEach((a, n) => {
    stroke(a.box, COLOURS.fix, 2, [8, 5], scale, `${a.cls} (drawn)`);
    if (state.sel?.kind === "added" && state.sel.n === n) handles(a.box, scale);
  });
  for (const f of followers(c)) stroke(f.box, COLOURS.proposed, 1.5, [3, 3], scale);
  // Captions: labels above their box, the detection's and the proposal's below it, one under the other,
  // so that boxes which nearly coincide keep readable captions.
  if (state.match) stroke(boxArray(state.match.box), COLOURS.pred, 2, [2, 3], scale, `${state.match.cls} ${state.match.score.toFixed(2)}`, 1);
  if (state.proposed && c.label) stroke(state.proposed, COLOURS.proposed, 2, [8, 5], scale, "proposed", state.match ? 2 : 1);
  if (state.scene?.projected) cuboid(state.scene.projected, scale);
  const before = state.history?.find((h) => h.corrected_box);
  if (before) stroke(before.corrected_box, COLOURS.fix, 1.5, [2, 2], scale, "corrected before", state.match ? 2 : 1);
  const edited = changed(state.box, state.original);
  if (c.label) stroke(state.original, COLOURS.flag, edited ? 1.5 : 3, edited ? [6, 4] : [], scale, c.label.cls);
  if (edited || !c.label) {
    stroke(state.box, c.label ? COLOURS.fix : COLOURS.proposed, 2.5, c.label ? [] : [8, 5], scale, $("cls").value || "missing");
    if (!state.sel) handles(state.box, scale);
  }
  canvas.setAttribute("aria-label", canvasText(c));
}

// A box in image pixels; widths and dashes in screen pixels; a dark outline keeps it visible on images.
// ``row`` 0 puts the caption above the box, 1 and 2 in the first or second line below it.
function stroke(b, colour, width, dash, scale, caption, row = 0) {
  const px = 1 / scale;
  g.setLineDash(dash.map((d) => d * px));
  g.lineWidth = (width + 2) * px;
  g.strokeStyle = "rgba(0,0,0,0.7)";
  g.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  g.lineWidth = width * px;
  g.strokeStyle = colour;
  g.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  g.setLineDash([]);
  if (!caption) return;
  g.font = `${12 * px}px system-ui, sans-serif`;
  const tw = g.measureText(caption).width;
  const y = row === 0 ? b[1] - 16 * px : b[3] + (2 + 16 * (row - 1)) * px;
  g.fillStyle = COLOURS.canvas;
  g.fillRect(b[0], y, tw + 6 * px, 15 * px);
  g.fillStyle = colour;  // each box colour reaches text contrast on the canvas (palette.PAIRS)
  g.fillText(caption, b[0] + 3 * px, y + 12 * px);
}

// The flagged cuboid projected with the frame's calibration: its 12 edges, thin, in the flag's colour.
function cuboid(points, scale) {
  g.setLineDash([]);
  g.lineWidth = 1.2 / scale;
  g.strokeStyle = COLOURS.flag;
  g.beginPath();
  for (const [a, b] of state.scene.edges) { g.moveTo(...points[a]); g.lineTo(...points[b]); }
  g.stroke();
}

// A neighbouring frame of the track, stepped to with , and . : its labels only, read only.
function drawNeighbour(scale, w, h) {
  const n = state.track.neighbours.find((f) => f.offset === state.step);
  stroke([0, 0, w, h], COLOURS.other, 1, [2, 4], scale);
  for (const b of n.others) stroke(b, COLOURS.other, 1.5, [], scale);
  const sign = n.offset > 0 ? "+" : "";
  if (n.box) stroke(n.box, COLOURS.flag, 3, [], scale, `track ${state.track.track_id}, frame ${n.index} (${sign}${n.offset})`);
  canvas.setAttribute("aria-label", `Frame ${n.frame}, ${sign}${n.offset} from the flagged one, read only; ` +
    (n.box ? `the object at ${n.box.map(Math.round).join(",")}` : "the object is not labelled here") +
    `; ${n.others.length} other labels`);
}

function drawOther(l, scale) {
  const e = state.others[l.id];
  const selected = state.sel?.kind === "label" && state.sel.id === l.id;
  if (e?.action === "delete") {
    const b = boxArray(l.box);
    stroke(b, COLOURS.flag, 1.5, [3, 3], scale, `${l.cls}: delete`);
    g.beginPath(); g.moveTo(b[0], b[1]); g.lineTo(b[2], b[3]); g.moveTo(b[2], b[1]); g.lineTo(b[0], b[3]); g.stroke();
  } else if (e) {
    stroke(boxArray(l.box), COLOURS.other, 1, [4, 4], scale);
    stroke(e.box, COLOURS.fix, 2, [], scale, e.cls === l.cls ? `${l.cls} (fixed)` : `${l.cls} → ${e.cls}`);
  } else {
    stroke(boxArray(l.box), COLOURS.other, selected ? 2.5 : 1.5, [], scale, l.cls);
  }
  if (selected && e?.action !== "delete") handles(e ? e.box : boxArray(l.box), scale);
}

function handles(b, scale) {
  const s = 6 / scale;
  g.fillStyle = COLOURS.fix;
  for (const [x, y] of [[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]]) g.fillRect(x - s / 2, y - s / 2, s, s);
}

function canvasText(c) {
  const [x1, y1, x2, y2] = state.box.map((v) => Math.round(v));
  const subject = c.label ? `${c.label.cls} label` : "proposed missing object";
  const image = !c.image_url ? "no image, labels only" : state.imageFailed ? "the image failed to load, labels only" : "image";
  const more = followers(c).length;
  return `Frame ${c.item.frame}, ${Math.round(state.size[0])} by ${Math.round(state.size[1])} pixels (${image}); ` +
    `${subject} at ${x1},${y1} to ${x2},${y2}; ${c.neighbours.length} other labels` +
    (more ? `; ${more} more proposals of this object, queued after it` : "") +
    (state.region ? "; zoomed in" : state.zoom ? "; zoomed to the object" : "");
}

// ---- input ----------------------------------------------------------------------------------------

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const FIELDS = { i: "issue", k: "cls", a: "truncation", m: "comment" };
const DECISION_KEYS = new Set(["c", "r", "u", "s"]);

function onKey(e) {
  const help = $("help");
  if (help.open) { if (e.key === "?") { e.preventDefault(); help.close(); } return; }
  const field = e.target.closest?.("input, select, textarea");
  if (field) {
    if (e.key === "Escape" || (e.key === "Enter" && field.tagName !== "TEXTAREA")) { e.preventDefault(); field.blur(); canvas.focus(); }
    return;
  }
  if (e.metaKey || (e.target.tagName === "BUTTON" && (e.key === "Enter" || e.key === " "))) return;
  if (ARROWS[e.key] && state.item && !state.lost && !state.step) {
    e.preventDefault();
    const step = e.shiftKey ? 10 : 1;
    nudge(ARROWS[e.key][0] * step, ARROWS[e.key][1] * step, e.ctrlKey ? "far" : e.altKey ? "near" : null);
    return;
  }
  if (e.ctrlKey || e.altKey) return;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.repeat && DECISION_KEYS.has(key)) { e.preventDefault(); return; }  // a held key decides once at most
  const act = {
    c: () => decide("defect"), r: () => decide("not_defect"), u: () => decide("unsure"), s: skipItem,
    z: toggleZoom, p: takeProposed, x: undoEdits, n: () => { if (!state.item || state.lost) loadNext(); },
    "?": () => help.showModal(), ",": () => stepFrame(-1), ".": () => stepFrame(1),
    l: selectNext, b: drawMissing, Delete: deleteSelected, Backspace: deleteSelected,
    Escape: () => { if (state.sel) { state.sel = null; edits(); draw(); } },
  }[key];
  if (act) { e.preventDefault(); act(); return; }
  if (FIELDS[key] && state.item) { e.preventDefault(); $(FIELDS[key]).focus(); }
}

// ---- the frame's other labels: select (L, or a click), fix, delete (Del), draw a missing one (B) ----

function target() {
  const sel = state.sel;
  if (!sel) return state.box;
  if (sel.kind === "added") return state.added[sel.n].box;
  const l = state.item.neighbours.find((n) => n.id === sel.id);
  return state.others[sel.id]?.box ?? boxArray(l.box);
}

function putTarget(b) {
  const sel = state.sel;
  if (!sel) { state.box = b; return; }
  if (sel.kind === "added") { state.added[sel.n].box = b; return; }
  const l = state.item.neighbours.find((n) => n.id === sel.id);
  const old = state.others[sel.id];
  if (old?.action === "delete") return;
  state.others[sel.id] = { action: "fix", box: b, cls: old?.cls ?? l.cls };
  if (!changed(b, boxArray(l.box)) && state.others[sel.id].cls === l.cls) delete state.others[sel.id];
}

function selectNext() {
  if (!state.item || state.step || state.lost) return;
  const order = [...state.item.neighbours.map((l) => ({ kind: "label", id: l.id })), ...state.added.map((_, n) => ({ kind: "added", n }))];
  const at = order.findIndex((o) => o.kind === state.sel?.kind && (o.id ?? o.n) === (state.sel?.id ?? state.sel?.n));
  state.sel = at + 1 < order.length ? order[at + 1] : null;
  edits();
  draw();
  announce(state.sel ? `Selected ${selectedName()}; arrows edit it, Del deletes it, Esc goes back to the flagged label.` : "Back to the flagged label.");
}

function selectedName() {
  const sel = state.sel;
  if (!sel) return "the flagged label";
  if (sel.kind === "added") return `the drawn ${state.added[sel.n].cls}`;
  const l = state.item.neighbours.find((n) => n.id === sel.id);
  return `${l.cls} ${l.id}`;
}

function deleteSelected() {
  const sel = state.sel;
  if (!sel) { announce("Select another label first (L); the flagged label is rejected or confirmed with R or C."); return; }
  if (sel.kind === "added") { state.added.splice(sel.n, 1); state.sel = null; }
  else if (state.others[sel.id]?.action === "delete") delete state.others[sel.id];
  else state.others[sel.id] = { action: "delete" };
  edits();
  draw();
}

function drawMissing() {
  if (!state.item || state.step || state.lost) return;
  const [w, h] = state.size;
  const r = state.region ?? [0, 0, w, h];
  const cx = (r[0] + r[2]) / 2, cy = (r[1] + r[3]) / 2, half = Math.min(r[2] - r[0], r[3] - r[1]) / 8;
  const cls = $("other-cls").value || state.item.label?.cls || $("cls").options[1]?.value || "";
  state.added.push({ box: [cx - half, cy - half, cx + half, cy + half].map((v) => Math.round(v)), cls });
  state.sel = { kind: "added", n: state.added.length - 1 };
  edits();
  draw();
  announce(`A ${cls} box was drawn in the middle of the view: move and resize it with the arrows, or drag it.`);
}

// What the decision sends about the other labels (api/ui/frame_edits.py).
function frameEdits() {
  if (!state.item) return [];
  const out = [];
  for (const [id, e] of Object.entries(state.others)) {
    out.push(e.action === "delete" ? { action: "delete", label: id } : { action: "fix", label: id, box: boxObject(e.box), cls: e.cls });
  }
  for (const a of state.added) out.push({ action: "add", box: boxObject(a.box), cls: a.cls });
  return out;
}

function otherPanel() {
  const sel = state.sel;
  $("other-name").textContent = sel ? selectedName() : "none (L selects one)";
  const cls = $("other-cls");
  if (!cls.options.length || cls.dataset.for !== String(state.item?.item.id)) {
    fillSelect(cls, [...$("cls").options].map((o) => o.value).filter(Boolean), state.item?.label?.cls ?? "", false);
    cls.dataset.for = String(state.item?.item.id ?? "");
  }
  if (sel?.kind === "label") cls.value = state.others[sel.id]?.cls ?? state.item.neighbours.find((n) => n.id === sel.id).cls;
  else if (sel?.kind === "added") cls.value = state.added[sel.n].cls;
}

function onOtherClass() {
  const sel = state.sel, v = $("other-cls").value;
  if (sel?.kind === "added") state.added[sel.n].cls = v;
  else if (sel?.kind === "label" && state.others[sel.id]?.action !== "delete") {
    const l = state.item.neighbours.find((n) => n.id === sel.id);
    const box = state.others[sel.id]?.box ?? boxArray(l.box);
    state.others[sel.id] = { action: "fix", box, cls: v };
    if (v === l.cls && !changed(box, boxArray(l.box))) delete state.others[sel.id];
  }
  edits();
  draw();
}

// Step through the track's neighbouring frames (offsets within the strip); 0 is the flagged frame.
function stepFrame(delta) {
  if (!state.track || state.lost) return;
  const offsets = state.track.neighbours.map((n) => n.offset);
  const next = state.step + delta;
  if (!offsets.includes(next)) { announce("No more frames of the track that way."); return; }
  state.step = next;
  state.region = null;
  for (const el of $("strip").children) el.classList.toggle("viewing", Number(el.dataset.offset) === next);
  $("item-title").textContent = next ? `frame ${state.track.neighbours.find((n) => n.offset === next).frame} · ${next > 0 ? "+" : ""}${next} (read only)` : titleOf(state.item);
  draw();
}

function toggleZoom() {
  state.zoom = state.region ? false : !state.zoom;
  state.region = null;
  $("zoom").setAttribute("aria-pressed", String(state.zoom));
  draw();
}

function takeProposed() {
  const target = state.proposed ?? (state.match ? boxArray(state.match.box) : null);
  if (!target) { announce("No proposed or detector box for this item."); return; }
  setBox(target);
  announce("Took the proposed box.");
}

function undoEdits() {
  if (!state.item) return;
  describe(state.item, [...$("cls").options].map((o) => o.value).filter(Boolean));
  state.box = [...state.original];
  state.others = {};
  state.added = [];
  state.sel = null;
  dropDraft(state.item.item.id);
  edits();
  draw();
  announce("Edits undone.");
}

function toImage(event) {
  const { rect, scale, ox, oy } = view();
  return [(event.clientX - rect.left - ox) / scale, (event.clientY - rect.top - oy) / scale, scale];
}

function onPointerDown(e) {
  if (!state.item) return;
  const [x, y, scale] = toImage(e);
  if (!state.step) pick(x, y);
  const [x1, y1, x2, y2] = target();
  const near = 8 / scale;
  const corner = [[x1, y1, "tl"], [x2, y1, "tr"], [x1, y2, "bl"], [x2, y2, "br"]].find(([cx, cy]) => Math.abs(x - cx) < near && Math.abs(y - cy) < near);
  const inside = x > x1 && x < x2 && y > y1 && y < y2;
  if (!corner && !inside && !state.region) return;
  const mode = corner ? corner[2] : inside ? "move" : "pan";
  state.drag = { mode, x, y, start: [...target()], client: [e.clientX, e.clientY], region: state.region, scale };
  canvas.setPointerCapture(e.pointerId);
}

// A click inside another label's box (and not the selected one's) selects it; inside the flagged box,
// the flagged label.
function pick(x, y) {
  const inside = (b) => x > b[0] && x < b[2] && y > b[1] && y < b[3];
  if (inside(target())) return;
  if (inside(state.box)) { state.sel = null; edits(); draw(); return; }
  const hit = state.item.neighbours.find((l) => inside(state.others[l.id]?.box ?? boxArray(l.box)));
  const drawn = state.added.findIndex((a) => inside(a.box));
  if (drawn >= 0) state.sel = { kind: "added", n: drawn };
  else if (hit) state.sel = { kind: "label", id: hit.id };
  else return;
  edits();
  draw();
}

// The image region on the canvas now, in image pixels (the whole canvas, beyond the frame's edges too).
function visibleRegion() {
  const { rect, scale, ox, oy } = view();
  return [-ox / scale, -oy / scale, (rect.width - ox) / scale, (rect.height - oy) / scale];
}

// Wheel: zoom about the pointer (the image point under it stays put); out past the whole frame resets.
function onWheel(e) {
  if (!state.item) return;
  e.preventDefault();
  const [x, y] = toImage(e);
  const r = visibleRegion();
  const f = e.deltaY < 0 ? 0.8 : 1.25;
  const next = [x - (x - r[0]) * f, y - (y - r[1]) * f, x + (r[2] - x) * f, y + (r[3] - y) * f];
  const [w, h] = state.size;
  state.region = next[2] - next[0] >= w && next[3] - next[1] >= h ? null : next;
  state.zoom = false;
  $("zoom").setAttribute("aria-pressed", "false");
  draw();
}

function onPointerMove(e) {
  const d = state.drag;
  if (!d) return;
  if (d.mode === "pan") {
    const dx = (e.clientX - d.client[0]) / d.scale, dy = (e.clientY - d.client[1]) / d.scale;
    state.region = [d.region[0] - dx, d.region[1] - dy, d.region[2] - dx, d.region[3] - dy];
    draw();
    return;
  }
  const [x, y] = toImage(e);
  const dx = x - d.x, dy = y - d.y;
  const [x1, y1, x2, y2] = d.start;
  const moved = {
    move: [x1 + dx, y1 + dy, x2 + dx, y2 + dy], tl: [x1 + dx, y1 + dy, x2, y2], tr: [x1, y1 + dy, x2 + dx, y2],
    bl: [x1 + dx, y1, x2, y2 + dy], br: [x1, y1, x2 + dx, y2 + dy],
  }[d.mode];
  const [a, b, c2, d2] = moved;
  setBox([Math.min(a, c2), Math.min(b, d2), Math.max(a, c2), Math.max(b, d2)]);
}

function onBoxField() {
  const values = ["x1", "y1", "x2", "y2"].map((k) => Number($(k).value));
  if (values.every(Number.isFinite)) setBox(values);
}

document.addEventListener("keydown", onKey);
canvas.addEventListener("pointerdown", onPointerDown);
canvas.addEventListener("wheel", onWheel, { passive: false });
document.addEventListener("visibilitychange", onVisibility);
for (const k of ["brightness", "contrast"]) $(k).addEventListener("input", draw);
for (const k of ["comment", "issue"]) $(k).addEventListener("input", saveDraft);
$("lost-next").addEventListener("click", loadNext);
$("other-cls").addEventListener("change", onOtherClass);
canvas.addEventListener("pointermove", onPointerMove);
canvas.addEventListener("pointerup", () => { state.drag = null; });
for (const k of ["x1", "y1", "x2", "y2"]) $(k).addEventListener("change", onBoxField);
for (const k of ["cls", "truncation", "occlusion"]) $(k).addEventListener("change", () => { edits(); draw(); });
for (const b of document.querySelectorAll("[data-verdict]")) b.addEventListener("click", () => decide(b.dataset.verdict));
document.querySelector("[data-action=skip]").addEventListener("click", skipItem);
$("zoom").addEventListener("click", toggleZoom);
$("check-again").addEventListener("click", loadNext);
$("help-open").addEventListener("click", () => $("help").showModal());
$("help-close").addEventListener("click", () => $("help").close());
window.addEventListener("resize", draw);
// Leaving the page gives the item back, unless it holds unsaved edits: then the claim is kept (a reload
// finds the item still held, with its edits; a closed tab lets the lease lapse), since a release racing
// the reloaded page's claim would hand the item, edits and all, to someone else.
window.addEventListener("pagehide", () => {
  if (!state.item || state.lost || readonly || hasDraft(state.item.item.id)) return;
  fetch(`/ui/api/items/${state.item.item.id}/release`, {
    method: "POST", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: "{}",
  }).catch(() => {});
});
dropOldDrafts();
if (readonly) showOne(readonly); else loadNext();

async function showOne(id) {
  const res = await fetch(`/ui/api/items/${id}/view`, { credentials: "same-origin" });
  if (!res.ok) { showError(`Item ${id} cannot be shown (${res.status}).`); return; }
  show(await res.json());
  root.dataset.state = "readonly";
  announce("Read only: this is a link to an item; decisions are made from the queue.");
  for (const b of document.querySelectorAll("[data-verdict], [data-action=skip]")) b.disabled = true;
}
