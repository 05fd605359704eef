// The overview's live numbers: poll the JSON endpoint and update the page in place.
// Without JavaScript the page reloads itself (<meta http-equiv="refresh">); with it, that
// reload is cancelled and only the numbers change.
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
    document.getElementById("generated-at").textContent = o.generated_at;
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
