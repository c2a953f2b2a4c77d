// District roll-up dashboard: ECharts drawn from the roll-up's JSON endpoint (the same
// stored figures as the Excel and the PDF). The tables on the page stay readable without it.
(function () {
  "use strict";
  var holder = document.getElementById("rollup-data");
  if (!holder || typeof window.echarts === "undefined") { return; }
  var cur = holder.dataset.current + "年", prev = holder.dataset.previous + "年";
  var RED = "#b71c1c", GREY = "#9e9e9e";
  function pct(list) { return list.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }); }
  function draw(box, categories, current, previous, percent) {
    box.style.width = "100%";
    box.style.height = "300px";
    var chart = window.echarts.init(box);
    chart.setOption({
      title: { text: box.dataset.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 24, data: [cur, prev] },
      grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: categories, axisLabel: { interval: 0 } },
      yAxis: percent ? { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } } : { type: "value", minInterval: 1 },
      series: [
        { name: cur, type: "bar", data: current, itemStyle: { color: RED }, label: { show: true, position: "top", formatter: percent ? "{c}%" : "{c}" } },
        { name: prev, type: "bar", data: previous, itemStyle: { color: GREY } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  fetch(holder.dataset.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      if (!data.ready) { return; }
      var c = data.charts;
      document.querySelectorAll(".rollup-chart").forEach(function (box) {
        var key = box.dataset.chart;
        if (key === "completion_distribution") { draw(box, c[key].bands, c[key].current, c[key].previous, false); }
        if (key === "score_distribution") { draw(box, c[key].bands, c[key].current, c[key].previous, false); }
        if (key === "completion_by_kind") { draw(box, c[key].kinds, pct(c[key].current), pct(c[key].previous), true); }
        if (key === "year_over_year") { draw(box, c[key].labels, pct(c[key].current), pct(c[key].previous), true); }
      });
    });
})();
