// /taker-volume/: taker buy (up) vs sell (down) histograms and the buy ratio (left scale) from
// the page's json_script "tv-data" ([{time, buy, sell, ratio, complete}], time = UTC seconds
// shifted by the Seoul offset, so the axis reads KST). TradingView lightweight-charts 5.
(function () {
  "use strict";
  const box = document.getElementById("tv-chart");
  const node = document.getElementById("tv-data");
  const LW = window.LightweightCharts;
  if (!box || !node || !LW) return;
  const rows = JSON.parse(node.textContent);
  if (!rows.length) return;
  const pad = (n) => String(n).padStart(2, "0");
  const kst = (t) => {
    const d = new Date(t * 1000); // already shifted: read it as UTC
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " KST";
  };
  const chart = LW.createChart(box, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#333" },
    grid: { vertLines: { color: "#f0f2f5" }, horzLines: { color: "#f0f2f5" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#cfd6e0" },
    leftPriceScale: { visible: true },
    rightPriceScale: { visible: true },
    localization: { timeFormatter: kst },
  });
  // Korean convention: buys red, sells blue; pale = an incomplete window
  const buy = chart.addSeries(LW.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "right", title: "buy" });
  const sell = chart.addSeries(LW.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "right", title: "sell" });
  const ratio = chart.addSeries(LW.LineSeries, { color: "#444", lineWidth: 1, priceScaleId: "left", title: "buy ratio" });
  buy.setData(rows.map((r) => ({ time: r.time, value: r.buy, color: r.complete ? "#d62b2b" : "#f2b3b3" })));
  sell.setData(rows.map((r) => ({ time: r.time, value: -r.sell, color: r.complete ? "#1f5fd1" : "#b3c9f2" })));
  ratio.setData(rows.filter((r) => r.ratio !== null).map((r) => ({ time: r.time, value: r.ratio })));
  chart.timeScale().fitContent();
})();
