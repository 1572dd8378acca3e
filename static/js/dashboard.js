/* The dashboard's charts, drawn by Chart.js (served from static/vendor, no outside network). */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var font = { family: '"Noto Sans CJK SC", "Noto Sans SC", sans-serif' };
  Chart.defaults.font.family = font.family;
  Chart.defaults.animation = false;
  var isEnglish = document.documentElement.lang === "en";
  var words = isEnglish
    ? { volume: "Cases", onTime: "On-time %", satisfaction: "Satisfaction %", resolution: "Resolution %", rank: "On-time %" }
    : { volume: "受理量", onTime: "按期答复率%", satisfaction: "满意率%", resolution: "解决率%", rank: "按期答复率%" };

  var trend = document.getElementById("trend-chart");
  if (trend) {
    new Chart(trend, {
      data: {
        labels: data.months,
        datasets: [
          { type: "bar", label: words.volume, data: data.volume, yAxisID: "y", backgroundColor: "rgba(155, 28, 28, 0.35)" },
          { type: "line", label: words.onTime, data: data.on_time_rate, yAxisID: "rate", borderColor: "#1d4ed8", spanGaps: true },
          { type: "line", label: words.satisfaction, data: data.satisfaction_rate, yAxisID: "rate", borderColor: "#047857", spanGaps: true },
          { type: "line", label: words.resolution, data: data.resolution_rate, yAxisID: "rate", borderColor: "#b45309", spanGaps: true }
        ]
      },
      options: {
        responsive: true,
        scales: {
          y: { beginAtZero: true, position: "left" },
          rate: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false } }
        }
      }
    });
  }

  var ranking = document.getElementById("ranking-chart");
  if (ranking) {
    new Chart(ranking, {
      type: "bar",
      data: {
        labels: data.departments,
        datasets: [{ label: words.rank, data: data.department_on_time, backgroundColor: "rgba(29, 78, 216, 0.6)" }]
      },
      options: { indexAxis: "y", responsive: true, scales: { x: { min: 0, max: 100 } } }
    });
  }
})();
