// /derivatives/: the front future's 1-minute chart (GET /api/v1/instruments/{id}/candles/?interval=1m,
// candles built from the KIS executions) and live prices from /ws/tickers/ (subscribe to the future
// and the chain's options; each "ticker" message updates its last price). Read-only: no orders here.
// Symbols come from the page (json_script "deriv-live"); times are shown in KST.
(function () {
  "use strict";

  const app = document.getElementById("derivatives-app");
  const liveNode = document.getElementById("deriv-live");
  if (!app || !liveNode) return;
  const live = JSON.parse(liveNode.textContent);
  const conn = document.getElementById("deriv-conn");
  const STATUS = { connecting: "연결 중 · Connecting…", live: "실시간 · Live", reconnecting: "재연결 중 · Reconnecting…" };
  const KST_OFFSET = 9 * 3600; // lightweight-charts draws UTC: shift so the axis reads KST

  function setStatus(state) {
    if (!conn) return;
    conn.className = "conn conn-" + state;
    const label = conn.querySelector(".conn-label");
    if (label) label.textContent = STATUS[state] || state;
  }

  // ---- chart ----
  const box = document.getElementById("deriv-chart");
  const message = document.getElementById("deriv-chart-message");
  let series = null;

  function say(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  function nextDay(day) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  function loadCandles() {
    const url = app.dataset.candlesUrl;
    if (!url || !series) return;
    const day = app.dataset.day;
    // a night session runs past midnight: take its day and the next (end dates are inclusive)
    const query = "?interval=1m&limit=2000&start=" + day + "&end=" + nextDay(day);
    fetch(url + query, { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((body) => {
        const bars = body.results.map((c) => ({
          time: Math.floor(Date.parse(c.open_time) / 1000) + KST_OFFSET,
          open: Number(c.open),
          high: Number(c.high),
          low: Number(c.low),
          close: Number(c.close),
        }));
        series.setData(bars);
        say(bars.length ? "" : "1분봉이 아직 없습니다 · No 1-minute candles yet");
        if (bars.length) chartObj.timeScale().fitContent();
      })
      .catch(() => say("차트를 불러오지 못했습니다 · Could not load the chart"));
  }

  let chartObj = null;
  if (box && window.LightweightCharts) {
    const LW = window.LightweightCharts;
    chartObj = LW.createChart(box, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#333" },
      grid: { vertLines: { color: "#f0f2f5" }, horzLines: { color: "#f0f2f5" } },
      timeScale: { borderColor: "#cfd6e0", timeVisible: true, secondsVisible: false },
    });
    series = chartObj.addSeries(LW.CandlestickSeries, {
      upColor: "#d62b2b", borderUpColor: "#d62b2b", wickUpColor: "#d62b2b",
      downColor: "#1f5fd1", borderDownColor: "#1f5fd1", wickDownColor: "#1f5fd1",
    });
    loadCandles();
    setInterval(loadCandles, 30000); // a new minute's bar every 30 s at most
  } else if (box) {
    say("차트 라이브러리를 불러오지 못했습니다 · The chart library did not load");
  }

  // ---- live prices ----
  const symbols = [live.future, ...(live.options || [])].filter(Boolean);
  if (!symbols.length || !("WebSocket" in window)) return;
  const cells = {};
  document.querySelectorAll("[data-symbol]").forEach((node) => {
    (cells[node.dataset.symbol] = cells[node.dataset.symbol] || []).push(node);
  });
  const timeFormat = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function plain(value) {
    if (value === null || value === undefined || value === "") return "-";
    const n = Number(value);
    return Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: 6 }) : "-";
  }

  function flash(node, text) {
    if (!node || node.textContent === text) return;
    node.textContent = text;
    node.classList.add("flash");
    setTimeout(() => node.classList.remove("flash"), 600);
  }

  function update(ticker) {
    const key = ticker.exchange + ":" + ticker.symbol;
    for (const node of cells[key] || []) {
      if (node.tagName === "DL") {
        flash(node.querySelector('[data-field="last"]'), plain(ticker.last_price));
        const change = node.querySelector('[data-field="change"]');
        if (change && ticker.change !== null) {
          const n = Number(ticker.change);
          flash(change, (n > 0 ? "+" : "") + plain(ticker.change));
          change.className = n > 0 ? "up" : n < 0 ? "down" : "";
        }
        flash(node.querySelector('[data-field="volume"]'), plain(ticker.volume_24h));
        if (ticker.time) flash(node.querySelector('[data-field="time"]'), timeFormat.format(new Date(ticker.time)) + " KST");
      } else {
        flash(node, plain(ticker.last_price));
      }
    }
  }

  let attempt = 0;
  function connect() {
    setStatus(attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + app.dataset.wsPath);
    socket.onopen = () => {
      attempt = 0;
      setStatus("live");
      socket.send(JSON.stringify({ action: "subscribe", symbols: symbols.slice(0, 50) }));
    };
    socket.onmessage = (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "ticker" && data.ticker) update(data.ticker);
    };
    socket.onclose = () => {
      attempt += 1;
      setStatus("reconnecting");
      setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(attempt, 5)));
    };
  }
  connect();
})();
