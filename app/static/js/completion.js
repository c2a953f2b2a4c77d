// Completion overview: a bar chart of each school's plan completion rate (Apache ECharts,
// served locally). Data come from the data-chart attribute; the table stays the source of
// truth and is all that shows when ECharts is not installed.
(function () {
  "use strict";
  var box = document.getElementById("completion-chart");
  if (!box || typeof window.echarts === "undefined") { return; }
  var data;
  try { data = JSON.parse(box.dataset.chart || "{}"); } catch (e) { return; }
  if (!data.names || !data.names.length) { return; }
  var card = document.getElementById("completion-chart-card");
  if (card) { card.classList.remove("d-none"); }
  var label = box.dataset.label || "完成率";
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var many = data.names.length > 12;
  box.style.width = "100%";
  box.style.height = Math.max(260, many ? data.names.length * 22 + 60 : 320) + "px";
  var chart = window.echarts.init(box);
  var category = { type: "category", data: data.names, axisLabel: { interval: 0, rotate: many ? 0 : 30 } };
  var value = { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  chart.setOption({
    grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: function (items) {
        var i = items[0].dataIndex;
        return esc(data.names[i]) + "<br>" + esc(label) + "：" + data.rates[i] + "%（" + data.done[i] + "/" + data.planned[i] + "）";
      }
    },
    // Many schools: horizontal bars, one row each, so long Chinese names stay readable.
    xAxis: many ? value : category,
    yAxis: many ? Object.assign({}, category, { inverse: true }) : value,
    series: [{
      type: "bar",
      name: label,
      data: data.rates,
      itemStyle: { color: "#b71c1c" },
      label: { show: true, position: many ? "right" : "top", formatter: "{c}%" }
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
