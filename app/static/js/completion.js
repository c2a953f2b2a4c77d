// Completion overview: a bar chart of each school's plan completion rate (Apache ECharts,
// served locally). The page carries one page of the table; the chart covers every school and
// reads its data from the URL in data-url (JSON, fetched after the page is shown). The table
// stays the source of truth and is all that shows when ECharts is not installed or the fetch
// fails.
(function () {
  "use strict";
  var box = document.getElementById("completion-chart");
  if (!box || !box.dataset.url || typeof window.echarts === "undefined") { return; }
  var label = box.dataset.label || "完成率";
  fetch(box.dataset.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) { if (data) { draw(data); } })
    .catch(function () { /* no chart: the table is all there is */ });
  function draw(data) {
    if (!data.names || !data.names.length) { return; }
    var card = document.getElementById("completion-chart-card");
    if (card) { card.classList.remove("d-none"); }
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
  }
})();
