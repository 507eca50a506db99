// AdWatch 运行监控 and 抓取计划: live crawl figures, the live log tail, the items-per-crawl chart, and the plans page
// following the scheduler. No inline scripts (CSP).
(function () {
  "use strict";
  var POLL_MS = 1000;

  function duration(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + "时" : "") + (h || m ? m + "分" : "") + s + "秒";
  }
  function getJSON(url, done) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(done)
      .catch(function () { window.setTimeout(function () { getJSON(url, done); }, POLL_MS * 3); });
  }
  function fill(scope, run) {
    ["pages", "items", "hits", "errors"].forEach(function (name) {
      var cell = scope.querySelector('[data-field="' + name + '"]');
      if (cell) { cell.textContent = run[name]; }
    });
    var time = scope.querySelector('[data-field="seconds"]');
    if (time) { time.textContent = duration(run.seconds); }
    scope.setAttribute("data-state", run.state);
  }
  function live(state) { return state === "running" || state === "stopping"; }

  // One crawl: append new log lines and refresh the figures until the crawl has ended and its log is read.
  var log = document.getElementById("log");
  if (log) {
    var stats = document.getElementById("run-stats"), offset = 0;
    var tail = function () {
      getJSON(log.getAttribute("data-log-url") + "?offset=" + offset, function (data) {
        var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        if (data.lines.length) { log.appendChild(document.createTextNode(data.lines.join("\n") + "\n")); }
        if (atBottom) { log.scrollTop = log.scrollHeight; }
        offset = data.offset;
        fill(stats, data.run);
        var label = stats.querySelector('[data-field="state"]');
        if (label && !live(data.run.state)) {
          label.textContent = data.state_label;
          stats.querySelectorAll("form").forEach(function (form) { form.remove(); });
        }
        log.setAttribute("data-lines", String(log.textContent.split("\n").length - 1));
        if (live(data.run.state) || data.lines.length) { window.setTimeout(tail, POLL_MS); }
      });
    };
    tail();
  }

  // The list of crawls: refresh the figures of the rows shown; a crawl that is new or has ended reloads the page.
  var table = document.getElementById("crawls");
  if (table) {
    var refresh = function () {
      getJSON(table.getAttribute("data-live-url"), function (data) {
        var changed = false;
        data.runs.forEach(function (run) {
          var row = table.querySelector('tr[data-run="' + run.id + '"]');
          if (!row) { changed = changed || live(run.state); return; }
          changed = changed || row.getAttribute("data-state") !== run.state;
          fill(row, run);
        });
        if (changed) { window.location.replace("/monitor"); return; }
        window.setTimeout(refresh, POLL_MS * 2);
      });
    };
    window.setTimeout(refresh, POLL_MS * 2);
  }

  // 抓取计划: while the running scheduler has not yet loaded an edited plan, look again shortly.
  var service = document.getElementById("service");
  if (service && service.getAttribute("data-running") === "1" && service.getAttribute("data-current") === "0") {
    window.setTimeout(function () { window.location.replace("/plans"); }, POLL_MS);
  }

  // Items per crawl over time, one line per site.
  var chart = document.getElementById("items-chart"), series = document.getElementById("items-series");
  if (chart && series && typeof echarts !== "undefined") {
    var lines = JSON.parse(series.textContent).map(function (s) {
      return { name: s.name, type: "line", showSymbol: true, data: s.data };
    });
    echarts.init(chart).setOption({
      tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
      grid: { left: 50, right: 20, bottom: 40, top: 50 },
      xAxis: { type: "time" }, yAxis: { type: "value", minInterval: 1 },
      series: lines
    });
    chart.setAttribute("data-rendered", "1");
  }
})();
