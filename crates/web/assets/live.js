// Live updates for the explorer's pages (progressive enhancement: every page
// reads the same without this script). It subscribes to the node's WebSocket
// (/ws) for what the page shows (body data-live) and, when that changes,
// fetches the page again and swaps its <main>, keeping focus and scroll.
"use strict";
(function () {
  var body = document.body;
  var kind = body.getAttribute("data-live");
  var subject = body.getAttribute("data-subject");
  if (!kind || !("WebSocket" in window)) return;
  var status = document.getElementById("live-status");
  var pending = false;
  var last = 0;
  var MIN_GAP_MS = 1000;

  function refresh() {
    if (pending) return;
    var wait = Math.max(0, last + MIN_GAP_MS - Date.now());
    pending = true;
    setTimeout(function () {
      fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          pending = false;
          last = Date.now();
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("main");
          var main = document.getElementById("main");
          if (!fresh || !main) return;
          var active = document.activeElement && document.activeElement.id;
          main.innerHTML = fresh.innerHTML;
          if (active && main.contains(document.getElementById(active))) {
            document.getElementById(active).focus();
          }
          var live = doc.body.getAttribute("data-live");
          if (live !== kind) { kind = live; resubscribe(); }
          if (status) status.textContent = status.getAttribute("data-updated") || "Updated";
          main.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { pending = false; });
    }, wait);
  }

  var socket = null;
  function subscriptions() {
    if (kind === "chain") return [{ subscribe: "blocks" }, { subscribe: "mempool" }];
    if (kind === "blocks") return [{ subscribe: "blocks" }];
    if (kind === "tx") return [{ subscribe: "blocks" }];
    if (kind === "address") return [{ subscribe: "blocks" }, { subscribe: "address", address: subject }];
    return [];
  }
  function resubscribe() {
    if (socket) { socket.onclose = null; socket.close(); }
    connect(1000);
  }
  function connect(backoff) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.onopen = function () {
      backoff = 1000;
      subscriptions().forEach(function (s) { socket.send(JSON.stringify(s)); });
      body.setAttribute("data-live-connected", "true");
    };
    socket.onmessage = function (m) {
      var e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      if (e.type === "block" || e.type === "mempool_tx" || e.type === "address") refresh();
    };
    socket.onclose = function () {
      body.removeAttribute("data-live-connected");
      setTimeout(function () { connect(Math.min(backoff * 2, 30000)); }, backoff);
    };
  }
  connect(1000);
})();
