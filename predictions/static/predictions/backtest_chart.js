// Equity curve of a prediction backtest against its benchmark (TradingView lightweight-charts,
// global LightweightCharts). Data: [{date, equity, benchmark}] from the json_script "equity-curve".
(function () {
  "use strict";
  var holder = document.getElementById("equity-chart");
  var source = document.getElementById("equity-curve");
  if (!holder || !source || typeof LightweightCharts === "undefined") {
    return;
  }
  var curve = JSON.parse(source.textContent);
  var chart = LightweightCharts.createChart(holder, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1d2430" },
    grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
    rightPriceScale: { borderColor: "#e3e7ee" },
    timeScale: { borderColor: "#e3e7ee" },
    localization: {
      priceFormatter: function (value) { return Math.round(value).toLocaleString("ko-KR"); },
    },
  });
  var equity = chart.addSeries(LightweightCharts.LineSeries, { color: "#d62b2b", lineWidth: 2, title: "equity" });
  var benchmark = chart.addSeries(LightweightCharts.LineSeries, {
    color: "#1f5fd1", lineWidth: 2, lineStyle: LightweightCharts.LineStyle.Dashed, title: "benchmark",
  });
  // session dates are business days ("YYYY-MM-DD"); the chart leaves out the days between
  equity.setData(curve.map(function (p) { return { time: p.date, value: p.equity }; }));
  benchmark.setData(curve.map(function (p) { return { time: p.date, value: p.benchmark }; }));
  chart.timeScale().fitContent();
})();
