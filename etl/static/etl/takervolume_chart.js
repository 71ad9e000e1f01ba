// admin > Taker volume > Chart: draws the rows of the #tv-data JSON (moved out of the template for the CSP)
(function () {
  var el = document.getElementById("tv-chart");
  if (!el || typeof LightweightCharts === "undefined") { return; }
  var rows = JSON.parse(document.getElementById("tv-data").textContent);
  var lc = LightweightCharts;
  var chart = lc.createChart(el, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#333" },
    timeScale: { timeVisible: true, secondsVisible: false },
    leftPriceScale: { visible: true },
    rightPriceScale: { visible: true },
    localization: { timeFormatter: function (t) { return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC"; } }
  });
  var buy = chart.addSeries(lc.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "right" });
  var sell = chart.addSeries(lc.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "right" });
  var ratio = chart.addSeries(lc.LineSeries, { color: "#1e88e5", lineWidth: 1, priceScaleId: "left" });
  buy.setData(rows.map(function (r) { return { time: r.time, value: r.buy, color: r.complete ? "#26a69a" : "#a7d9d3" }; }));
  sell.setData(rows.map(function (r) { return { time: r.time, value: -r.sell, color: r.complete ? "#ef5350" : "#f7b5b4" }; }));
  ratio.setData(rows.filter(function (r) { return r.ratio !== null; }).map(function (r) { return { time: r.time, value: r.ratio }; }));
  chart.timeScale().fitContent();
})();
