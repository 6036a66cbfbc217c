// exporterhub UI: the one script, an ES module without framework or build step.
//
// Pages are rendered by the server; this module makes them live. It reads
// <body data-page> and runs that page's part: the target list (polls
// /api/targets), a target's page (status, values, charts of /ui/api/history), or
// the add/edit form (built from the kind's JSON Schema). Every change goes through
// the REST API with fetch and a JSON body. Data is put into the page with
// textContent and DOM calls only, never innerHTML: names may hold any character.

const body = document.body;
const POLL = Number(body.dataset.poll) || 3000;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
let skew = 0; // server clock minus ours, in ms (from the Date header)

// ---------------------------------------------------------------- helpers

/** Make an element: el("a", {href: "/", class: "x"}, "text", child). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

const seg = (s) => encodeURIComponent(s);
const pagePath = (t) => `/ui/targets/${seg(t.kind)}/${seg(t.name)}`;
const apiPath = (t) => `/api/targets/${seg(t.kind)}/${seg(t.name)}`;
const nowSeconds = () => (Date.now() + skew) / 1000;

/** Call the API; resolve to {ok, status, data}; network errors become status 0. */
async function api(method, url, payload) {
  const init = { method, headers: { Accept: "application/json" } };
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `The exporter did not answer (${err.message}).` } };
  }
  const date = Date.parse(res.headers.get("Date") || "");
  if (!Number.isNaN(date) && Math.abs(date - Date.now()) > 2000) skew = date - Date.now();
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = { detail: `HTTP ${res.status}` }; }
  }
  return { ok: res.ok, status: res.status, data };
}

/** Show a short message at the bottom right for a few seconds. */
let toastTimer;
function toast(message, bad = false) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.toggle("bad", bad);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, bad ? 8000 : 4000);
}

/** Ask in the page's <dialog>; resolves true when the user confirms. */
function confirmDialog(title, text, okText) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-body").replaceChildren(el("p", { text }));
  $("#confirm-ok").textContent = okText;
  $("#confirm-ok").className = "button primary danger";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((done) => {
    dialog.addEventListener("close", () => done(dialog.returnValue === "ok"), { once: true });
  });
}

/** "12 s ago" from Unix seconds. */
function ago(when) {
  if (when == null || when === "") return "never";
  const s = Math.max(0, nowSeconds() - Number(when));
  if (s < 1) return "just now";
  for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"]]) {
    if (s >= size) return `${Math.floor(s / size)} ${unit} ago`;
  }
  return `${Math.floor(s)} s ago`;
}

/** A number for people, in a metric's unit (3 significant digits). */
function fmt(v, unit = "") {
  if (v == null) return "–";
  if (unit === "timestamp") return new Date(v * 1000).toLocaleTimeString();
  if (unit === "ratio") return `${+(v * 100).toPrecision(3)} %`;
  const si = { bytes: "B", "bits/s": "bit/s" }[unit];
  if (si) {
    for (const [size, p] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
      if (Math.abs(v) >= size) return `${+(v / size).toPrecision(3)} ${p}${si}`;
    }
    return `${+v.toPrecision(3)} ${si}`;
  }
  const text = Math.abs(v) >= 1e6 ? v.toExponential(2) : String(+v.toPrecision(4));
  return unit ? `${text} ${unit}` : text;
}

/** Keep a message for the next page (after a redirect), and show it there. */
const flash = (msg) => sessionStorage.setItem("flash", msg);
function showFlash() {
  const msg = sessionStorage.getItem("flash");
  if (msg) { sessionStorage.removeItem("flash"); toast(msg); }
}

/** Call fn now and every POLL ms while the page is visible. */
function every(fn) {
  let busy = false;
  const tick = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try { await fn(); } finally { busy = false; }
  };
  tick();
  setInterval(tick, POLL);
  document.addEventListener("visibilitychange", tick);
  return tick;
}

// ------------------------------------------------------ target state in words

const stateOf = (t) => t.shadowed ? "shadowed" : t.invalid ? "invalid"
  : !t.enabled ? "disabled" : t.up ? "up" : "down";
const SOURCE = {
  file: ["file", "Defined in the configuration file: edit the file, then Reload config."],
  store: ["stored", "Added here: edit, disable or delete it."],
  discovery: ["discovered", "Found by discovery: it comes and goes with the device."],
};

/** Fill the data-f fields of a row (or the target page's head) from an answer. */
function fill(root, t) {
  const state = stateOf(t);
  const f = (name) => $(`[data-f="${name}"]`, root);
  const set = (name, text) => { const n = f(name); if (n) n.textContent = text; };
  Object.assign(root.dataset, { kind: t.kind, name: t.name, state, source: t.source });
  root.dataset.enabled = t.enabled ? "yes" : "no";
  root.dataset.revision = t.revision ?? "";
  set("name", t.name);
  if (f("href")) f("href").href = pagePath(t);
  if (f("edit")) f("edit").href = `/ui/edit/${seg(t.kind)}/${seg(t.name)}`;
  const src = f("source");
  if (src) {
    src.textContent = SOURCE[t.source][0];
    src.title = SOURCE[t.source][1];
    src.className = `badge src-${t.source}`;
  }
  const notes = f("notices");
  if (notes) {
    notes.replaceChildren(...(t.notices || []).map((n) =>
      el("span", { class: "badge notice", title: n.detail, text: n.badge })));
  }
  const pending = state === "down" && t.link === "connecting";
  const pill = f("pill");
  pill.className = `pill ${pending ? "pending" : state}`;
  pill.textContent = pending ? "Connecting" : state[0].toUpperCase() + state.slice(1);
  set("link", ["disabled", "shadowed", "invalid"].includes(state) ? "not running" : t.link || "not running");
  f("ago").dataset.t = t.last_success ?? "";
  set("ago", ago(t.last_success));
  set("error_kind", t.last_error_kind || "");
  set("error", t.last_error || (root.id === "target" ? "none" : ""));
  set("reconnects", String(t.reconnects));
  set("enabled", t.enabled ? "yes" : "no");
  set("revision", t.revision ?? "");
  set("labels", Object.entries(t.labels).map(([k, v]) => `${k}="${v}"`).join(", ") || (t.link ? "(none)" : "(none while not running)"));
  const acts = f("acts");
  acts.hidden = !(t.source === "store" && body.dataset.writable === "yes");
  $('[data-act="toggle"]', acts).textContent = t.enabled ? "Disable" : "Enable";
}

/** Refresh every "… ago" once a second without asking the server. */
function tickAges() {
  setInterval(() => { for (const n of $$('[data-f="ago"]')) n.textContent = ago(n.dataset.t); }, 1000);
}

// ------------------------------------------------ enable, disable and delete

/** The target a button belongs to: its row, or the target page's head. */
function owner(button) {
  const root = button.closest("tr.target, #target");
  return { root, kind: root.dataset.kind, name: root.dataset.name };
}

async function toggle(button, refresh) {
  const { root, kind, name } = owner(button);
  const enable = root.dataset.enabled !== "yes";
  button.disabled = true;
  const res = await api("PATCH", apiPath({ kind, name }), { enabled: enable });
  button.disabled = false;
  if (!res.ok) return toast(`Could not ${enable ? "enable" : "disable"} ${name}: ${res.data.detail}`, true);
  toast(`${enable ? "Enabled" : "Disabled"} ${name}.`);
  fill(root, res.data);
  await refresh();
}

async function remove(button, after) {
  const { kind, name } = owner(button);
  const sure = await confirmDialog(
    `Delete ${name}?`,
    `It stops being watched and its series leave /metrics at the next scrape. ` +
      `This cannot be undone: export first to keep a copy.`,
    "Delete",
  );
  if (!sure) return;
  const res = await api("DELETE", apiPath({ kind, name }));
  if (!res.ok) return toast(`Could not delete ${name}: ${res.data.detail}`, true);
  await after(name);
}

// ------------------------------------------------------------ the list page

function listPage() {
  const template = $("#row-template");
  const filters = { q: $("#q"), kind: $("#f-kind"), state: $("#f-state") };
  const params = new URLSearchParams(location.search);
  for (const [k, input] of Object.entries(filters)) input.value = params.get(k) || "";
  const key = (kind, name) => `${kind}\u0000${name}`;
  let failing = false;

  // Hide what the filters exclude; count what is left; keep them in the URL.
  function applyFilters() {
    const q = filters.q.value.trim().toLowerCase();
    const kind = filters.kind.value;
    const state = filters.state.value;
    let total = 0, shown = 0;
    const counts = {};
    for (const section of $$("section.kind")) {
      const rows = $$("tr.target", section);
      let visible = 0;
      for (const tr of rows) {
        counts[tr.dataset.state] = (counts[tr.dataset.state] || 0) + 1;
        const match = (!kind || tr.dataset.kind === kind) && (!state || tr.dataset.state === state)
          && (!q || tr.dataset.name.toLowerCase().includes(q));
        tr.hidden = !match;
        visible += match;
      }
      total += rows.length;
      shown += visible;
      section.toggleAttribute("data-empty", rows.length === 0);
      $('[data-f="count"]', section).textContent = String(rows.length);
      section.hidden = (kind && section.dataset.kind !== kind) || ((q || state) && !visible);
    }
    $("#empty").hidden = total > 0;
    $("#filters").hidden = total === 0; // the empty state says it all
    if (total === 0) for (const section of $$("section.kind")) section.hidden = true;
    $("#nomatch").hidden = total === 0 || shown > 0;
    const parts = ["up", "down", "disabled", "invalid", "shadowed"]
      .filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
    $("#summary").textContent = `${total} target${total === 1 ? "" : "s"}` +
      (parts.length ? ` · ${parts.join(" · ")}` : "") +
      (failing ? " · connection lost, retrying…" : "");
    const url = new URLSearchParams();
    for (const [k, input] of Object.entries(filters)) if (input.value) url.set(k, input.value);
    history.replaceState(null, "", url.size ? `?${url}` : location.pathname);
  }

  // Put the answer of /api/targets into the tables: update, add, remove rows.
  function render(targets) {
    const rows = new Map($$("tr.target").map((tr) => [key(tr.dataset.kind, tr.dataset.name), tr]));
    const wanted = new Map();
    for (const t of targets) {
      const tbody = $(`section.kind[data-kind="${CSS.escape(t.kind)}"] tbody`);
      if (!tbody) continue;
      const k = key(t.kind, t.name);
      const tr = rows.get(k) || template.content.firstElementChild.cloneNode(true);
      fill(tr, t);
      wanted.set(k, tr);
      if (!tr.isConnected) tbody.append(tr);
    }
    for (const [k, tr] of rows) if (!wanted.has(k)) tr.remove();
    applyFilters();
  }

  async function refresh() {
    const res = await api("GET", "/api/targets");
    const wasFailing = failing;
    failing = !res.ok;
    if (res.ok) render(res.data);
    else applyFilters();
    if (failing && !wasFailing) toast(`Live update failed: ${res.data.detail}`, true);
  }

  for (const input of Object.values(filters)) input.addEventListener("input", applyFilters);
  $("#filters").addEventListener("submit", (e) => e.preventDefault());
  $("#clear-filters").addEventListener("click", () => {
    for (const input of Object.values(filters)) input.value = "";
    applyFilters();
  });
  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-act]");
    if (!button) return;
    const act = button.dataset.act;
    if (act === "toggle") toggle(button, refresh);
    else if (act === "delete") remove(button, async (name) => { toast(`Deleted ${name}.`); await refresh(); });
    else if (act === "import") $("#import-file").click();
  });
  $("#reload-config").addEventListener("click", async () => {
    const res = await api("POST", "/-/reload");
    if (!res.ok) return toast(`Reload failed: ${res.data.detail}`, true);
    const d = res.data;
    toast(`Configuration reloaded: ${d.started.length} started, ${d.stopped.length} stopped, ` +
      `${d.restarted.length} restarted, ${d.unchanged.length} unchanged.`);
    await refresh();
  });
  if ($("#import")) setupImport(refresh);
  applyFilters();
  tickAges();
  every(refresh);
}

// ----------------------------------------------------------- import a file

function setupImport(refresh) {
  const input = $("#import-file");
  const dialog = $("#import-dialog");
  const report = $("#import-report");
  const ok = $("#import-ok");
  const cancel = $("#import-cancel");
  const importUrl = body.dataset.importUrl || "/api/import";
  let doc = null;

  const list = (title, items) => items.length
    ? [el("p", { text: title }), el("ul", { class: "report" }, ...items.map((i) => el("li", { text: i })))]
    : [];
  const problems = (errors) => errors.map((e) => `#${e.index + 1} ${e.kind ?? "?"}/${e.name ?? "?"}: ` +
    e.fields.map((f) => `${f.field}: ${f.message}`).join("; "));

  function show(parts, okText) {
    report.replaceChildren(...parts);
    ok.hidden = !okText;
    ok.textContent = okText || "";
    cancel.textContent = okText ? "Cancel" : "Close";
    if (!dialog.open) dialog.showModal();
  }

  $("#import").addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = ""; // the same file may be picked again
    if (!file) return;
    try {
      doc = JSON.parse(await file.text());
    } catch (err) {
      return show([el("p", { text: `${file.name} is not a JSON export file: ${err.message}` })]);
    }
    const res = await api("POST", `${importUrl}${importUrl.includes("?") ? "&" : "?"}dry_run=true`, doc);
    if (!res.ok) {
      const fields = (res.data.fields || []).map((f) => `${f.field}: ${f.message}`);
      return show([el("p", { text: `${file.name} cannot be imported: ${res.data.detail}` }),
        ...list("Problems:", fields)]);
    }
    const d = res.data;
    const n = d.imported.length;
    show([
      el("p", { text: `Checked ${file.name}. Nothing is imported until you confirm.` }),
      ...list(`Would add ${n} target${n === 1 ? "" : "s"}:`, d.imported),
      ...list(`Already here, skipped (${d.skipped.length}):`, d.skipped),
      ...list(`Invalid, not imported (${d.errors.length}):`, problems(d.errors)),
      el("p", { class: "muted", text: "Exports leave secrets out: set passwords again after importing." }),
    ], n ? `Import ${n} target${n === 1 ? "" : "s"}` : "");
  });
  ok.addEventListener("click", async (e) => {
    e.preventDefault(); // keep the dialog open for the final report
    ok.disabled = true;
    const res = await api("POST", importUrl, doc);
    ok.disabled = false;
    if (!res.ok) return show([el("p", { text: `Import failed: ${res.data.detail}` })]);
    const d = res.data;
    show([
      el("p", { text: `Imported ${d.imported.length} target${d.imported.length === 1 ? "" : "s"}.` }),
      ...list("Added:", d.imported),
      ...list(`Skipped (${d.skipped.length}):`, d.skipped),
      ...list(`Invalid (${d.errors.length}):`, problems(d.errors)),
    ]);
    await refresh();
  });
}

// ---------------------------------------------------------- a target's page

function targetPage() {
  const head = $("#target");
  const t = { kind: head.dataset.kind, name: head.dataset.name };
  const tbody = $("#values tbody");
  const filter = $("#values-filter");
  let gone = false;
  let lastHistory = null;

  async function refreshStatus() {
    const res = await api("GET", apiPath(t));
    if (res.status === 404) {
      gone = true;
      $("#gone").hidden = false;
      $('[data-f="acts"]', head).hidden = true;
    } else if (res.ok) fill(head, res.data);
  }

  // Current values: one row per series, the family's help under its first row.
  function renderValues(rows) {
    if (!rows.length) {
      tbody.replaceChildren(el("tr", { class: "none" }, el("td", { colspan: 3, class: "muted", text: "No series: the target is not running." })));
      return;
    }
    tbody.replaceChildren(...rows.map((r, i) => el("tr", { "data-family": r.family },
      el("td", {}, el("span", { class: "code", text: r.family }),
        i === 0 || rows[i - 1].family !== r.family ? el("span", { class: "help", text: r.help }) : null),
      el("td", { class: "code", text: r.labels }),
      el("td", { class: "num", title: r.value ?? "", text: r.display }))));
    filterValues();
  }
  function filterValues() {
    const q = filter.value.trim().toLowerCase();
    for (const tr of $$("tr", tbody)) tr.hidden = q && !tr.textContent.toLowerCase().includes(q);
  }

  async function refreshValues() {
    if (gone) return;
    const [values, hist] = await Promise.all([
      api("GET", `/ui/api/values/${seg(t.kind)}/${seg(t.name)}`),
      api("GET", `/ui/api/history/${seg(t.kind)}/${seg(t.name)}`),
    ]);
    renderValues(values.ok ? values.data : []);
    lastHistory = hist.ok ? hist.data : null;
    drawCharts(lastHistory);
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-act]");
    if (!button) return;
    if (button.dataset.act === "toggle") toggle(button, refreshValues);
    if (button.dataset.act === "delete") remove(button, (name) => { flash(`Deleted ${name}.`); location.assign("/"); });
  });
  filter.addEventListener("input", filterValues);
  window.addEventListener("resize", () => drawCharts(lastHistory));
  tickAges();
  every(refreshStatus);
  every(refreshValues);
}

// ---------------------------------------------------------------- charts

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
};
const seriesName = (family, labels) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ") || family;

/** Draw each key metric of a history answer as a small line chart (inline SVG). */
function drawCharts(hist) {
  for (const fig of $$("figure.chart")) {
    const plot = $('[data-f="plot"]', fig);
    const metric = hist && hist.metrics.find((m) => m.family === fig.dataset.family);
    const series = metric ? metric.series.filter((s) => s.values.some((v) => v != null)) : [];
    $('[data-f="latest"]', fig).textContent = "";
    if (!series.length) {
      plot.replaceChildren(el("p", { class: "muted", text: !hist ? "No history."
        : !hist.tracked ? "No history: too many targets are charted already."
        : !hist.times.length ? "No history: the target is not running (yet)."
        : "No value in this window yet: the device has not reported it." }));
      continue;
    }
    const latest = $('[data-f="latest"]', fig);
    const last = series[0].values.findLast((v) => v != null);
    const resting = series.length === 1 ? `now ${fmt(last, metric.unit)}` : "";
    latest.textContent = resting;
    plot.replaceChildren(...chart(hist, metric, series, plot.clientWidth || 600, latest, resting));
  }
}

/** Return the SVG and legend of one chart, `width` pixels wide; pointing at it
 *  shows the values at that moment in `readout` (`resting` when leaving). */
function chart(hist, metric, series, width, readout, resting) {
  const H = 140, left = 56, right = 8, top = 8, bottom = 18;
  // The window, or less while the history is young (at least a minute).
  const span = Math.min(hist.interval * hist.points, Math.max(60, hist.now - hist.times[0]));
  const x0 = hist.now - span;
  const since = span >= 120 ? `−${Math.round(span / 60)} min` : `−${Math.round(span)} s`;
  const all = series.flatMap((s) => s.values.filter((v) => v != null));
  let lo = Math.min(...all), hi = Math.max(...all);
  if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
  const X = (t) => left + ((t - x0) / span) * (width - left - right);
  const Y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${H}`, role: "img",
    "aria-label": `${metric.family} over the last ${since.slice(1)}` });
  for (const v of [lo, (lo + hi) / 2, hi]) {
    root.append(svg("line", { class: "grid-line", x1: left, x2: width - right, y1: Y(v), y2: Y(v) }));
    const label = svg("text", { class: "axis", x: left - 6, y: Y(v) + 3, "text-anchor": "end" });
    label.textContent = fmt(v, metric.unit);
    root.append(label);
  }
  for (const [text, t, anchor] of [[since, x0, "start"], ["now", hist.now, "end"]]) {
    const label = svg("text", { class: "axis", x: X(t), y: H - 4, "text-anchor": anchor });
    label.textContent = text;
    root.append(label);
  }
  series.forEach((s, i) => {
    let d = "", pen = "M";
    s.values.forEach((v, j) => {
      if (v == null) { pen = "M"; return; }
      d += `${pen}${X(hist.times[j]).toFixed(1)},${Y(v).toFixed(1)}`;
      pen = "L";
    });
    root.append(svg("path", { class: `line s${i % 6}`, d }));
    const j = s.values.findLastIndex((v) => v != null);
    root.append(svg("circle", { class: `dot s${i % 6}`, r: 2.5, cx: X(hist.times[j]), cy: Y(s.values[j]) }));
  });
  const cursor = svg("line", { class: "cursor", y1: top, y2: H - bottom, visibility: "hidden" });
  root.append(cursor);
  root.addEventListener("pointermove", (e) => {
    const box = root.getBoundingClientRect();
    const t = x0 + ((e.clientX - box.left) * (width / box.width) - left) / (width - left - right) * span;
    let j = 0;
    hist.times.forEach((at, i) => { if (Math.abs(at - t) < Math.abs(hist.times[j] - t)) j = i; });
    cursor.setAttribute("x1", X(hist.times[j]));
    cursor.setAttribute("x2", X(hist.times[j]));
    cursor.setAttribute("visibility", "visible");
    const at = new Date(hist.times[j] * 1000).toLocaleTimeString();
    readout.textContent = `${at}: ${series.map((s) => fmt(s.values[j], metric.unit)).join(" · ")}`;
  });
  root.addEventListener("pointerleave", () => {
    cursor.setAttribute("visibility", "hidden");
    readout.textContent = resting;
  });
  const legend = el("ul", { class: "legend" }, ...series.map((s, i) => el("li", { class: `s${i % 6}` },
    el("span", { text: `${seriesName(metric.family, s.labels)}: ${fmt(s.values.findLast((v) => v != null), metric.unit)}` }))));
  return series.length > 1 ? [root, legend] : [root];
}

// ------------------------------------------------------------------- forms

const OMIT = Symbol("omit"); // a field left out of the body (server default, kept secret)

/** Follow $ref into $defs and merge a single allOf; local keys win. */
function deref(s, root) {
  for (let i = 0; i < 32 && s && (s.$ref || s.allOf?.length === 1); i++) {
    const { $ref, allOf, ...rest } = s;
    const target = $ref ? root.$defs?.[$ref.split("/").pop()] : allOf[0];
    s = { ...target, ...rest };
  }
  return s || {};
}

/** Reduce a schema to {s, nullable, kind}: anyOf/oneOf with null and type lists. */
function shape(raw, root) {
  let s = deref(raw, root);
  let nullable = false;
  const options = s.anyOf || s.oneOf;
  if (Array.isArray(options)) {
    const rest = options.filter((o) => o.type !== "null");
    nullable = rest.length < options.length;
    if (rest.length === 1) {
      const { anyOf, oneOf, ...outer } = s;
      s = { ...deref(rest[0], root), ...outer };
    }
  }
  if (Array.isArray(s.type)) {
    nullable ||= s.type.includes("null");
    const types = s.type.filter((t) => t !== "null");
    s = { ...s, type: types.length === 1 ? types[0] : undefined };
  }
  const kind = s.const !== undefined ? "const" : s.enum ? "enum"
    : s.type === "object" || s.properties ? "object" : s.type === "array" ? "array"
    : ["string", "integer", "number", "boolean"].includes(s.type) && !s.anyOf && !s.oneOf ? s.type : "json";
  return { s, nullable, kind };
}

/** The "Attributes:" section of a model's docstring: {field: text}, and its lead. */
function docOf(description = "") {
  const lead = description.split(/\n\s*\n/)[0].replace(/\s+/g, " ").trim();
  const fields = {};
  const at = description.indexOf("Attributes:");
  if (at >= 0) {
    let current = null;
    for (const line of description.slice(at + 11).split("\n")) {
      const m = line.match(/^ {2,6}([A-Za-z_][A-Za-z0-9_]*): (.*)$/);
      if (m) { current = m[1]; fields[current] = m[2]; }
      else if (current && /^\s{6,}\S/.test(line)) fields[current] += ` ${line.trim()}`;
      else if (line.trim() === "") current = null;
    }
  }
  const tidy = (t) => t.replace(/``/g, "").replace(/^./, (c) => c.toUpperCase());
  for (const k in fields) fields[k] = tidy(fields[k]);
  return { lead: at === 0 ? "" : lead.replace(/``/g, ""), fields };
}

/** A label from a field key: "rms_samples" → "Rms samples". */
const human = (key) => (key.charAt(0).toUpperCase() + key.slice(1)).replace(/_/g, " ");

/** Words for a schema's bounds and default: "1 to 65535 · default 4400". */
function hint(s) {
  const parts = [];
  const lo = s.minimum ?? s.exclusiveMinimum, hi = s.maximum ?? s.exclusiveMaximum;
  const low = lo == null ? "" : s.exclusiveMinimum != null ? `more than ${lo}` : `at least ${lo}`;
  const high = hi == null ? "" : s.exclusiveMaximum != null ? `less than ${hi}` : `at most ${hi}`;
  if (s.minimum != null && s.maximum != null) parts.push(`${lo} to ${hi}`);
  else if (low || high) parts.push([low, high].filter(Boolean).join(", "));
  if (s.maxLength != null) parts.push(`at most ${s.maxLength} characters`);
  if (s.default !== undefined && s.default !== null && typeof s.default !== "object" && s.default !== "") {
    parts.push(`default ${s.default}`);
  }
  return parts.join(" · ");
}

let uid = 0;

/** A field wrapper: label, the input, help text and a place for its error. */
function wrap(label, key, input, help, extra = "", required = false) {
  const id = input.id || (input.id = `f${++uid}`);
  const field = el("div", { class: `field ${extra}`.trim() });
  const tag = required ? el("span", { class: "required", text: "required" }) : null;
  if (required) input.setAttribute("aria-required", "true");
  if (extra === "check") field.append(el("label", {}, input, ` ${label}`, el("span", { class: "key", text: key })));
  else field.append(el("label", { for: id }, label, key ? el("span", { class: "key", text: key }) : null, tag), input);
  if (help) {
    const h = el("p", { class: "help", id: `${id}-help`, text: help });
    input.setAttribute("aria-describedby", h.id);
    field.append(h);
  }
  field.append(el("p", { class: "field-error", hidden: true }));
  return field;
}

/**
 * Build the control of one schema node. Returns {node, read(path)}: read sets the
 * node's data-path (so errors find it) and returns the value, or OMIT.
 * `spec` = {key, raw, value, has, path (at build), doc, depth, ctx}.
 */
function control(spec) {
  const { key, raw, value, has, path, doc, depth, ctx } = spec;
  const { s, nullable, kind } = shape(raw, ctx.root);
  // A title of its own, unless pydantic made it from the key or it names a model.
  const auto = key.split("_").map((w) => w && w[0].toUpperCase() + w.slice(1)).join(" ");
  const label = raw.title && raw.title !== auto ? raw.title : human(key);
  const desc = s.description && kind !== "object" ? s.description : doc;
  const start = has ? value : s.default;
  if (kind === "object") return objectControl(s, nullable, { ...spec, label, start });
  if (kind === "array") return arrayControl(s, { ...spec, label, start, desc });
  const help = [desc, hint(s)].filter(Boolean).join(" · ");
  let input, read;
  if (kind === "boolean" && !nullable) {
    input = el("input", { type: "checkbox", checked: !!start });
    read = () => input.checked;
  } else if (kind === "enum" || kind === "boolean") {
    const options = kind === "enum" ? s.enum : [true, false];
    input = el("select", {}, ...(nullable ? [el("option", { value: "", text: "(none)" })] : []),
      ...options.map((o, i) => el("option", { value: i, text: String(o), selected: o === start })));
    read = () => input.value === "" ? null : options[Number(input.value)];
  } else if (kind === "const") {
    return { node: el("div", { hidden: true }), read: () => s.const };
  } else if (kind === "integer" || kind === "number") {
    input = el("input", { type: "number", step: kind === "integer" ? 1 : "any", inputmode: kind === "integer" ? "numeric" : "decimal",
      min: s.minimum ?? s.exclusiveMinimum, max: s.maximum ?? s.exclusiveMaximum, value: start ?? "" });
    read = (p) => {
      if (input.validity.badInput) { ctx.problems.push({ field: p, message: "Enter a number." }); return OMIT; }
      return input.value === "" ? (nullable ? null : OMIT) : Number(input.value);
    };
  } else if (kind === "string" && (s.writeOnly || s.format === "password")) {
    return secretControl(label, key, help, path, ctx);
  } else if (kind === "string") {
    input = el("input", { type: "text", value: start ?? "", maxlength: s.maxLength, spellcheck: "false", autocomplete: "off" });
    read = () => input.value === "" && nullable ? null : input.value;
  } else {
    input = el("textarea", { rows: 3, spellcheck: "false" });
    input.value = start === undefined ? "" : JSON.stringify(start, null, 1);
    read = (p) => {
      if (input.value.trim() === "") return nullable ? null : OMIT;
      try { return JSON.parse(input.value); } catch { ctx.problems.push({ field: p, message: "Not valid JSON." }); return OMIT; }
    };
  }
  input.name = path; // the path at build time: tests and autofill find fields by it
  const node = wrap(label, key, input, kind === "json" ? `${help} (JSON)`.trim() : help,
    input.type === "checkbox" ? "check" : "", spec.required);
  return { node, read: (p) => { node.dataset.path = p; return read(p); } };
}

/** A write-only field: blank keeps what is stored; "clear" removes it. */
function secretControl(label, key, help, path, ctx) {
  const rel = path.replace(/^settings\./, "");
  const set = ctx.mode === "edit" && ctx.secrets[rel];
  const input = el("input", { type: "password", autocomplete: "new-password", name: path,
    placeholder: ctx.mode === "edit" ? (set ? "set — leave blank to keep" : "not set") : "" });
  const clear = set ? el("input", { type: "checkbox" }) : null;
  const note = ctx.mode === "edit" ? "Write-only: never shown again." : "Write-only: stored encrypted, never shown again.";
  const node = wrap(label, key, input, [help, note].filter(Boolean).join(" · "));
  if (clear) node.insertBefore(el("label", { class: "secret-clear" }, clear, "Clear the stored value"), node.querySelector(".field-error"));
  return { node, read: (p) => {
    node.dataset.path = p;
    if (clear?.checked) return "";
    return input.value === "" ? OMIT : input.value;
  } };
}

/** Nested settings: a collapsible group; a nullable one has an on/off switch. */
function objectControl(s, nullable, spec) {
  const { key, label, start, path, depth, ctx } = spec;
  const doc = docOf(s.description);
  const required = new Set(s.required || []);
  const children = Object.entries(s.properties || {}).map(([k, sub]) => {
    const has = start != null && typeof start === "object" && k in start;
    const c = control({ key: k, raw: sub, value: has ? start[k] : undefined, has,
      path: `${path}.${k}`, doc: doc.fields[k], depth: depth + 1, ctx, required: required.has(k) });
    return [k, c, required.has(k)];
  });
  const inner = children.map(([, c]) => c.node);
  let toggleBox = null;
  if (depth === 0 || spec.bare) {
    const node = el("div", {}, ...(doc.lead ? [el("p", { class: "help desc", text: doc.lead })] : []), ...inner);
    return { node, read: (p) => readObject(children, p) };
  }
  const node = el("details", { class: "group", open: depth <= 1 || required.size > 0 || (nullable && start != null) });
  node.append(el("summary", { text: label }));
  if (spec.doc || doc.lead) node.append(el("p", { class: "help desc", text: spec.doc || doc.lead }));
  const box = el("div", {}, ...inner);
  if (nullable) {
    toggleBox = el("input", { type: "checkbox", checked: start != null, name: `${path}?` });
    node.append(el("div", { class: "field check" }, el("label", {}, toggleBox, ` Set ${label.toLowerCase()}`)));
    box.hidden = start == null;
    toggleBox.addEventListener("change", () => { box.hidden = !toggleBox.checked; });
  }
  node.append(box, el("p", { class: "field-error", hidden: true }));
  return { node, read: (p) => {
    node.dataset.path = p;
    if (toggleBox && !toggleBox.checked) return null;
    return readObject(children, p);
  } };
}

function readObject(children, p) {
  const out = {};
  for (const [k, c] of children) {
    const v = c.read(`${p}.${k}`);
    if (v !== OMIT) out[k] = v;
  }
  return out;
}

/** A list: one row per item (a fieldset for objects), add and remove buttons. */
function arrayControl(s, spec) {
  const { key, label, start, path, ctx, desc, depth } = spec;
  const items = s.items || {};
  const itemShape = shape(items, ctx.root);
  const itemName = itemShape.kind === "object" ? (itemShape.s.title || "item").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase() : "value";
  const rows = el("div", { class: "rows" });
  const list = [];
  const add = el("button", { type: "button", class: "button small", text: `Add ${itemName}` });
  const field = el("div", { class: "field" }, el("div", { class: "label" }, label, el("span", { class: "key", text: key })),
    rows, add);
  const help = [desc, s.maxItems ? `at most ${s.maxItems}` : ""].filter(Boolean).join(" · ");
  if (help) field.append(el("p", { class: "help", text: help }));
  field.append(el("p", { class: "field-error", hidden: true }));

  function renumber() {
    list.forEach((r, i) => { if (r.title) r.title.textContent = `${itemName[0].toUpperCase()}${itemName.slice(1)} ${i + 1}`; });
    add.disabled = s.maxItems != null && list.length >= s.maxItems;
  }
  function addRow(value, has) {
    const ctl = control({ key: "", raw: items, value, has, path: `${path}.${list.length}`, doc: "", depth: 0, bare: true, ctx });
    const drop = el("button", { type: "button", class: "button small danger", text: "Remove" });
    const row = { read: (p) => { row.node.dataset.path = p; return ctl.read(p); } };
    drop.addEventListener("click", () => { list.splice(list.indexOf(row), 1); row.node.remove(); renumber(); });
    if (itemShape.kind === "object") {
      row.title = el("span");
      row.node = el("div", { class: "item" }, el("div", { class: "item-head" }, row.title, drop), ctl.node,
        el("p", { class: "field-error", hidden: true }));
    } else {
      $("label", ctl.node)?.remove();
      row.node = el("div", { class: "inline" }, ctl.node, drop);
      row.read = ctl.read; // the scalar's own field takes the path and the error
    }
    list.push(row);
    rows.append(row.node);
    renumber();
  }
  add.addEventListener("click", () => addRow(undefined, false));
  if (Array.isArray(start)) for (const v of start) addRow(v, true);
  renumber();
  return { node: field, read: (p) => {
    field.dataset.path = p;
    return list.map((r, i) => { const v = r.read(`${p}.${i}`); return v === OMIT ? null : v; });
  } };
}

/** Friendlier words for pydantic's messages. */
function words(message) {
  return message
    .replace(/^Value error, /, "")
    .replace(/^Field required$/, "Required: fill this in.")
    .replace(/^Input should be less than or equal to (.*)$/, "Must be at most $1.")
    .replace(/^Input should be greater than or equal to (.*)$/, "Must be at least $1.")
    .replace(/^Input should be greater than (.*)$/, "Must be more than $1.")
    .replace(/^Input should be a valid integer.*$/, "Must be a whole number.")
    .replace(/^Input should be /, "Must be ")
    .replace(/^String should have at least 1 character$/, "Must not be empty.")
    .replace(/^String should /, "Must ");
}

/** Show each problem next to its field (or its nearest ancestor) and a summary. */
function showErrors(form, problems, detail) {
  const summary = $("#form-error");
  const items = [];
  for (const p of problems) {
    let path = p.field, node = null;
    while (path && !(node = form.querySelector(`[data-path="${CSS.escape(path)}"]`))) {
      path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    const text = words(p.message);
    if (node && node.id !== "settings") {
      node.classList.add("invalid");
      const slot = $(":scope > .field-error", node) || node.appendChild(el("p", { class: "field-error" }));
      slot.textContent = slot.hidden || !slot.textContent ? text : `${slot.textContent} ${text}`;
      slot.hidden = false;
      const input = $(":scope > input, :scope > select, :scope > textarea, :scope > label > input", node);
      input?.setAttribute("aria-invalid", "true");
      for (let d = node.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
      const name = $(":scope > label, :scope > summary, :scope > .label", node)?.firstChild?.textContent?.trim();
      const jump = el("button", { type: "button", class: "linkish", text: name || p.field });
      jump.addEventListener("click", () => (input || node).focus());
      items.push(el("li", {}, jump, `: ${text}`));
    } else items.push(el("li", { text: `${p.field.replace(/^settings\.?/, "") || "settings"}: ${text}` }));
  }
  const lead = problems.length
    ? `${problems.length === 1 ? "One field needs" : `${problems.length} fields need`} attention; nothing was saved.`
    : detail;
  summary.replaceChildren(el("strong", { text: lead }), ...(items.length ? [el("ul", {}, ...items)] : []));
  summary.hidden = false;
  summary.scrollIntoView({ block: "nearest" });
  (form.querySelector("[aria-invalid=true]") || summary).focus?.();
}

function clearErrors(form) {
  $("#form-error").hidden = true;
  for (const n of $$(".invalid", form)) n.classList.remove("invalid");
  for (const n of $$(".field-error", form)) { n.hidden = true; n.textContent = ""; }
  for (const n of $$("[aria-invalid]", form)) n.removeAttribute("aria-invalid");
}

function formPage() {
  const form = $("#target-form");
  if (!form) return;
  const data = JSON.parse($("#form-data").textContent);
  const target = data.target;
  const ctx = { root: data.schema, mode: data.mode, secrets: target?.secrets || {}, problems: [] };
  const settings = control({ key: "settings", raw: data.schema, value: target?.settings, has: !!target,
    path: "settings", doc: "", depth: 0, ctx });
  $("#settings").replaceChildren(settings.node);
  $("#stale-reload").addEventListener("click", () => location.reload());

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    ctx.problems = [];
    const values = settings.read("settings");
    const name = $("#f-name").value;
    const enabled = $("#f-enabled").checked;
    if (ctx.problems.length) return showErrors(form, ctx.problems, "");
    const save = $("#save");
    save.disabled = true;
    const res = data.mode === "add"
      ? await api("POST", "/api/targets", { kind: data.kind, name, enabled, settings: values })
      : await api("PUT", apiPath(target), { enabled, settings: values, revision: target.revision });
    save.disabled = false;
    if (res.ok) {
      flash(data.mode === "add" ? `Added ${name}: it starts at once.` : `Saved ${name}.`);
      return location.assign(pagePath(res.data));
    }
    if (res.status === 409 && data.mode === "edit") {
      $("#stale").hidden = false;
      return $("#stale").scrollIntoView({ block: "nearest" });
    }
    if (res.status === 409) return showErrors(form, [{ field: "name", message: res.data.detail }], "");
    showErrors(form, res.data.fields || [], res.data.detail);
  });
}

// ------------------------------------------------------------------- start

showFlash();
({ list: listPage, target: targetPage, form: formPage }[body.dataset.page] || (() => {}))();
