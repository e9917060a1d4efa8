/*! deskpilot deflection widget: one dependency-free script, no build step.
 * <script src="/widget/deskpilot-widget.js" data-api-key="dp_..." data-tenant="ledgerly" defer></script>
 * Every server string is rendered with textContent; only http(s) urls become links; citations are superscript
 * links numbered like the answer's Sources list, never bare [n]; redaction placeholders never show. */
(function () {
  "use strict";
  if (window.deskpilot && window.deskpilot.version) return;
  var script = document.currentScript || document.querySelector("script[data-api-key][src*='deskpilot-widget']");
  if (!script) return;
  var data = script.dataset;
  var apiBase = (data.apiBase || "").replace(/\/+$/, "");
  var locale = /^[a-z]{2}(-[A-Z]{2})?$/.test(data.locale || "") ? data.locale : "";
  var T = {
    en: {
      launcher: "Help", title: "Ask our help center", close: "Close help", label: "Your question",
      hint: "Enter to ask, Shift+Enter for a new line", ask: "Ask", searching: "Searching the help center...",
      answered: "Answer ready.", answer: "Answer", you: "You asked:", sources: "Sources", source: "Source",
      related: "These articles may be related:",
      conf: { high: "High confidence", medium: "Medium confidence", low: "Low confidence" },
      helpful: "Did this answer your question?", yes: "Yes", no: "No",
      noted: "Thanks, we noted that. What went wrong? (optional)", wrong: "What went wrong? (optional)",
      comment: "Anything else? (optional)", send: "Send feedback", thanks: "Thanks for your feedback!",
      contact: "Contact support", contactHint: "Talk to a person on our support team.",
      escalating: "Sending your conversation to support...",
      escalated: "Thanks! Our support team has your conversation and will reply to {email}.", ref: "Reference:",
      email: "Your e-mail address", sendSupport: "Send to support", cancel: "Cancel",
      consent: "We use this address only to reply to this request. Our support team sees it with this conversation, " +
        "and it is deleted together with the conversation when our retention period ends.",
      reasons: {
        wrong_answer: "The answer is wrong", missing_info: "Information is missing",
        outdated_source: "The article is out of date", wrong_citation: "A source link doesn't match",
        tone: "The tone is off", too_long: "It's too long", unsafe: "It's unsafe or inappropriate",
        other: "Something else",
      },
      err: {
        net: "We couldn't reach the help center. Check your connection and try again.",
        auth: "This help widget isn't set up correctly. Please contact support another way.",
        rate: "Too many requests right now. Please try again in {s} seconds.",
        busy: "The service is busy. Please try again in a moment.",
        invalid: "We couldn't process that. Please rephrase and try again.",
        server: "Something went wrong on our side. Please try again.",
        empty: "Please type a question first.", pick: "Pick at least one reason, or write a comment.",
        email: "Please enter a valid e-mail address, e.g. name@example.com.",
        off: "The help assistant is switched off right now. Please contact support another way.",
      },
      footer: "Answers come from our help center articles.",
    },
    de: {
      launcher: "Hilfe", title: "Fragen Sie unser Hilfe-Center", close: "Hilfe schließen", label: "Ihre Frage",
      hint: "Enter zum Senden, Umschalt+Enter für eine neue Zeile", ask: "Fragen",
      searching: "Das Hilfe-Center wird durchsucht...", answered: "Antwort bereit.", answer: "Antwort", you: "Ihre Frage:",
      sources: "Quellen", source: "Quelle", related: "Diese Artikel könnten passen:",
      conf: { high: "Hohe Sicherheit", medium: "Mittlere Sicherheit", low: "Geringe Sicherheit" },
      helpful: "Hat das Ihre Frage beantwortet?", yes: "Ja", no: "Nein",
      noted: "Danke, das haben wir notiert. Was hat nicht gepasst? (optional)", wrong: "Was hat nicht gepasst? (optional)",
      comment: "Noch etwas? (optional)", send: "Feedback senden", thanks: "Danke für Ihr Feedback!",
      contact: "Support kontaktieren", contactHint: "Mit einer Person aus unserem Support-Team sprechen.",
      escalating: "Ihr Gespräch wird an den Support gesendet...",
      escalated: "Danke! Unser Support-Team hat Ihr Gespräch erhalten und antwortet an {email}.", ref: "Referenz:",
      email: "Ihre E-Mail-Adresse", sendSupport: "An den Support senden", cancel: "Abbrechen",
      consent: "Wir verwenden diese Adresse nur, um auf diese Anfrage zu antworten. Unser Support-Team sieht sie " +
        "zusammen mit diesem Gespräch; sie wird mit dem Gespräch gelöscht, wenn unsere Aufbewahrungsfrist endet.",
      reasons: {
        wrong_answer: "Die Antwort ist falsch", missing_info: "Es fehlen Informationen",
        outdated_source: "Der Artikel ist veraltet", wrong_citation: "Ein Quellenlink passt nicht",
        tone: "Der Ton passt nicht", too_long: "Zu lang", unsafe: "Unsicher oder unangemessen",
        other: "Etwas anderes",
      },
      err: {
        net: "Das Hilfe-Center ist nicht erreichbar. Prüfen Sie Ihre Verbindung.",
        auth: "Dieses Hilfe-Widget ist nicht richtig eingerichtet. Bitte kontaktieren Sie den Support direkt.",
        rate: "Zu viele Anfragen. Bitte in {s} Sekunden erneut versuchen.",
        busy: "Der Dienst ist ausgelastet. Bitte gleich noch einmal versuchen.",
        invalid: "Das konnten wir nicht verarbeiten. Bitte formulieren Sie anders.",
        server: "Bei uns ist etwas schiefgelaufen. Bitte erneut versuchen.",
        empty: "Bitte geben Sie zuerst eine Frage ein.", pick: "Wählen Sie einen Grund oder schreiben Sie einen Kommentar.",
        email: "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com.",
        off: "Der Hilfe-Assistent ist gerade abgeschaltet. Bitte kontaktieren Sie den Support auf anderem Weg.",
      },
      footer: "Die Antworten stammen aus unseren Hilfe-Artikeln.",
    },
  };
  var t = T[(locale || document.documentElement.lang || "en").slice(0, 2)] || T.en;

  var CSS = [
    ":host{all:initial;--_a:var(--dp-accent,#2563eb);--_bg:var(--dp-bg,#fff);--_fg:var(--dp-fg,#1f2933);",
    "--_r:var(--dp-radius,12px);--_af:var(--dp-accent-fg,#fff);--_line:rgba(127,127,127,.28);",
    "font:15px/1.5 var(--dp-font,system-ui,-apple-system,'Segoe UI',Roboto,sans-serif)}",
    "*{box-sizing:border-box}[hidden]{display:none!important}",
    ".launcher{position:fixed;right:24px;bottom:24px;z-index:2147483000;display:flex;align-items:center;gap:8px;",
    "padding:12px 20px;border:0;border-radius:999px;background:var(--_a);color:var(--_af);font:600 15px/1 inherit;",
    "font-family:inherit;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.22)}",
    ".launcher svg{width:20px;height:20px}",
    ".panel{position:fixed;right:24px;bottom:88px;z-index:2147483001;width:min(400px,calc(100vw - 32px));",
    "max-height:min(640px,calc(100vh - 112px));display:flex;flex-direction:column;background:var(--_bg);color:var(--_fg);",
    "border:1px solid var(--_line);border-radius:var(--_r);box-shadow:0 16px 48px rgba(0,0,0,.24);overflow:hidden;",
    "animation:dp-in .16s ease-out}",
    "@keyframes dp-in{from{opacity:0;transform:translateY(8px)}}",
    "@media (prefers-reduced-motion:reduce){.panel{animation:none}}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;background:var(--_a);color:var(--_af)}",
    "h2{margin:0;font-size:16px;font-weight:650}",
    ".x{border:0;background:transparent;color:inherit;font-size:22px;line-height:1;width:32px;height:32px;border-radius:8px;cursor:pointer}",
    ".body{padding:16px;overflow:auto;display:flex;flex-direction:column;gap:12px}",
    "label,legend{font-weight:600;font-size:14px}",
    "textarea{width:100%;margin-top:4px;padding:8px 10px;border:1px solid var(--_line);border-radius:calc(var(--_r)*.6);",
    "background:var(--_bg);color:var(--_fg);font:inherit;resize:vertical}",
    // 16px or more: iOS Safari zooms the page into any smaller text field on focus.
    "textarea,input[type=email]{font-size:16px}",
    "input[type=email]{width:100%;margin-top:4px;padding:8px 10px;border:1px solid var(--_line);",
    "border-radius:calc(var(--_r)*.6);background:var(--_bg);color:var(--_fg);font-family:inherit}",
    "input[aria-invalid=true]{border-color:#b42318}.consent{margin:6px 0 0;font-size:12.5px;opacity:.8}",
    ".hint,.small,.section,footer{font-size:12.5px;opacity:.75}",
    ".row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}",
    "button{font:inherit;cursor:pointer}",
    ".btn{padding:7px 14px;border-radius:calc(var(--_r)*.6);border:1px solid var(--_a);background:transparent;color:var(--_fg);font-weight:600}",
    ".primary{background:var(--_a);color:var(--_af)}",
    "button:disabled{opacity:.55;cursor:default}",
    ":focus-visible{outline:3px solid var(--_a);outline-offset:2px}",
    "header :focus-visible{outline-color:var(--_af)}",
    ".status{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".status.show{position:static;width:auto;height:auto;clip:auto;white-space:normal;font-size:14px;padding:8px 10px;",
    "border-radius:8px;background:rgba(127,127,127,.1)}.status.err{background:#fdecea;color:#8a1c1c}",
    "@media (max-width:480px){.panel{right:8px;bottom:80px;width:calc(100vw - 16px)}.launcher{right:12px;bottom:12px}}",
    ".result{display:flex;flex-direction:column;gap:10px;border-top:1px solid var(--_line);padding-top:12px}",
    ".asked{margin:0;font-size:13px;opacity:.8}",
    ".answer{margin:0;overflow-wrap:anywhere}.answer p{margin:0 0 8px}.answer>:last-child{margin-bottom:0}",
    ".answer ol,.answer ul{margin:0 0 8px;padding-left:22px}.answer li{margin:3px 0}.answer li::marker{font-weight:600}",
    ".answer ul.rows{list-style:none;padding-left:0}.answer ul.rows li{padding:3px 0;border-bottom:1px solid var(--_line)}",
    ".answer ul.rows li:last-child{border-bottom:0}",
    "a{color:var(--_a)}sup.cites{line-height:0;font-size:.75em;white-space:nowrap;margin-left:2px}",
    ".cite{display:inline-block;min-width:1.5em;padding:1px 4px;border-radius:6px;text-align:center;font-weight:700;",
    "text-decoration:none;background:rgba(127,127,127,.14)}a.cite{color:var(--_a)}a.cite:hover{text-decoration:underline}",
    ".conf{display:inline-block;font-size:12.5px;padding:2px 8px;border-radius:999px;background:rgba(127,127,127,.14)}",
    ".conf.high{background:#e3f6e8;color:#14532d}.conf.low{background:#fff4d6;color:#6b4500}",
    "h3{margin:0;font-size:13px;text-transform:uppercase;letter-spacing:.04em;opacity:.7}",
    "ol{margin:4px 0 0;padding-left:22px}li{margin:2px 0}",
    "fieldset{border:1px solid var(--_line);border-radius:calc(var(--_r)*.6);margin:0;padding:8px 12px;display:flex;flex-direction:column;gap:4px}",
    "fieldset label{font-weight:400}input[type=checkbox]{accent-color:var(--_a)}",
    "[aria-pressed=true]{background:var(--_a);color:var(--_af)}",
    ".box{padding:10px 12px;border-radius:calc(var(--_r)*.6);background:rgba(127,127,127,.08);display:flex;flex-direction:column;gap:8px}",
    ".confirm{background:#e3f6e8;color:#14532d}.ref,.status{overflow-wrap:anywhere}.ref{display:block;font-size:12.5px}",
    "footer{padding:8px 16px;border-top:1px solid var(--_line)}",
  ].join("");

  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === false || v == null) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    });
    (kids || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }
  function safeUrl(u) {
    // Only absolute http(s) addresses become links: a missing (null) or relative url would resolve against the
    // host page (an article without a url linked to /demo/null).
    if (typeof u !== "string" || !/^https?:\/\//i.test(u)) return "";
    try { return new URL(u).href; } catch (e) { return ""; }
  }
  function link(url, kids, attrs) {
    var a = h("a", Object.assign({ href: url, target: "_blank", rel: "noopener noreferrer" }, attrs || {}), kids);
    return a;
  }

  var host = h("div", { id: "deskpilot-widget", "data-tenant": data.tenant || "" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var uid = 0;
  function id(p) { return "dp-" + p + "-" + ++uid; }

  var launcher = h("button", { class: "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false",
    "aria-controls": "dp-panel", onclick: function () { (panel.hidden ? open : close)(); } });
  var NS = "http://www.w3.org/2000/svg", icon = document.createElementNS(NS, "svg"), path = document.createElementNS(NS, "path");
  [["viewBox", "0 0 24 24"], ["fill", "none"], ["stroke", "currentColor"], ["stroke-width", "2"], ["aria-hidden", "true"]]
    .forEach(function (a) { icon.setAttribute(a[0], a[1]); });
  path.setAttribute("d", "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z");
  icon.appendChild(path);
  launcher.appendChild(icon);
  launcher.appendChild(h("span", { text: data.launcherLabel || t.launcher }));

  var question = h("textarea", { id: "dp-q", rows: 3, maxlength: 2000, "aria-describedby": "dp-hint", autocomplete: "off" });
  var askBtn = h("button", { class: "btn primary", type: "submit", text: t.ask });
  var status = h("div", { class: "status", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  var result = h("section", { class: "result", "aria-label": t.answer, hidden: true });
  var form = h("form", { novalidate: true, onsubmit: function (e) { e.preventDefault(); ask(); } }, [
    h("label", { for: "dp-q", text: t.label }), question,
    h("div", { class: "row", style: "justify-content:space-between;margin-top:6px" },
      [h("span", { id: "dp-hint", class: "hint", text: t.hint }), askBtn]),
  ]);
  var panel = h("div", { id: "dp-panel", class: "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "dp-title", hidden: true }, [
    h("header", {}, [h("h2", { id: "dp-title", text: data.title || t.title }),
      h("button", { class: "x", type: "button", "aria-label": t.close, text: "\u00d7", onclick: function () { close(); } })]),
    h("div", { class: "body" }, [form, status, result]),
    h("footer", { text: t.footer }),
  ]);
  var style = h("style", { text: CSS });
  root.appendChild(style);
  root.appendChild(launcher);
  root.appendChild(panel);

  question.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(); }
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.stopPropagation(); close(); }
  });

  function open() {
    if (off) return;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    question.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    if (off) { host.remove(); return; }
    launcher.focus();
  }
  // The tenant switched the widget off (flag widget_enabled): say so in the open panel, then go away for good.
  var off = false;
  function switchOff() {
    off = true;
    launcher.hidden = true;
    question.disabled = true;
    askBtn.disabled = true;
    if (panel.hidden) host.remove();
  }
  // Progress and errors show in the live region; confirmations are only announced (they show in place).
  function say(text, kind) {
    status.className = "status" + (kind ? " show" : "") + (kind === "err" ? " err" : "");
    status.textContent = text || "";
  }

  // One random id per conversation (this tab, kept across page loads): sent with every question, so an escalation
  // hands over the questions and answers the server recorded, never a transcript the page could have written.
  var CONV_KEY = "deskpilot:conversation:" + (data.tenant || "");
  function newConversationId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  var conversationId = "";
  try { conversationId = sessionStorage.getItem(CONV_KEY) || ""; } catch (e) { conversationId = ""; }
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(conversationId)) {
    conversationId = newConversationId();
    try { sessionStorage.setItem(CONV_KEY, conversationId); } catch (e) { /* private mode: this page only */ }
  }
  var EMAIL = /^[^@\s<>()[\],;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;
  var busy = false;
  var current = null;

  function post(path, body) {
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, 45000);
    return fetch(apiBase + path, {
      method: "POST", mode: "cors", credentials: "omit", signal: ctl && ctl.signal,
      headers: { "Content-Type": "application/json", "X-API-Key": data.apiKey || "" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (r.ok) return json;
        if (r.status === 503 && json && json.code === "widget_disabled") { switchOff(); throw new Error(t.err.off); }
        var msg = t.err.server;
        if (r.status === 401 || r.status === 403) msg = t.err.auth;
        else if (r.status === 429) msg = t.err.rate.replace("{s}", parseInt(r.headers.get("Retry-After"), 10) || 5);
        else if (r.status === 503) msg = t.err.busy;
        else if (r.status === 413 || r.status === 422) msg = t.err.invalid;
        var rid = json && typeof json.request_id === "string" ? json.request_id : r.headers.get("X-Request-ID");
        throw new Error(msg + (rid && r.status >= 500 ? " (" + t.ref + " " + rid.slice(0, 64) + ")" : ""));
      });
    }, function () { throw new Error(t.err.net); }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function ask(text) {
    if (busy || off) return;
    var q = (text != null ? String(text) : question.value).trim();
    if (!q) { say(t.err.empty, "err"); question.focus(); return; }
    busy = true;
    askBtn.disabled = true;
    result.setAttribute("aria-busy", "true");
    say(t.searching, "busy");
    var body = { question: q, conversation_id: conversationId };
    if (locale) body.locale = locale;
    post("/v1/answer", body).then(function (ans) {
      question.value = "";
      render(q, ans);
      say(t.answered);
    }, function (err) {
      say(err.message, "err");
    }).finally(function () {
      busy = false;
      askBtn.disabled = off;
      result.removeAttribute("aria-busy");
    });
  }

  // Answers are laid out from the API's "blocks" (paragraphs, numbered steps, bullets, label: value rows) or, from
  // an older server, from the answer text. Citations become superscript links numbered like the Sources list;
  // a [n] marker is never shown as such, and a sentence holding a redaction placeholder (<PHONE_NUMBER>) is
  // left out (a placeholder in parentheses is cut out of its sentence instead).
  var PH = /<[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*>/;
  var PH_ASIDE = /\s*\([^()]*<[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*>[^()]*\)/g;
  var MARK = /\s*\[(\d+(?:\s*,\s*\d+)*)\]/g;
  var STEP = /^\s*(\d{1,3}[.)])\s+(.*)$/, ITEM = /^\s*[-*\u2022]\s+(.*)$/;

  function numbersIn(s) {
    var out = [];
    String(s).replace(MARK, function (_, g) {
      g.split(",").forEach(function (n) { n = parseInt(n, 10); if (out.indexOf(n) < 0) out.push(n); });
      return "";
    });
    return out;
  }
  function unmarked(s) {
    return String(s).replace(MARK, "").replace(/[ \t]+([.,;:!?])/g, "$1").replace(/[ \t]{2,}/g, " ").trim();
  }
  function safe(s) {
    s = String(s == null ? "" : s);
    if (!PH.test(s)) return s;
    s = s.replace(PH_ASIDE, "").replace(/[ \t]+([.,;:!?])/g, "$1");
    return PH.test(s) || !/\w+\W+\w+\W+\w+/.test(s) ? null : s;
  }
  function sentencesOf(line) { // markers written after the full stop go with their sentence
    var norm = line.replace(/([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)/g, "$2$1");
    var bits = norm.split(/([.!?]["'\u201d\u2019)]*)\s+(?=[A-Z\u00c0-\u00dd0-9"'\u201c\u201e(\u00bf\u00a1])/), out = [];
    for (var i = 0; i < bits.length; i += 2) out.push(bits[i] + (bits[i + 1] || ""));
    return out;
  }
  function part(text, marker) {
    var clean = safe(unmarked(text));
    return clean ? { text: clean, cites: numbersIn(text), marker: marker || "" } : null;
  }
  function blocksFromText(text) { // paragraphs split at blank lines; runs of "3. " / "- " lines are lists
    var blocks = [];
    String(text || "").replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/).forEach(function (para) {
      para.split("\n").filter(function (l) { return l.trim(); }).forEach(function (l) {
        var step = STEP.exec(l), item = !step && ITEM.exec(l);
        var kind = step ? "steps" : item ? "bullets" : "paragraph", last = blocks[blocks.length - 1];
        var parts = step ? [part(step[2], step[1])] : item ? [part(item[1], "-")]
          : sentencesOf(l).map(function (x) { return part(x); });
        if (kind !== "paragraph" && last && last.kind === kind && last.para === para) last.parts = last.parts.concat(parts);
        else blocks.push({ kind: kind, parts: parts, para: para });
      });
    });
    return blocks;
  }
  function cleanBlocks(blocks) {
    var out = [];
    blocks.forEach(function (b) {
      var kind = String((b && b.kind) || "paragraph");
      var parts = (b && Array.isArray(b.parts) ? b.parts : []).map(function (p) {
        if (!p) return null;
        var text = safe(unmarked(p.text));
        var pairs = Array.isArray(p.pairs) ? p.pairs.filter(function (x) { return Array.isArray(x) && x.length === 2; }) : [];
        if (pairs.some(function (x) { return PH.test(x[0]) || PH.test(x[1]); })) pairs = [];
        var cites = Array.isArray(p.cites) ? p.cites.map(Number).filter(isFinite) : [];
        return text ? { text: text, cites: cites, marker: String(p.marker || ""), pairs: pairs } : null;
      }).filter(Boolean);
      var prev = out[out.length - 1];
      if (parts.length) out.push({ kind: kind, parts: parts });
      else if (kind !== "paragraph" && prev && prev.kind === "paragraph" && /:\s*$/.test(prev.parts[prev.parts.length - 1].text)) {
        prev.parts.pop(); // "contact our leads directly:" goes with the list it introduced
        if (!prev.parts.length) out.pop();
      }
    });
    return out;
  }

  function render(q, ans) {
    current = ans;
    var cites = Array.isArray(ans.citations) ? ans.citations : [];
    var byN = {};
    cites.forEach(function (c) { byN[c.n] = c; });
    var blocks = cleanBlocks(Array.isArray(ans.blocks) && ans.blocks.length ? ans.blocks : blocksFromText(ans.answer));
    // Sources are numbered 1, 2, ... in the order the shown answer first cites them.
    var order = [], shown = {};
    blocks.forEach(function (b) { b.parts.forEach(function (p) {
      p.cites = p.cites.filter(function (n) { return byN[n]; });
      p.cites.forEach(function (n) { if (!shown[n]) { order.push(n); shown[n] = order.length; } });
    }); });
    function sup(nums) {
      if (!nums.length) return null;
      var s = h("sup", { class: "cites" });
      nums.forEach(function (n, i) {
        var c = byN[n], url = safeUrl(c.url), title = String(c.title || c.doc_id || "");
        var label = t.source + " " + shown[n] + ": " + title;
        if (i) s.appendChild(document.createTextNode(" "));
        s.appendChild(url ? link(url, [String(shown[n])], { class: "cite", "aria-label": label, title: title })
          : h("span", { class: "cite", title: title, "aria-label": label, text: String(shown[n]) }));
      });
      return s;
    }
    var box = h("div", { class: "answer", id: "dp-answer" });
    blocks.forEach(function (b) {
      // A run of sentences citing the same sources shows its superscript once, after the run.
      var kids = b.parts.map(function (p, i) {
        var next = b.parts[i + 1];
        var mark = !next || next.cites.join() !== p.cites.join() ? sup(p.cites) : null;
        var body = p.pairs.length ? [] : [p.text];
        p.pairs.forEach(function (x, j) { body.push(j ? "; " : "", h("strong", { text: String(x[0]) + ":" }), " " + String(x[1])); });
        return body.concat(mark ? [mark] : []);
      });
      if (b.kind === "steps" || b.kind === "bullets" || b.kind === "rows") {
        var list = h(b.kind === "steps" ? "ol" : "ul", b.kind === "rows" ? { class: "rows" } : {});
        kids.forEach(function (k, i) {
          var num = b.kind === "steps" && /^\d+/.exec(b.parts[i].marker);
          list.appendChild(h("li", num ? { value: num[0] } : {}, k));
        });
        box.appendChild(list);
      } else {
        var para = h("p", {});
        kids.forEach(function (k, i) { if (i) para.appendChild(document.createTextNode(" ")); k.forEach(function (c) { if (c) para.appendChild(typeof c === "string" ? document.createTextNode(c) : c); }); });
        box.appendChild(para);
      }
    });
    var level = ans.confidence && ans.confidence.level;
    var reason = ans.confidence && String(ans.confidence.reason || "").replace(/^(high|medium|low):\s*/, "");
    var conf = t.conf[level] ? h("p", { class: "small", style: "margin:0" },
      [h("span", { class: "conf " + level, text: t.conf[level] }), reason ? " " + reason : ""]) : null;
    var list = order.length ? h("div", {}, [h("h3", { text: t.sources }), h("ol", {}, order.map(function (n) {
      var c = byN[n], url = safeUrl(c.url);
      var title = String(c.title || c.doc_id || "");
      var li = h("li", { value: shown[n] }, [url ? link(url, [title]) : h("span", { text: title })]);
      if (c.section) li.appendChild(h("div", { class: "section", text: String(c.section) }));
      return li;
    }))]) : null;
    // An abstention offers the closest articles as links (not as an answer) beside the hand-off.
    var related = ans.abstained && Array.isArray(ans.related) && ans.related.length ? h("div", { class: "related" }, [
      h("h3", { text: t.related }), h("ul", {}, ans.related.slice(0, 3).map(function (c) {
        var url = safeUrl(c.url), title = String(c.title || c.doc_id || "");
        return h("li", {}, [url ? link(url, [title]) : h("span", { text: title })]);
      }))]) : null;
    var kids = [h("p", { class: "asked" }, [h("strong", { text: t.you }), " " + q]), box, conf, list, related];
    var help = helpful(ans), contact = contactBox(ans);
    result.replaceChildren.apply(result, kids.concat(ans.abstained ? [contact, help] : [help, contact]).filter(Boolean));
    result.hidden = false;
  }

  // The one-question CSAT after an answer: Yes or No is recorded with one click (a vote). After No, reasons
  // and a comment are optional; sending them replaces that vote (one vote per customer and answer).
  function helpful(ans) {
    if (!ans.interaction_id) return null;
    var box = h("div", { class: "box" });
    var lbl = id("helpful");
    var yes = h("button", { class: "btn", type: "button", text: t.yes, onclick: function () { vote("up", [], ""); } });
    var no = h("button", { class: "btn", type: "button", text: t.no, "aria-expanded": "false", onclick: function () {
      no.setAttribute("aria-pressed", "true");
      vote("down", [], "", function () {
        no.setAttribute("aria-expanded", "true");
        reasons.hidden = false; reasons.querySelector("input").focus();
        say(t.noted);
      });
    } });
    var comment = h("textarea", { id: id("comment"), rows: 2, maxlength: 2000 });
    var checks = Object.keys(t.reasons).map(function (code) {
      var cid = id(code);
      return h("div", {}, [h("input", { type: "checkbox", id: cid, name: "reason", value: code }), " ",
        h("label", { for: cid, text: t.reasons[code] })]);
    });
    var reasons = h("form", { hidden: true, novalidate: true, onsubmit: function (e) {
      e.preventDefault();
      var codes = Array.prototype.map.call(reasons.querySelectorAll("input:checked"), function (i) { return i.value; });
      if (!codes.length && !comment.value.trim()) { fail(box, t.err.pick); return; }
      vote("down", codes, comment.value.trim());
    } }, [h("fieldset", {}, [h("legend", { text: t.wrong })].concat(checks, [
      h("label", { for: comment.id, style: "margin-top:6px", text: t.comment }), comment,
      h("div", { class: "row" }, [h("button", { class: "btn primary", type: "submit", text: t.send })])]))]);
    var row = h("div", { class: "row", role: "group", "aria-labelledby": lbl }, [h("span", { id: lbl, text: t.helpful }), yes, no]);
    function vote(thumbs, codes, text, then) {
      var controls = box.querySelectorAll("button,input,textarea");
      controls.forEach(function (b) { b.disabled = true; });
      post("/v1/feedback", { interaction_id: ans.interaction_id, thumbs: thumbs, reasons: codes, comment: text }).then(function () {
        if (then) { // the answer is recorded; the reasons stay open to add
          reasons.querySelectorAll("button,input,textarea").forEach(function (b) { b.disabled = false; });
          then();
          return;
        }
        var done = h("p", { class: "small", style: "margin:0", tabindex: "-1", text: t.thanks });
        box.replaceChildren(done);
        done.focus();
        say(t.thanks);
      }, function (err) {
        controls.forEach(function (b) { b.disabled = false; });
        fail(box, err.message);
      });
    }
    box.appendChild(row);
    box.appendChild(reasons);
    return box;
  }

  function fail(box, msg) { // announced by the live region, shown next to the control that failed
    say(msg);
    var p = box.querySelector(".ierr") || box.appendChild(h("p", { class: "small ierr", style: "margin:0;color:#8a1c1c" }));
    p.textContent = msg;
  }

  // "Contact support" first asks where to reply (with what the address is used for), then hands the conversation
  // over: its id and the last answer's; the server rebuilds the questions, answers and sources it recorded.
  function contactBox(ans) {
    var btn = h("button", { class: "btn" + (ans.abstained ? " primary" : ""), type: "button", text: t.contact,
      "aria-expanded": "false", onclick: function () {
        btn.setAttribute("aria-expanded", "true");
        btn.hidden = true;
        step.hidden = false;
        if (step.scrollIntoView) step.scrollIntoView({ block: "nearest" });
        email.focus();
      } });
    var eid = id("email"), cid = id("consent"), errId = id("email-err");
    var email = h("input", { type: "email", id: eid, name: "email", autocomplete: "email", inputmode: "email",
      maxlength: 254, required: true, spellcheck: "false", "aria-describedby": cid });
    var err = h("p", { id: errId, class: "small ierr", style: "margin:0;color:#8a1c1c", hidden: true });
    var send = h("button", { class: "btn primary", type: "submit", text: t.sendSupport });
    var cancel = h("button", { class: "btn", type: "button", text: t.cancel, onclick: function () {
      step.hidden = true; btn.hidden = false; btn.setAttribute("aria-expanded", "false"); btn.focus();
    } });
    var step = h("form", { class: "contact-step", novalidate: true, hidden: true, onsubmit: function (e) {
      e.preventDefault();
      var address = email.value.trim();
      if (address.length > 254 || !EMAIL.test(address)) {
        email.setAttribute("aria-invalid", "true");
        email.setAttribute("aria-describedby", cid + " " + errId);
        err.textContent = t.err.email;
        err.hidden = false;
        say(t.err.email);
        email.focus();
        return;
      }
      email.removeAttribute("aria-invalid");
      email.setAttribute("aria-describedby", cid);
      err.hidden = true;
      escalate(address);
    } }, [
      h("label", { for: eid, text: t.email }), email,
      h("p", { id: cid, class: "consent", text: t.consent }), err,
      h("div", { class: "row", style: "margin-top:8px" }, [send, cancel]),
    ]);
    function escalate(address) {
      send.disabled = cancel.disabled = email.disabled = true;
      say(t.escalating, "busy");
      var reason = ans.abstained ? "widget: no reliable answer" + (ans.escalation_reason ? " (" + ans.escalation_reason + ")" : "")
        : "widget: customer asked for a person";
      post("/v1/escalations", { interaction_id: ans.interaction_id || null, reason: reason.slice(0, 500), queue: "support",
        contact: address, conversation_id: conversationId }).then(function (res) {
        var thanks = t.escalated.replace("{email}", address);
        var done = h("p", { class: "confirm", style: "margin:0;font-size:14px", tabindex: "-1" },
          [thanks + " ", h("span", { class: "ref", text: t.ref + " " + String(res.id || "").slice(0, 64) })]);
        box.replaceChildren(done);
        box.classList.add("confirm");
        done.focus();
        say(thanks);
      }, function (e) { send.disabled = cancel.disabled = email.disabled = false; fail(box, e.message); });
    }
    var box = h("div", { class: "box" }, [h("span", { class: "small", text: t.contactHint }),
      h("div", { class: "row" }, [btn]), step]);
    return box;
  }

  // Host-page hooks without inline script: [data-deskpilot-open] opens the panel,
  // a form[data-deskpilot-ask] asks its first text field's value.
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-deskpilot-open]")) { e.preventDefault(); open(); }
  });
  document.addEventListener("submit", function (e) {
    var f = e.target.closest && e.target.closest("form[data-deskpilot-ask]");
    var field = f && f.querySelector("input[type=search],input[type=text],textarea");
    if (!field) return;
    e.preventDefault();
    if (field.value.trim()) window.deskpilot.ask(field.value); else open();
  });
  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.deskpilot = { version: "1", open: open, close: close,
    ask: function (q) { open(); question.value = String(q); ask(q); } };
})();
