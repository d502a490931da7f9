// The web view's stylesheet and its one small script, served as files so the
// pages can forbid inline script and style (Content-Security-Policy).
export const STYLE_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; } th, td { padding: .25em .6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .ok { color: #11772e; } .bad { color: #b3261e; font-weight: 600; } .running { color: #8a5a00; } .muted { color: #777; }
pre { background: #f7f7f7; padding: .5em; max-width: 100em; overflow: auto; white-space: pre-wrap; } a { color: #0b57d0; }
.live { font-size: .85em; } form.filters label { margin-right: 1em; } .key { margin: .2em 0; }
`;

export const APP_JS = `
"use strict";
(function () {
  var body = document.body, stream = body.getAttribute("data-stream"), refresh = body.getAttribute("data-refresh");
  var live = document.getElementById("live");
  if (!stream || !window.EventSource) return;
  function cls(outcome, ok) { return outcome === "running" ? "running" : ok ? "ok" : "bad"; }
  function row(e) {
    return document.querySelector('tr[data-rollout="' + e.rolloutId + '"][data-host="' + CSS.escape(e.host) + '"]');
  }
  function setCell(tr, name, text, className) {
    var td = tr && tr.querySelector("." + name);
    if (!td) return;
    td.textContent = text;
    if (className !== undefined) td.className = name + " " + className;
  }
  function resync() {
    if (!refresh) return;
    fetch(refresh, { headers: { accept: "text/html" } }).then(function (r) { return r.ok ? r.text() : null; }).then(function (t) {
      var target = document.getElementById("live-part");
      if (t !== null && target) target.innerHTML = t;
    }).catch(function () {});
  }
  var source = new EventSource(stream);
  source.onopen = function () { if (live) live.textContent = "live"; resync(); };
  source.onerror = function () { if (live) live.textContent = "disconnected; retrying"; };
  source.onmessage = function (m) {
    var e = JSON.parse(m.data);
    if (e.kind === "host_started") setCell(row(e), "status", "running", "running");
    else if (e.kind === "host_finished") { var tr = row(e); setCell(tr, "status", e.outcome, cls(e.outcome, e.ok)); setCell(tr, "reason", e.ok ? "" : e.message); }
    else if (e.kind === "finished") {
      document.querySelectorAll('[data-rollout-state="' + e.rolloutId + '"]').forEach(function (el) { el.textContent = e.outcome; el.className = cls(e.outcome, e.ok); });
    } else if (e.kind === "started" && !document.querySelector('[data-rollout-state="' + e.rolloutId + '"]')) resync();
    var log = document.getElementById("event-log");
    if (log && (!log.getAttribute("data-rollout") || log.getAttribute("data-rollout") === String(e.rolloutId))) {
      var li = document.createElement("li");
      li.textContent = new Date(e.at).toISOString().slice(11, 23) + " " + e.kind + (e.host ? " " + e.host : "") + (e.outcome ? " [" + e.outcome + "]" : "") + " " + e.message;
      log.appendChild(li);
    }
  };
})();
`;
