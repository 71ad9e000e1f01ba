// Backtest chart: the strategy's equity against buy-and-hold, one point per day (at the open).
// Data comes from the page itself (json_script "bt-curve"); the chart is TradingView
// lightweight-charts 5 (global LightweightCharts), served from node_modules by Django.
(function () {
  "use strict";

  const box = document.getElementById("bt-chart");
  const message = document.getElementById("bt-chart-message");
  const dataNode = document.getElementById("bt-curve");

  function say(text) {
    message.textContent = text;
    message.hidden = false;
  }

  if (!box || !dataNode) return;
  const LW = window.LightweightCharts;
  if (!LW) {
    say("The chart library did not load.");
    return;
  }
  const curve = JSON.parse(dataNode.textContent);
  if (!curve.equity.length) {
    say("No days in this backtest.");
    return;
  }

  const krw = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
  const chart = LW.createChart(box, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#333" },
    grid: { vertLines: { color: "#f0f2f5" }, horzLines: { color: "#f0f2f5" } },
    // equity over years spans orders of magnitude: a log scale keeps early moves readable
    rightPriceScale: { mode: LW.PriceScaleMode.Logarithmic },
    localization: { priceFormatter: (value) => krw.format(value) },
    // years of days on one screen: let fitContent squeeze bars below the default half pixel
    timeScale: { borderColor: "#cfd6e0", minBarSpacing: 0.001 },
  });
  const equity = chart.addSeries(LW.LineSeries, { color: "#d32f2f", lineWidth: 2, title: "strategy" });
  const hold = chart.addSeries(LW.LineSeries, { color: "#1565c0", lineWidth: 1, title: "buy-and-hold" });
  equity.setData(curve.equity);
  hold.setData(curve.buy_and_hold);
  chart.timeScale().fitContent();
})();
