// The auditor's review page: claims the next item, draws the frame with its boxes, takes one-key
// decisions and keyboard (or mouse) corrections. Boxes are [x1, y1, x2, y2] in image pixels.
// window.gtqaReview.timings holds each decision's round trip (ms): from the key press to the next item
// drawn (the DOM and the canvas updated, and the browser's next frame painted).

const $ = (id) => document.getElementById(id);
const root = $("review");
const canvas = $("frame");
const g = canvas.getContext("2d");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const leaseSeconds = Number(root.dataset.leaseSeconds) || 900;
const css = getComputedStyle(document.documentElement);
const colour = (name) => css.getPropertyValue(`--${name}`).trim();
const COLOURS = {
  canvas: colour("canvas"), text: colour("canvas-text"), flag: colour("box-flag"), fix: colour("box-fix"),
  other: colour("box-other"), proposed: colour("box-proposed"), pred: colour("box-pred"),
};

const state = {
  item: null, shownAt: 0, busy: false, zoom: false, original: null, box: null, proposed: null, match: null,
  size: [1, 1], image: null, imageReady: false, drag: null, extendTimer: 0, timings: [],
};
window.gtqaReview = state;

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

async function send(url, body, note) {
  if (state.busy) return;
  state.busy = true;
  root.setAttribute("aria-busy", "true");
  const started = performance.now();
  try {
    show(await post(url, body));
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
  showError(err.status === 409 ? `${err.message}. Loading the next item.` : err.message);
  if (err.status === 409) { state.busy = false; send("/ui/api/next", {}, ""); }
}

const loadNext = () => send("/ui/api/next", {}, "");

// ---- decisions ------------------------------------------------------------------------------------

function decide(verdict) {
  if (!state.item || state.busy) return;
  const body = { verdict, seconds: Math.round(performance.now() - state.shownAt) / 1000 };
  const comment = $("comment").value.trim();
  if (comment) body.comment = comment;
  if (verdict === "defect") {
    const issue = $("issue").value || state.item.finding?.type || inferredIssue();
    if (!issue) { showError("Choose the issue type first (I)."); $("issue").focus(); return; }
    const fix = correction();
    if (fix === undefined) return;
    body.issue_type = issue;
    if (fix) body.corrected = fix;
  }
  const note = { defect: "Defect confirmed", not_defect: "Flag rejected", unsure: "Marked unsure" }[verdict];
  send(`/ui/api/items/${state.item.item.id}/decision`, body, note + (body.corrected ? " with a correction" : ""));
}

function skipItem() {
  if (state.item && !state.busy) send(`/ui/api/items/${state.item.item.id}/skip`, {}, "Skipped");
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
  pace(payload.pace);
  const c = payload.context;
  state.item = c;
  $("error").hidden = true;
  $("empty").hidden = Boolean(c);
  root.dataset.state = c ? "ready" : "empty";
  root.dataset.itemId = c ? String(c.item.id) : "";
  if (!c) { emptyQueue(); return; }
  state.original = c.label ? boxArray(c.label.box) : [...c.finding.box];
  state.box = [...state.original];
  state.proposed = !c.label ? [...c.finding.box] : c.finding?.proposed_box ? [...c.finding.proposed_box] : null;
  state.match = bestMatch(c.predictions, state.original);
  state.size = frameSize(c);
  loadImage(c.image_url);
  describe(c, payload.classes);
  draw();
  state.shownAt = performance.now();
  state.extendTimer = setInterval(extendClaim, (leaseSeconds * 1000) / 3);
}

function describe(c, classes) {
  const f = c.finding;
  const what = f ? f.type.replaceAll("_", " ") : "spot check";
  $("item-title").textContent = `${what} · frame ${c.item.frame}`;
  $("item-meta").textContent = `${c.dataset} · ${c.label ? `label ${c.label.id}` : "missing object"}` +
    (f ? ` · score ${f.score.toFixed(2)}` : " · a random unflagged label");
  $("message").textContent = f ? f.message : "A random label the reviewer did not flag: is it right?";
  fillSelect($("cls"), classes, c.label?.cls ?? f?.cls ?? "", !c.label);
  $("issue").value = "";
  $("issue").options[0].textContent = f ? `— the flag's own (${f.type.replaceAll("_", " ")}) —` : "— choose —";
  $("truncation").value = c.label?.truncation ?? "";
  $("occlusion").value = c.label?.occlusion ?? "";
  $("comment").value = "";
  extraAttributes(c.label?.attributes ?? {});
  evidence(f);
  judge(f?.judge);
  rules(c.rules);
  edits();
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

function evidence(f) {
  const body = $("checks").tBodies[0];
  body.replaceChildren();
  const checks = f ? (f.evidence.length ? f.evidence : [f.check]) : [];
  for (const check of checks) {
    const score = f.features[`raw.${check}`] ?? (check === f.check ? f.raw : null);
    const row = body.insertRow();
    row.insertCell().textContent = check;
    row.insertCell().textContent = score == null ? "—" : score.toFixed(2);
  }
  $("checks").hidden = !checks.length;
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

function emptyQueue() {
  $("item-title").textContent = "Nothing to review";
  $("item-meta").textContent = "";
  draw();
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
  state.image = null;
  if (!url) return;
  const img = new Image();
  img.onload = () => { if (state.image === img) { state.imageReady = true; draw(); } };
  img.src = url;
  state.image = img;
}

async function extendClaim() {
  if (!state.item || state.busy) return;
  try { await post(`/ui/api/items/${state.item.item.id}/extend`, {}); } catch (err) { failed(err); }
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

function bestMatch(predictions, box) {
  let best = null, bestIou = 0.1;  // below this overlap a detection is about another object
  for (const p of predictions) {
    const overlap = iou(boxArray(p.box), box);
    if (overlap > bestIou) { best = p; bestIou = overlap; }
  }
  return best;
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

function setBox(box) {
  const [w, h] = state.size;
  let [x1, y1, x2, y2] = box.map((v) => Math.round(v * 10) / 10);
  x2 = Math.max(x2, x1 + 1);
  y2 = Math.max(y2, y1 + 1);
  const dx = Math.min(0, w - x2) - Math.min(0, x1), dy = Math.min(0, h - y2) - Math.min(0, y1);
  state.box = [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
  edits();
  draw();
}

function nudge(dx, dy, resize) {
  const [x1, y1, x2, y2] = state.box;
  setBox(resize ? [x1, y1, x2 + dx, y2 + dy] : [x1 + dx, y1 + dy, x2 + dx, y2 + dy]);
}

function edits() {
  if (!state.item) return;
  ["x1", "y1", "x2", "y2"].forEach((k, i) => { $(k).value = state.box[i]; });
  const parts = [];
  if (changed(state.box, state.original)) parts.push("box");
  if (state.item.label && $("cls").value !== state.item.label.cls) parts.push("class");
  if (editedAttributes()) parts.push("attributes");
  $("edits").textContent = parts.length ? `(changed: ${parts.join(", ")})` : "(no changes)";
}

// ---- drawing --------------------------------------------------------------------------------------

function view() {
  const rect = canvas.getBoundingClientRect();
  const [w, h] = state.size;
  let region = [0, 0, w, h];
  if (state.zoom && state.box) {
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
  if (state.imageReady) g.drawImage(state.image, 0, 0, w, h);
  stroke([0, 0, w, h], COLOURS.other, 1, [2, 4], scale);
  for (const l of c.neighbours) stroke(boxArray(l.box), COLOURS.other, 1.5, [], scale, l.cls);
  for (const f of followers(c)) stroke(f.box, COLOURS.proposed, 1.5, [3, 3], scale);
  // Captions: labels above their box, the detection's and the proposal's below it, one under the other,
  // so that boxes which nearly coincide keep readable captions.
  if (state.match) stroke(boxArray(state.match.box), COLOURS.pred, 2, [2, 3], scale, `${state.match.cls} ${state.match.score.toFixed(2)}`, 1);
  if (state.proposed && c.label) stroke(state.proposed, COLOURS.proposed, 2, [8, 5], scale, "proposed", state.match ? 2 : 1);
  const edited = changed(state.box, state.original);
  if (c.label) stroke(state.original, COLOURS.flag, edited ? 1.5 : 3, edited ? [6, 4] : [], scale, c.label.cls);
  if (edited || !c.label) {
    stroke(state.box, c.label ? COLOURS.fix : COLOURS.proposed, 2.5, c.label ? [] : [8, 5], scale, $("cls").value || "missing");
    handles(state.box, scale);
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

function handles(b, scale) {
  const s = 6 / scale;
  g.fillStyle = COLOURS.fix;
  for (const [x, y] of [[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]]) g.fillRect(x - s / 2, y - s / 2, s, s);
}

function canvasText(c) {
  const [x1, y1, x2, y2] = state.box.map((v) => Math.round(v));
  const subject = c.label ? `${c.label.cls} label` : "proposed missing object";
  const image = c.image_url ? "image" : "no image, labels only";
  const more = followers(c).length;
  return `Frame ${c.item.frame}, ${Math.round(state.size[0])} by ${Math.round(state.size[1])} pixels (${image}); ` +
    `${subject} at ${x1},${y1} to ${x2},${y2}; ${c.neighbours.length} other labels` +
    (more ? `; ${more} more proposals of this object, queued after it` : "") +
    (state.zoom ? "; zoomed to the object" : "");
}

// ---- input ----------------------------------------------------------------------------------------

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const FIELDS = { i: "issue", k: "cls", a: "truncation", m: "comment" };

function onKey(e) {
  const help = $("help");
  if (help.open) { if (e.key === "?") { e.preventDefault(); help.close(); } return; }
  const field = e.target.closest?.("input, select, textarea");
  if (field) {
    if (e.key === "Escape" || (e.key === "Enter" && field.tagName !== "TEXTAREA")) { e.preventDefault(); field.blur(); canvas.focus(); }
    return;
  }
  if (e.metaKey || (e.target.tagName === "BUTTON" && (e.key === "Enter" || e.key === " "))) return;
  if (ARROWS[e.key] && state.item) {
    e.preventDefault();
    const step = e.shiftKey ? 10 : 1;
    nudge(ARROWS[e.key][0] * step, ARROWS[e.key][1] * step, e.ctrlKey || e.altKey);
    return;
  }
  if (e.ctrlKey || e.altKey) return;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const act = {
    c: () => decide("defect"), r: () => decide("not_defect"), u: () => decide("unsure"), s: skipItem,
    z: toggleZoom, p: takeProposed, x: undoEdits, n: () => { if (!state.item) loadNext(); },
    "?": () => help.showModal(),
  }[key];
  if (act) { e.preventDefault(); act(); return; }
  if (FIELDS[key] && state.item) { e.preventDefault(); $(FIELDS[key]).focus(); }
}

function toggleZoom() {
  state.zoom = !state.zoom;
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
  const [x1, y1, x2, y2] = state.box;
  const near = 8 / scale;
  const corner = [[x1, y1, "tl"], [x2, y1, "tr"], [x1, y2, "bl"], [x2, y2, "br"]].find(([cx, cy]) => Math.abs(x - cx) < near && Math.abs(y - cy) < near);
  const inside = x > x1 && x < x2 && y > y1 && y < y2;
  if (!corner && !inside) return;
  state.drag = { mode: corner ? corner[2] : "move", x, y, start: [...state.box] };
  canvas.setPointerCapture(e.pointerId);
}

function onPointerMove(e) {
  const d = state.drag;
  if (!d) return;
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
window.addEventListener("pagehide", () => {
  if (!state.item) return;
  fetch(`/ui/api/items/${state.item.item.id}/release`, {
    method: "POST", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: "{}",
  }).catch(() => {});
});
loadNext();
