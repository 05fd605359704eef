// The overview's live numbers: poll the JSON endpoint and update the page in place.
// Without JavaScript the page reloads itself (<meta http-equiv="refresh"> inside
// <noscript>, which a browser running scripts never parses); with it, only the numbers
// change. The removal below is for a page saved without the <noscript> around it.
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = script.getAttribute("data-endpoint");
  var interval = parseInt(script.getAttribute("data-interval-ms"), 10) || 3000;
  var refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) { refresh.parentNode.removeChild(refresh); }

  function money(v) { return v === null ? "–" : "$" + Number(v).toFixed(4); }

  function set(field, value) {
    var nodes = document.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].textContent !== String(value)) {
        nodes[i].textContent = String(value);
        nodes[i].classList.add("changed");
      }
    }
  }

  function apply(o) {
    Object.keys(o.by_state).forEach(function (s) { set("state." + s, o.by_state[s]); });
    set("total", o.total);
    set("backlog", o.backlog);
    set("per_minute", o.per_minute === null ? "–" : o.per_minute);
    set("eta", o.eta);
    set("spend_usd", money(o.spend_usd));
    set("projected_usd", money(o.projected_usd));
    set("dead_count", o.dead.length);
    if (o.queue) {
      set("queue", o.queue.ready + " ready, " + o.queue.delayed + " delayed, " +
        o.queue.in_flight + " in flight, " + o.queue.dead + " dead");
    }
    if (o.quota) { quota(o.quota); }
    if (o.consumers) { consumers(o.consumers); }
    document.getElementById("generated-at").textContent = o.generated_at;
  }

  function quota(q) {
    set("quota.summary", q.summary);
    set("quota.requests", q.requests_text);
    set("quota.tokens", q.tokens_text);
    set("quota.last_grant", q.last_grant);
    [["quota.requests_pct", q.requests_pct], ["quota.tokens_pct", q.tokens_pct]].forEach(function (b) {
      var bar = document.querySelector('[data-bar="' + b[0] + '"]');
      if (bar) {
        bar.style.width = Math.min(b[1], 100) + "%";
        bar.classList.toggle("hot", b[1] >= 90);
      }
    });
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (text !== null) { td.textContent = text; }
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }

  // The running consumers' rows, rebuilt from the JSON (text only: nothing is parsed as HTML).
  function consumers(list) {
    var body = document.getElementById("consumers-body");
    if (!body) { return; }
    var running = 0;
    var rows = document.createDocumentFragment();
    list.forEach(function (c) {
      if (!c.stale) { running += 1; }
      var tr = document.createElement("tr");
      if (c.stale) { tr.className = "lost"; }
      var who = cell(tr, null);
      var strong = document.createElement("strong");
      strong.textContent = c.host;
      who.appendChild(strong);
      who.appendChild(document.createTextNode(" pid " + c.pid));
      who.appendChild(document.createElement("br"));
      var meta = document.createElement("span");
      meta.className = "meta small";
      meta.textContent = "tubeq " + c.version + " · " + c.concurrency + " at once";
      who.appendChild(meta);
      var pill = document.createElement("span");
      pill.className = "pill " + (c.stale ? "state-dead" : (c.state === "stopping" ? "state-retrying" : "state-done"));
      pill.textContent = c.status;
      cell(tr, null).appendChild(pill);
      var work = cell(tr, null);
      if (c.current.length === 0) {
        var idle = document.createElement("span");
        idle.className = "meta";
        idle.textContent = "idle";
        work.appendChild(idle);
      }
      c.current.forEach(function (v) {
        var code = document.createElement("code");
        code.textContent = v;
        work.appendChild(code);
        work.appendChild(document.createTextNode(" "));
      });
      [c.done, c.failed, c.retried, c.dead].forEach(function (n) { cell(tr, String(n)); });
      cell(tr, c.started);
      cell(tr, c.seen_ago + " ago");
      rows.appendChild(tr);
    });
    if (list.length === 0) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = cell(tr, "None running: start one with tubeq consume.", "meta");
      td.colSpan = 9;
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
    set("consumers_running", running);
  }

  function poll() {
    fetch(endpoint, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (o) { if (o) { apply(o); } })
      .catch(function () { /* the server restarting: try again next time */ })
      .then(function () { window.setTimeout(poll, interval); });
  }
  window.setTimeout(poll, interval);
})();
