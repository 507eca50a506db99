// AdWatch console: select-all in the queue, a progress line on slow forms and the ECharts charts. No inline scripts (CSP forbids them).
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('#queue input[name="hit_id"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
  // A form that may take a while (a transfer captures the evidence its ads lack) says so while it works.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var line = form.querySelector(".busy-line");
      if (line) { line.textContent = form.getAttribute("data-busy"); line.hidden = false; }
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    });
  });
  if (typeof echarts === "undefined") { return; }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function bar(node, pairs, horizontal) {
    var names = pairs.map(function (p) { return p[0]; }), values = pairs.map(function (p) { return p[1]; });
    var category = { type: "category", data: names, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
    var value = { type: "value", minInterval: 1 };
    echarts.init(node).setOption({
      tooltip: { trigger: "axis" }, grid: { left: horizontal ? 160 : 40, right: 20, bottom: 60, top: 10 },
      xAxis: horizontal ? value : category, yAxis: horizontal ? category : value,
      series: [{ type: "bar", data: values, itemStyle: { color: "#9f1d20" } }]
    });
  }
  function trend(node, pairs) {
    var days = pairs.map(function (p) { return p[0]; });
    var marks = days.filter(function (d) { return d.slice(5) === "11-11"; }).map(function (d) { return { xAxis: d }; });
    echarts.init(node).setOption({
      tooltip: { trigger: "axis" }, grid: { left: 40, right: 20, bottom: 40, top: 20 },
      xAxis: { type: "category", data: days }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "line", data: pairs.map(function (p) { return p[1]; }), smooth: true,
                 markLine: { symbol: "none", label: { formatter: "双十一" }, data: marks } }]
    });
  }
  function prices(node, rows) {
    echarts.init(node).setOption({
      tooltip: { trigger: "axis" }, legend: { data: ["售价", "划线价/原价"] },
      grid: { left: 50, right: 20, bottom: 40, top: 30 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.observed_at.slice(0, 16).replace("T", " "); }) },
      yAxis: { type: "value", scale: true },
      series: [{ name: "售价", type: "line", step: "end", data: rows.map(function (r) { return r.price; }) },
               { name: "划线价/原价", type: "line", step: "end", data: rows.map(function (r) { return r.reference_price; }) }]
    });
  }
  var data = readJSON("chart-data");
  document.querySelectorAll("[data-chart]").forEach(function (node) {
    var kind = node.getAttribute("data-chart");
    if (kind === "prices") { prices(node, readJSON("chart-prices") || []); }
    else if (data && kind === "day") { trend(node, data.day); }
    else if (data) { bar(node, data[kind], kind === "article" || kind === "site"); }
    node.setAttribute("data-rendered", "1");
  });
})();
