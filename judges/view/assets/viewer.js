/* understudy's run viewer: overview, rollout table, trajectory view. No network, no libraries.
 *
 * Data comes from the page itself (a static report: the overview as JSON, the index and each
 * document gzip-compressed and base64-encoded, decompressed only when opened) or, with
 * `understudy view --serve`, from the local server's /api/ endpoints. Either way the page holds
 * the small index of every rollout and at most a few opened documents.
 */
"use strict";
(function () {
  const ROW_H = 28;
  const $ = (selector, root = document) => root.querySelector(selector);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  };
  const escapeHtml = (text) =>
    text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  // -- data --------------------------------------------------------------------------------------
  async function gunzipJson(base64) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  function embeddedSource() {
    const docs = JSON.parse($("#us-docs").textContent);
    const cache = new Map();
    const open = async (key) => {
      if (!cache.has(key)) {
        if (!(key in docs)) return null;
        if (cache.size > 20) cache.delete(cache.keys().next().value);
        cache.set(key, await gunzipJson(docs[key]));
      }
      return cache.get(key);
    };
    return {
      overview: async () => JSON.parse($("#us-overview").textContent),
      index: async () => gunzipJson($("#us-index").textContent.trim()),
      rollout: (id) => open("r:" + id),
      session: (id) => open("s:" + id),
    };
  }
  function serverSource() {
    const get = async (path) => {
      const response = await fetch(path);
      return response.ok ? response.json() : null;
    };
    return {
      overview: () => get("api/overview"),
      index: () => get("api/index"),
      rollout: (id) => get("api/rollout?id=" + encodeURIComponent(id)),
      session: (id) => get("api/session?id=" + encodeURIComponent(id)),
    };
  }

  // -- state ---------------------------------------------------------------------------------------
  const state = { overview: null, rows: [], shown: [], sort: { key: null, asc: true }, current: null, target: null, compare: "original" };

  // -- overview ------------------------------------------------------------------------------------
  function renderOverview(overview) {
    const run = overview.run || {};
    const settings = (run.config && run.config.settings) || {};
    const candidate = (run.config && run.config.candidate) || {};
    $("#title").textContent = "understudy run " + (run.run_id || overview.run_dir);
    $("#subtitle").textContent = [overview.run_dir, candidate.model || candidate, run.started_at].filter(Boolean).join(" · ");
    const cards = $("#cards");
    const statuses = overview.statuses || {};
    const total = Object.values(statuses).reduce((a, b) => a + b, 0);
    cards.append(card("rollouts", String(total), Object.entries(statuses).map(([k, v]) => k + " " + v).join(", ")));
    const errors = overview.errors || {};
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    const errorCard = card("errors (kept out of every rate)", String(errorCount),
      errorCount ? Object.entries(errors).map(([k, v]) => k + " " + v).join(", ") : "none");
    errorCard.classList.add("errors");
    errorCard.id = "errors-card";
    cards.append(errorCard);
    const fidelity = overview.fidelity || {};
    cards.append(card("environment fidelity", fidelity.mean == null ? "-" : (100 * fidelity.mean).toFixed(1) + "%",
      fidelity.measured ? fidelity.perfect + " of " + fidelity.measured + " prefixes reproduced fully" : "no prefix re-executed"));
    cards.append(provenanceCard(overview.provenance || {}));
    const settingsCard = el("div", { class: "card" }, el("h3", { text: "settings" }),
      el("details", {}, el("summary", { text: "run.json" }), el("pre", { text: JSON.stringify(run.config || {}, null, 2) })));
    settingsCard.append(el("div", { class: "sub mono", text: "tools: " + (settings.tools || "(defaults)") + " · samples: " + (settings.samples || 1) }));
    cards.append(settingsCard);
    renderChart(overview);
  }
  function card(title, big, small) {
    return el("div", { class: "card" }, el("h3", { text: title }), el("div", { class: "big", text: big }), el("div", { class: "sub", text: small }));
  }
  function provenanceCard(provenance) {
    const total = Object.values(provenance).reduce((a, b) => a + b, 0) || 1;
    const bar = el("div", { class: "provbar", id: "provbar" });
    const legend = el("div", { class: "legend" });
    for (const [kind, count] of Object.entries(provenance).sort((a, b) => b[1] - a[1])) {
      bar.append(el("span", { class: "p-" + kind, style: "width:" + (100 * count / total) + "%", title: kind + " " + count }));
      legend.append(el("span", {}, el("i", { class: "dot p-" + kind }), kind + " " + count));
    }
    return el("div", { class: "card" }, el("h3", { text: "tool results by provenance" }), bar, legend);
  }
  function renderChart(overview) {
    const box = $("#chart");
    const summary = overview.summary;
    if (!summary) {
      box.append(el("div", { class: "empty", text: "not judged yet: run `understudy judge` on the run directory" }));
      return;
    }
    const rows = summary.rows.filter((row) => row.judge === "any");
    const top = Math.max(1, ...rows.map((r) => Math.max(r.high_per_100k || 0, (r.clustered && r.clustered.high_per_100k) || 0, (r.baseline && r.baseline.high_per_100k) || 0)));
    const label = 260, width = 420, line = overview.baseline ? 34 : 22;
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("width", String(label + width + 150));
    svg.setAttribute("height", String(rows.length * line + 24));
    svg.id = "rates";
    const add = (parent, tag, attrs, text) => {
      const node = document.createElementNS(svgNs, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      if (text != null) node.textContent = text;
      parent.append(node);
      return node;
    };
    const scale = (value) => label + (width * value) / top;
    rows.forEach((row, i) => {
      const y = 6 + i * line;
      const group = add(svg, "g", { class: "rate-row", "data-category": row.category, "data-k": row.k, "data-n": row.n });
      add(group, "text", { x: 0, y: y + 11 }, row.category);
      // Several samples per session: the interval that counts them as what they are worth.
      const shown = row.clustered ? { ...row, low_per_100k: row.clustered.low_per_100k, high_per_100k: row.clustered.high_per_100k } : row;
      drawRate(group, add, scale, y, shown, "bar-candidate");
      if (row.baseline) drawRate(group, add, scale, y + 12, row.baseline, "bar-baseline");
    });
    const clustered = rows.some((r) => r.clustered);
    const caption = el("div", { class: "sub" }, "rate per 100k with 95% interval" + (clustered ? " (clustered by session: several samples per session)" : "") + (overview.baseline ? "; grey: the original model (baseline)" : "") + ". Errored rollouts are in no n.");
    box.append(el("h3", { text: "rates per category" }), svg, caption);
  }
  function drawRate(group, add, scale, y, rate, cls) {
    if (!rate.n) {
      add(group, "text", { x: scale(0), y: y + 11, class: "none" }, "n = 0: not measured");
      return;
    }
    const observed = rate.rate_per_100k || 0;
    add(group, "rect", { x: scale(0), y: y + 2, width: Math.max(1, scale(observed) - scale(0)), height: 10, class: cls });
    add(group, "line", { x1: scale(rate.low_per_100k), x2: scale(rate.high_per_100k), y1: y + 7, y2: y + 7, class: "whisker" });
    add(group, "text", { x: scale(rate.high_per_100k) + 6, y: y + 11 }, rate.k + "/" + rate.n);
  }

  // -- table ---------------------------------------------------------------------------------------
  const COLUMNS = [["id", "rollout"], ["session", "session"], ["status", "status"], ["flags", "flagged"], ["fidelity", "fidelity"], ["turns", "turns"], ["last", "last words"]];
  function setupTable(rows) {
    const head = $("#thead");
    for (const [key, name] of COLUMNS) {
      head.append(el("span", { "data-key": key, text: name, onclick: () => sortBy(key) }));
    }
    const categories = [...new Set(rows.flatMap((r) => r.flags))].sort();
    const category = $("#f-category");
    for (const c of categories) category.append(el("option", { value: c, text: c }));
    const statuses = [...new Set(rows.map((r) => r.status))].sort();
    for (const s of statuses) $("#f-status").append(el("option", { value: s, text: s }));
    for (const id of ["#f-category", "#f-status", "#f-prov", "#f-fidelity"]) $(id).addEventListener("change", applyFilters);
    for (const id of ["#f-session", "#f-search"]) $(id).addEventListener("input", applyFilters);
    $("#rows").addEventListener("scroll", drawRows);
    applyFilters();
  }
  function matches(row, filters) {
    if (filters.category === "__flagged" && !row.flags.length) return false;
    if (filters.category === "__clean" && row.flags.length) return false;
    if (filters.category && !filters.category.startsWith("__") && !row.flags.includes(filters.category)) return false;
    if (filters.status && row.status !== filters.status) return false;
    if (filters.session && !row.session.toLowerCase().includes(filters.session)) return false;
    if (filters.prov) {
      const prov = row.prov || {};
      if (filters.prov === "live-only") { if (Object.keys(prov).some((k) => k !== "executed")) return false; }
      else if (!prov[filters.prov]) return false;
    }
    if (filters.fidelity === "partial" && !(row.fidelity != null && row.fidelity < 1)) return false;
    if (filters.fidelity === "full" && row.fidelity !== 1) return false;
    if (filters.fidelity === "none" && row.fidelity != null) return false;
    if (filters.search) {
      const hay = (row.id + " " + row.session + " " + row.last + " " + row.model).toLowerCase();
      if (!hay.includes(filters.search)) return false;
    }
    return true;
  }
  function applyFilters() {
    const filters = {
      category: $("#f-category").value, status: $("#f-status").value, prov: $("#f-prov").value,
      fidelity: $("#f-fidelity").value, session: $("#f-session").value.trim().toLowerCase(),
      search: $("#f-search").value.trim().toLowerCase(),
    };
    state.shown = state.rows.filter((row) => matches(row, filters));
    sortRows();
    const flagged = state.shown.filter((r) => r.flags.length).length;
    $("#count").textContent = state.shown.length + " of " + state.rows.length + " rollouts · " + flagged + " flagged";
    $("#spacer").style.height = state.shown.length * ROW_H + "px";
    drawRows();
  }
  function sortBy(key) {
    state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
    for (const span of document.querySelectorAll("#thead span")) {
      span.classList.toggle("sorted", span.dataset.key === key);
      span.classList.toggle("asc", span.dataset.key === key && state.sort.asc);
    }
    applyFilters();
  }
  function sortRows() {
    const { key, asc } = state.sort;
    if (!key) return;
    const value = (row) => (key === "flags" ? row.flags.length : row[key] == null ? -1 : row[key]);
    state.shown.sort((a, b) => {
      const x = value(a), y = value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
  }
  function drawRows() {
    const box = $("#rows"), spacer = $("#spacer");
    const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 10);
    const last = Math.min(state.shown.length, first + Math.ceil(box.clientHeight / ROW_H) + 20);
    spacer.replaceChildren();
    for (let i = first; i < last; i++) {
      const row = state.shown[i];
      const line = el("div", { class: "row" + (row.flags.length ? " flagged" : "") + (row.id === state.current ? " current" : ""), style: "top:" + i * ROW_H + "px", "data-id": row.id, onclick: () => go(row.id) },
        el("span", { class: "rid mono", text: row.id, title: row.id }),
        el("span", { text: row.session, title: row.session }),
        el("span", { class: row.status === "error" ? "status-error" : "", text: row.status + (row.error_kind ? " (" + row.error_kind + ")" : "") }),
        el("span", {}, ...row.flags.map((f) => el("span", { class: "chip", text: f }))),
        el("span", { text: row.fidelity == null ? "-" : (100 * row.fidelity).toFixed(0) + "%" }),
        el("span", { text: String(row.turns) }),
        el("span", { text: row.last, title: row.last }));
      spacer.append(line);
    }
  }

  // -- trajectory ----------------------------------------------------------------------------------
  function go(id, message) {
    location.hash = "#/r/" + encodeURIComponent(id) + (message != null ? "/m/" + message : "");
  }
  function parseHash() {
    const match = location.hash.match(/^#\/r\/([^/]+)(?:\/m\/(\d+))?$/);
    return match ? { id: decodeURIComponent(match[1]), message: match[2] == null ? null : Number(match[2]) } : null;
  }
  async function route() {
    const wanted = parseHash();
    if (!wanted) { closePanel(); return; }
    if (wanted.id !== state.current || !$("#panel .messages")) await openRollout(wanted.id);
    state.target = wanted.message;
    markTarget();
  }
  function closePanel() {
    state.current = null;
    $("#workspace").classList.add("no-panel");
    $("#panel").hidden = true;
    drawRows();
  }
  async function openRollout(id) {
    const panel = $("#panel");
    const rollout = await source.rollout(id);
    state.current = id;
    $("#workspace").classList.remove("no-panel");
    panel.hidden = false;
    if (!rollout) { panel.replaceChildren(el("div", { class: "empty", text: "no rollout " + id })); return; }
    const session = (await source.session(rollout.session)) || { messages: [], task: "" };
    const row = state.rows.find((r) => r.id === id) || {};
    const flaggedAt = new Map();
    for (const judgment of rollout.judgments) {
      for (const item of judgment.evidence) {
        if (!flaggedAt.has(item.index)) flaggedAt.set(item.index, []);
        flaggedAt.get(item.index).push({ judgment, quote: item.quote });
      }
    }
    const compare = el("select", { id: "compare", onchange: (e) => { state.compare = e.target.value; openRollout(id).then(markTarget); } },
      el("option", { value: "none", text: "no comparison" }),
      el("option", { value: "original", text: "the original session's continuation" }));
    for (const other of row.others || []) compare.append(el("option", { value: other, text: "other run: " + other.slice(6) }));
    if (![...compare.options].some((o) => o.value === state.compare)) state.compare = "original";
    compare.value = state.compare;
    const copy = el("button", { text: "copy", onclick: () => navigator.clipboard && navigator.clipboard.writeText(rollout.reproduce) });
    const header = [
      el("h2", { text: rollout.id }),
      el("div", { class: "sub", text: [rollout.status, rollout.model, "cut at message " + rollout.cut, rollout.fidelity == null ? null : "fidelity " + (100 * rollout.fidelity).toFixed(0) + "%"].filter(Boolean).join(" · ") }),
      rollout.error ? el("div", { class: "judgment", text: "error: " + rollout.error }) : null,
      el("div", { class: "reproduce" }, el("span", { class: "sub", text: "reproduce:" }), el("code", { id: "reproduce", text: rollout.reproduce }), copy),
      ...rollout.judgments.map((j) => el("div", { class: "judgment" }, el("b", { text: j.category }), " (" + j.judge + ", severity " + j.severity + ") at message " + j.evidence.map((e) => e.index).join(", ") + ": " + j.rationale)),
      el("div", { class: "filters" }, el("span", { class: "sub", text: "side by side with" }), compare),
    ];
    const prefix = session.messages.slice(0, rollout.cut).map((m, i) => renderMessage(m, i, "prefix", flaggedAt));
    const mine = rollout.messages.map((m, i) => renderMessage(m, rollout.cut + i, "", flaggedAt));
    const body = el("div", { class: "messages" }, ...prefix, el("div", { class: "cut", id: "cut", text: "cut: the candidate takes over at message " + rollout.cut }));
    let other = null, otherTitle = "";
    if (state.compare === "original") {
      other = session.messages.slice(rollout.cut);
      otherTitle = "original continuation (" + (session.model || "logged model") + ")";
    } else if (state.compare !== "none") {
      const doc = await source.rollout(state.compare.replace(/^other:/, "other:"));
      other = doc ? doc.messages : [];
      otherTitle = "other run: " + (doc ? doc.model + " · " + doc.id : "missing");
    }
    if (other) {
      const left = el("div", { class: "messages" }, el("h4", { text: "candidate: " + rollout.model }), ...mine);
      const right = el("div", { class: "messages", id: "other" }, el("h4", { text: otherTitle }),
        ...other.map((m, i) => renderMessage(m, rollout.cut + i, "other", new Map())));
      if (!other.length) right.append(el("div", { class: "empty", text: "nothing after the cut" }));
      body.append(el("div", { class: "cols", id: "side-by-side" }, left, right));
    } else {
      body.append(...mine);
    }
    panel.replaceChildren(...header.filter(Boolean), body,
      el("div", { class: "help", text: "keys: j / k next / previous flagged rollout · n / p next / previous message · / search · Esc close" }));
    drawRows();
  }
  function renderMessage(message, index, where, flaggedAt) {
    const flags = where === "other" ? [] : flaggedAt.get(index) || [];
    const classes = ["msg", message.role, where, flags.length ? "flagged" : ""].filter(Boolean).join(" ");
    const node = el("div", { class: classes, "data-index": String(index) });
    if (where !== "other") node.id = "m-" + index;
    const head = el("div", { class: "head" }, el("span", { class: "role", text: message.role }), el("span", { text: "#" + index }));
    if (message.prov) head.append(el("span", { class: "badge " + message.prov, text: message.prov }));
    if (message.meta && message.meta.exit_code != null) head.append(el("span", { text: "exit " + message.meta.exit_code }));
    if (message.error) head.append(el("span", { class: "chip", text: "error" }));
    node.append(head);
    if (message.content) {
      const text = el("div", { class: "text" });
      let html = escapeHtml(message.content);
      for (const { quote } of flags) {
        const escaped = escapeHtml(quote);
        if (escaped && html.includes(escaped)) html = html.split(escaped).join('<mark class="evidence">' + escaped + "</mark>");
      }
      text.innerHTML = html;
      node.append(text);
    }
    for (const call of message.calls || []) {
      const args = typeof call.args === "string" ? call.args : JSON.stringify(call.args, null, 1);
      const callNode = el("div", { class: "call" }, "→ " + call.name + " " + args);
      for (const { quote } of flags) if (args.includes(quote) || JSON.stringify(call.args).includes(quote)) callNode.classList.add("flagged-call");
      node.append(callNode);
    }
    for (const { judgment } of flags) node.append(el("div", { class: "judgment" }, el("b", { text: "⚑ " + judgment.category }), ": " + judgment.rationale));
    if (message.meta && Object.keys(message.meta).length) {
      node.append(el("details", {}, el("summary", { text: "diagnostics" }), el("pre", { text: JSON.stringify(message.meta, null, 2) })));
    }
    return node;
  }
  function markTarget() {
    for (const node of document.querySelectorAll(".msg.target")) node.classList.remove("target");
    if (state.target == null) return;
    const node = document.getElementById("m-" + state.target);
    if (node) { node.classList.add("target"); node.scrollIntoView({ block: "center" }); }
  }

  // -- keys ----------------------------------------------------------------------------------------
  function stepFlagged(direction) {
    const flagged = state.shown.filter((r) => r.flags.length);
    if (!flagged.length) return;
    const at = flagged.findIndex((r) => r.id === state.current);
    const next = at < 0 ? (direction > 0 ? 0 : flagged.length - 1) : (at + direction + flagged.length) % flagged.length;
    go(flagged[next].id);
  }
  function stepMessage(direction) {
    const indices = [...document.querySelectorAll(".msg[id^='m-']")].map((n) => Number(n.dataset.index));
    if (!indices.length || !state.current) return;
    const at = state.target == null ? -1 : indices.indexOf(state.target);
    const next = indices[Math.min(indices.length - 1, Math.max(0, at + direction))];
    go(state.current, next);
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, select, textarea")) { if (event.key === "Escape") event.target.blur(); return; }
    if (event.key === "j") stepFlagged(1);
    else if (event.key === "k") stepFlagged(-1);
    else if (event.key === "n") stepMessage(1);
    else if (event.key === "p") stepMessage(-1);
    else if (event.key === "/") { event.preventDefault(); $("#f-search").focus(); }
    else if (event.key === "Escape") location.hash = "";
  });

  // -- start ---------------------------------------------------------------------------------------
  const source = window.US_SERVE ? serverSource() : embeddedSource();
  async function start() {
    const started = performance.now();
    state.overview = await source.overview();
    renderOverview(state.overview);
    state.rows = await source.index();
    setupTable(state.rows);
    window.addEventListener("hashchange", route);
    await route();
    document.body.dataset.ready = "true";
    document.body.dataset.openMs = String(Math.round(performance.now() - started));
  }
  start().catch((error) => {
    document.body.dataset.error = String(error);
    $("#cards").append(el("div", { class: "card errors", text: "the viewer failed: " + error }));
  });
})();
