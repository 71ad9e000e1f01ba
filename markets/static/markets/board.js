/* tradesite live board + candlestick chart. Plain JS, no build step.
 *
 * WebSocket /ws/tickers/ (server -> client):
 *   {type: "snapshot"|"tickers", tickers: [T...]}   replace the board
 *   {type: "ticker", ticker: T}                      a subscribed instrument changed
 *   {type: "subscribed"|"unsubscribed", symbols: []} acknowledgements
 *   {type: "error", message: "..."}
 * client -> server: {action: "subscribe"|"unsubscribe", symbols: ["upbit:BTC/KRW", ...]}
 * T carries decimal strings; change_rate is a fraction; any field may be null.
 */
(function () {
  "use strict";

  const app = document.getElementById("board-app");
  if (!app) return;

  const API = app.dataset.apiRoot || "/api/v1/";
  const WS_PATH = app.dataset.wsPath || "/ws/tickers/";
  const BOARD_SIZE = Number(app.dataset.boardSize) || 20;
  const KST_OFFSET = 9 * 3600; // Asia/Seoul has no DST: shift chart times so the chart's UTC labels read as KST
  const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "10m": 600, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400 };
  const UP = "#d62b2b", DOWN = "#1f5fd1", FLAT = "#5b6472";

  const $ = (id) => document.getElementById(id);
  const el = {
    body: $("board-body"), status: $("conn-status"), updated: $("board-updated"), note: $("board-note"),
    heading: $("board-heading"), valueNote: $("board-value-note"),
    search: $("search-input"), market: $("search-market"), results: $("search-results"),
    name: $("chart-name"), sub: $("chart-sub"), price: $("chart-price"), change: $("chart-change"),
    chart: $("chart"), message: $("chart-message"),
    intervals: Array.from(document.querySelectorAll(".intervals [data-interval]")),
  };

  const state = {
    rows: new Map(),     // key -> last rendered values of the board row
    board: [],           // current board tickers
    selected: null,      // {id, exchange, symbol, market, name_ko, name_en, quote}
    interval: app.dataset.defaultInterval || "1d",
    lastCandle: null,    // {time, open, high, low, close} in chart (KST-shifted) seconds
    candleRequest: null, // AbortController of the in-flight candle request
  };

  // ---------------------------------------------------------------- formatting

  const numberFormats = new Map();
  function nf(min, max) {
    const key = min + ":" + max;
    if (!numberFormats.has(key)) {
      numberFormats.set(key, new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max }));
    }
    return numberFormats.get(key);
  }

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  /** Decimal places for a price of this size; KRW and KRX prices drop trailing zeros. */
  function priceDigits(ref, quote, market) {
    const a = Math.abs(ref || 0);
    if (market === "krx") return 0;
    if (a >= 1000) return quote === "KRW" ? 0 : 2;
    if (a >= 100) return quote === "KRW" ? 1 : 2;
    if (a >= 1) return quote === "KRW" ? 2 : 4;
    if (a === 0) return 2;
    return Math.min(8, Math.max(4, Math.ceil(-Math.log10(a)) + 2)); // about 3 significant digits
  }

  function fmtPrice(value, t) {
    const n = num(value);
    if (n === null) return "—";
    const d = priceDigits(num(t.last_price) ?? n, t.quote, t.market);
    return nf(t.quote === "KRW" ? 0 : d, d).format(n);
  }

  function direction(t) {
    const c = num(t.change) ?? num(t.change_rate);
    if (c === null || c === 0) return "flat";
    return c > 0 ? "up" : "down";
  }

  function fmtChange(t) {
    const n = num(t.change);
    if (n === null) return "—";
    const arrow = n > 0 ? "▲ " : n < 0 ? "▼ " : "";
    return arrow + fmtPrice(Math.abs(n), t);
  }

  function fmtRate(t) {
    const r = num(t.change_rate);
    if (r === null) return "—";
    const pct = r * 100;
    return (pct > 0 ? "+" : "") + nf(2, 2).format(pct) + "%";
  }

  /** KRW in Korean units: 1조 2,345억 / 3,456억 / 12.3억 / 4,567만; other quotes plainly. */
  function fmtValue(value, quote) {
    const v = num(value);
    if (v === null) return "—";
    if (quote !== "KRW") return nf(0, 0).format(v) + (quote ? " " + quote : "");
    const a = Math.abs(v);
    if (a >= 1e12) {
      let jo = Math.floor(a / 1e12);
      let eok = Math.round((a - jo * 1e12) / 1e8);
      if (eok >= 10000) { jo += 1; eok -= 10000; }
      return jo.toLocaleString("en-US") + "조" + (eok ? " " + eok.toLocaleString("en-US") + "억" : "");
    }
    if (a >= 1e10) return nf(0, 0).format(a / 1e8) + "억";
    if (a >= 1e8) return nf(1, 1).format(a / 1e8) + "억";
    if (a >= 1e4) return nf(0, 0).format(a / 1e4) + "만";
    return nf(0, 0).format(a);
  }

  const kstTime = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const kstDateTime = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  const EXCHANGES = { upbit: "Upbit", bithumb: "Bithumb", krx: "KRX", binance: "Binance", binanceusdm: "Binance USD-M", bybit: "Bybit", bitmex: "BitMEX" };
  const keyOf = (t) => t.exchange + ":" + t.symbol;
  const exchangeLabel = (x) => EXCHANGES[x] || x || "";

  // -------------------------------------------------------------------- DOM

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function nameCell(t) {
    const td = h("td", "col-name");
    const top = h("div", "name-main");
    if (t.name_ko) {
      top.append(h("span", "name-ko", t.name_ko), " ", h("span", "sym", t.symbol));
    } else {
      top.append(h("span", "name-ko", t.symbol));
    }
    td.append(top);
    if (t.name_en) td.append(h("div", "name-en", t.name_en));
    return td;
  }

  // ------------------------------------------------------------------ board

  const NO_VALUE = "24시간 거래대금 없음: 이 녹화(캔들)에는 거래대금이 없습니다 · No 24h traded value: the recording (candles) has none";

  // The heading says how many rows are shown (never "Top 20" over fewer rows), and whether they
  // are ranked by traded value at all: rows without one come after, in a fixed order.
  function showCount(rows) {
    const missing = rows.filter((t) => num(t.traded_value_24h) === null).length;
    if (el.heading) {
      const n = rows.length;
      el.heading.textContent = !n ? "시세 · Board"
        : missing === n ? "원화 코인 " + n + "개 (거래대금 기록 없음) · " + n + " KRW " + (n === 1 ? "coin" : "coins") + " (no traded value recorded)"
        : "거래대금 상위 " + n + " · Top " + n + " by 24h traded value";
    }
    if (el.valueNote) el.valueNote.hidden = missing === 0;
  }

  function renderBoard(tickers) {
    state.board = tickers.slice(0, BOARD_SIZE);
    const previous = state.rows;
    const next = new Map();
    const frag = document.createDocumentFragment();

    state.board.forEach((t, i) => {
      const key = keyOf(t);
      const dir = direction(t);
      const values = {
        price: fmtPrice(t.last_price, t), change: fmtChange(t), rate: fmtRate(t),
        value: fmtValue(t.traded_value_24h, t.quote), rawPrice: num(t.last_price),
      };
      const old = previous.get(key);
      next.set(key, values);

      const tr = h("tr", "board-row");
      tr.dataset.key = key;
      tr.tabIndex = 0;
      if (state.selected && state.selected.id === t.id) tr.classList.add("selected");

      const exch = h("td", "col-exchange");
      exch.append(h("span", "badge badge-" + (t.exchange || "x"), exchangeLabel(t.exchange)));
      const price = h("td", "col-num price " + dir, values.price);
      const change = h("td", "col-num col-change " + dir, values.change);
      const rate = h("td", "col-num " + dir, values.rate);
      const value = h("td", "col-num col-value", values.value);
      if (t.quote === "KRW" && num(t.traded_value_24h) !== null) {
        value.title = "₩" + nf(0, 0).format(num(t.traded_value_24h));
      } else if (num(t.traded_value_24h) === null) {
        value.title = NO_VALUE;
        value.classList.add("no-value");
      }
      tr.append(h("td", "col-rank", String(i + 1)), nameCell(t), exch, price, change, rate, value);

      if (old) {
        // Cells are new elements each update, so adding the class (re)starts the CSS animation.
        if (old.price !== values.price) {
          const a = old.rawPrice, b = values.rawPrice;
          price.classList.add(a === null || b === null || a === b ? "flash" : b > a ? "flash-up" : "flash-down");
        }
        if (old.change !== values.change) change.classList.add("flash");
        if (old.rate !== values.rate) rate.classList.add("flash");
        if (old.value !== values.value) value.classList.add("flash");
      }
      frag.append(tr);
    });

    state.rows = next;
    showCount(state.board);
    if (!state.board.length) {
      const tr = h("tr", "board-empty");
      const td = h("td", null, "No tickers yet.");
      td.colSpan = 7;
      tr.append(td);
      frag.append(tr);
    }
    const focused = el.body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    el.body.replaceChildren(frag);
    if (focused) {
      const row = Array.from(el.body.rows).find((r) => r.dataset.key === focused);
      if (row) row.focus({ preventScroll: true }); // keep keyboard focus across updates
    }
    const replay = state.clock && state.clock.mode === "replay";
    const when = replay ? new Date(state.clock.now) : new Date();
    el.updated.textContent = (replay ? "Replay time " : "Updated ") + kstTime.format(when) + " KST";

    if (state.selected) {
      const mine = state.board.find((t) => t.id === state.selected.id);
      if (mine) applyTicker(mine);
    } else if (state.board.length) {
      select(state.board[0]); // nothing chosen yet: chart the top row
    }
  }

  function rowActivate(event) {
    const tr = event.target.closest("tr.board-row");
    if (!tr) return;
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    if (event.type === "keydown") event.preventDefault();
    const t = state.board.find((x) => keyOf(x) === tr.dataset.key);
    if (t) select(t);
  }
  el.body.addEventListener("click", rowActivate);
  el.body.addEventListener("keydown", rowActivate);

  function showNote(text) {
    el.note.textContent = text || "";
    el.note.hidden = !text;
  }

  // ------------------------------------------------------------ connection

  const STATUS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Offline · polling" };
  function setStatus(name, detail) {
    el.status.className = "conn conn-" + name;
    el.status.querySelector(".conn-label").textContent = STATUS[name] + (detail ? " " + detail : "");
  }

  const ws = { socket: null, attempt: 0, timer: null, subscribed: null, pollTimer: null };

  function connect() {
    clearTimeout(ws.timer);
    if (!("WebSocket" in window)) { startPolling(); return; }
    setStatus(ws.attempt ? "reconnecting" : "connecting");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + WS_PATH;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    ws.socket = socket;
    socket.addEventListener("open", () => {
      ws.subscribed = null;
      syncSubscription();
    });
    socket.addEventListener("message", (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (err) { return; }
      handleMessage(msg);
    });
    socket.addEventListener("close", () => {
      if (ws.socket !== socket) return;
      ws.socket = null;
      scheduleReconnect();
    });
    socket.addEventListener("error", () => { /* a close event follows */ });
  }

  function scheduleReconnect() {
    // Exponential backoff 1s, 2s, 4s ... capped at 30s, with jitter.
    const base = Math.min(30000, 1000 * 2 ** Math.min(ws.attempt, 5));
    const delay = Math.round(base * (0.6 + Math.random() * 0.4));
    ws.attempt += 1;
    setStatus("reconnecting", "in " + Math.ceil(delay / 1000) + "s");
    ws.timer = setTimeout(connect, delay);
    startPolling();
  }

  function send(payload) {
    if (ws.socket && ws.socket.readyState === WebSocket.OPEN) {
      ws.socket.send(JSON.stringify(payload));
      return true;
    }
    return false;
  }

  /** Keep exactly one per-symbol subscription: the charted instrument. */
  function syncSubscription() {
    const s = state.selected;
    const want = s && s.exchange && s.symbol ? keyOf(s) : null;
    if (want === ws.subscribed || !ws.socket || ws.socket.readyState !== WebSocket.OPEN) return;
    if (ws.subscribed) send({ action: "unsubscribe", symbols: [ws.subscribed] });
    if (want) send({ action: "subscribe", symbols: [want] });
    ws.subscribed = want;
  }

  function handleMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    switch (msg.type) {
      case "snapshot":
      case "tickers":
        ws.attempt = 0;
        stopPolling();
        setStatus("live");
        showNote("");
        if (msg.clock) state.clock = msg.clock; // the demo's replay clock (markets.clock)
        if (Array.isArray(msg.tickers)) renderBoard(msg.tickers);
        break;
      case "ticker":
        if (msg.ticker && state.selected && msg.ticker.id === state.selected.id) applyTicker(msg.ticker);
        break;
      case "error":
        showNote("Server: " + (msg.message || "error"));
        break;
      default: // "subscribed", "unsubscribed" and anything new: nothing to do
        break;
    }
  }

  // REST fallback while the WebSocket is down.
  function startPolling() {
    if (ws.pollTimer) return;
    const poll = async () => {
      try {
        const res = await fetch(API + "tickers/?top=" + BOARD_SIZE, { headers: { Accept: "application/json" } });
        if (!res.ok) throw new Error("HTTP " + res.status);
        const data = await res.json();
        const list = Array.isArray(data) ? data : data.results || [];
        if (ws.pollTimer) {
          showNote("");
          renderBoard(list);
          if (!ws.socket || ws.socket.readyState !== WebSocket.OPEN) setStatus("polling");
        }
      } catch (err) {
        showNote("Could not load tickers (" + err.message + ").");
      }
    };
    ws.pollTimer = setInterval(poll, 5000);
    poll();
  }

  function stopPolling() {
    clearInterval(ws.pollTimer);
    ws.pollTimer = null;
  }

  // ------------------------------------------------------------------ chart

  const LW = window.LightweightCharts;
  let chart = null, candles = null, volume = null;

  if (LW) {
    chart = LW.createChart(el.chart, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#2b3340", fontSize: 12, attributionLogo: true },
      grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
      rightPriceScale: { borderColor: "#d9dee6" },
      timeScale: { borderColor: "#d9dee6", rightOffset: 4 },
      crosshair: { mode: LW.CrosshairMode ? LW.CrosshairMode.Normal : 0 },
      localization: { locale: "en-US", dateFormat: "yyyy-MM-dd" },
    });
    candles = chart.addSeries(LW.CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN, wickUpColor: UP, wickDownColor: DOWN,
    });
    volume = chart.addSeries(LW.HistogramSeries, { priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false }, 1);
    const panes = chart.panes();
    if (panes[0]) panes[0].setStretchFactor(3);
    if (panes[1]) panes[1].setStretchFactor(1);
    // the hook of alerts/static/alerts/chart_levels.js (alert levels on the price axis)
    window.tradesiteChart = { chart, series: candles, selected: () => state.selected };
  } else {
    el.chart.textContent = "Chart library failed to load.";
  }

  function chartMessage(text) {
    el.message.textContent = text || "";
    el.message.hidden = !text;
  }

  function setIntervalButtons() {
    el.intervals.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.interval === state.interval)));
  }
  el.intervals.forEach((b) => b.addEventListener("click", () => {
    if (state.interval === b.dataset.interval) return;
    state.interval = b.dataset.interval;
    setIntervalButtons();
    writeHash();
    loadCandles();
  }));

  const chartTime = (iso) => Math.floor(Date.parse(iso) / 1000) + KST_OFFSET;

  async function loadCandles() {
    if (!state.selected || !chart) return;
    if (state.candleRequest) state.candleRequest.abort();
    const ctrl = new AbortController();
    state.candleRequest = ctrl;
    const id = state.selected.id;
    chartMessage("Loading…");
    let data;
    try {
      const url = API + "instruments/" + encodeURIComponent(id) + "/candles/?interval=" + encodeURIComponent(state.interval) + "&limit=1000";
      const res = await fetch(url, { signal: ctrl.signal, headers: { Accept: "application/json" } });
      data = await res.json().catch(() => null);
      if (!res.ok || !data) throw new Error(apiError(data, res));
    } catch (err) {
      if (err.name === "AbortError") return;
      clearChart();
      chartMessage(err.message || "Could not load candles.");
      return;
    } finally {
      if (state.candleRequest === ctrl) state.candleRequest = null;
    }
    if (!state.selected || state.selected.id !== id) return;
    if (data.instrument) mergeSelected(data.instrument);
    // offer only the intervals with candles (the API lists them); switch when this one has none
    if (Array.isArray(data.intervals) && data.intervals.length) {
      el.intervals.forEach((b) => { b.hidden = !data.intervals.includes(b.dataset.interval); });
      if (!data.intervals.includes(state.interval)) {
        state.interval = data.intervals.includes("1d") ? "1d" : data.intervals[0];
        el.intervals.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.interval === state.interval)));
        loadCandles();
        return;
      }
    }

    const bars = [], vols = [];
    let prev = -Infinity;
    for (const c of data.results || []) {
      const time = chartTime(c.open_time);
      const o = num(c.open), hi = num(c.high), lo = num(c.low), cl = num(c.close);
      if (!Number.isFinite(time) || time <= prev || [o, hi, lo, cl].includes(null)) continue;
      prev = time;
      bars.push({ time, open: o, high: hi, low: lo, close: cl });
      vols.push({ time, value: num(c.volume) || 0, color: cl >= o ? "rgba(214,43,43,0.45)" : "rgba(31,95,209,0.45)" });
    }
    const ref = bars.length ? bars[bars.length - 1].close : 0;
    const digits = priceDigits(ref, state.selected.quote, state.selected.market);
    const axis = nf(state.selected.quote === "KRW" ? 0 : digits, digits);
    candles.applyOptions({ priceFormat: { type: "custom", minMove: 1 / 10 ** digits, formatter: (p) => axis.format(p) } });
    chart.applyOptions({ timeScale: { timeVisible: state.interval !== "1d", secondsVisible: false } });
    candles.setData(bars);
    volume.setData(vols);
    state.lastCandle = bars.length ? Object.assign({}, bars[bars.length - 1]) : null;

    if (!bars.length) {
      chartMessage("No candles for this interval.");
      return;
    }
    chartMessage("");
    if (bars.length > 160) chart.timeScale().setVisibleLogicalRange({ from: bars.length - 160, to: bars.length + 3 });
    else chart.timeScale().fitContent();
    if (!el.price.textContent) showQuote({ last_price: String(ref), quote: state.selected.quote, market: state.selected.market });
  }

  function clearChart() {
    if (!chart) return;
    candles.setData([]);
    volume.setData([]);
    state.lastCandle = null;
  }

  function apiError(data, res) {
    const err = data && data.error;
    if (err && err.message) {
      const fields = err.fields && typeof err.fields === "object"
        ? Object.entries(err.fields).map(([k, v]) => k + ": " + [].concat(v).join(" ")).join("; ")
        : "";
      return fields && !err.message.includes(fields) ? err.message + " (" + fields + ")" : err.message;
    }
    if (data && data.detail) return String(data.detail);
    return "Request failed: HTTP " + res.status;
  }

  // -------------------------------------------------------------- selection

  function mergeSelected(info) {
    const s = Object.assign({}, state.selected, info);
    state.selected = {
      id: s.id, exchange: s.exchange, symbol: s.symbol, market: s.market,
      name_ko: s.name_ko, name_en: s.name_en, quote: s.quote,
    };
    renderTitle();
    syncSubscription();
  }

  function select(info) {
    if (!info || info.id === undefined || info.id === null) return;
    const changed = !state.selected || state.selected.id !== info.id;
    if (changed) {
      state.selected = null;
      el.price.textContent = "";
      el.change.textContent = "";
    }
    mergeSelected(info);
    for (const tr of el.body.querySelectorAll("tr.board-row")) {
      tr.classList.toggle("selected", tr.dataset.key === keyOf(state.selected));
    }
    writeHash();
    if (info.last_price !== undefined) applyTicker(info);
    if (changed) loadCandles();
    if (changed) document.dispatchEvent(new CustomEvent("tradesite:instrument", { detail: state.selected }));
  }

  function renderTitle() {
    const s = state.selected;
    el.name.textContent = s.name_ko || s.name_en || s.symbol || "Instrument #" + s.id;
    const parts = [];
    if (s.symbol) parts.push(s.symbol);
    if (s.name_ko && s.name_en) parts.push(s.name_en);
    if (s.exchange) parts.push(exchangeLabel(s.exchange));
    el.sub.textContent = parts.join(" · ");
  }

  function showQuote(t) {
    const dir = direction(t);
    el.price.textContent = fmtPrice(t.last_price, t) + (t.quote ? " " + t.quote : "");
    el.price.className = "chart-price " + dir;
    const bits = [];
    if (num(t.change) !== null) bits.push(fmtChange(t));
    if (num(t.change_rate) !== null) bits.push(fmtRate(t));
    if (t.time) bits.push(kstDateTime.format(new Date(t.time)).replace(",", "") + " KST");
    el.change.textContent = bits.join("  ");
    el.change.className = "chart-change " + dir;
  }

  /** A live ticker for the selected instrument: header quote + last candle close. */
  function applyTicker(t) {
    if (!state.selected || t.id !== state.selected.id) return;
    if (num(t.last_price) === null) return;
    const old = el.price.textContent;
    showQuote(Object.assign({ quote: state.selected.quote, market: state.selected.market }, t));
    if (old && old !== el.price.textContent) {
      el.price.classList.remove("flash");
      void el.price.offsetWidth; // restart the animation
      el.price.classList.add("flash");
    }
    const last = state.lastCandle;
    const ts = t.time ? chartTime(t.time) : NaN;
    const span = INTERVAL_SECONDS[state.interval];
    if (chart && last && span && ts >= last.time && ts < last.time + span) {
      const price = num(t.last_price);
      last.close = price;
      last.high = Math.max(last.high, price);
      last.low = Math.min(last.low, price);
      candles.update(Object.assign({}, last));
    } else if (chart && last && span && ts >= last.time + span) {
      // the tick opens the next candle (the chart is cut at the replay clock, so it forms here)
      const price = num(t.last_price);
      const time = last.time + Math.floor((ts - last.time) / span) * span;
      state.lastCandle = { time, open: price, high: price, low: price, close: price };
      candles.update(Object.assign({}, state.lastCandle));
    }
  }

  // ------------------------------------------------------------------ search

  const search = { timer: null, ctrl: null, items: [], active: -1 };

  function closeResults() {
    el.results.hidden = true;
    el.results.replaceChildren();
    el.search.setAttribute("aria-expanded", "false");
    el.search.removeAttribute("aria-activedescendant");
    search.items = [];
    search.active = -1;
  }

  async function runSearch() {
    const q = el.search.value.trim();
    if (!q) { closeResults(); return; }
    if (search.ctrl) search.ctrl.abort();
    const ctrl = new AbortController();
    search.ctrl = ctrl;
    const params = new URLSearchParams({ search: q, limit: "20" });
    if (el.market.value) params.set("market", el.market.value);
    try {
      const res = await fetch(API + "instruments/?" + params, { signal: ctrl.signal, headers: { Accept: "application/json" } });
      const data = await res.json().catch(() => null);
      if (!res.ok) throw new Error(apiError(data, res));
      showResults(Array.isArray(data) ? data : data.results || [], data && data.count);
    } catch (err) {
      if (err.name === "AbortError") return;
      showResults([], null, err.message);
    }
  }

  function showResults(items, count, error) {
    search.items = items;
    search.active = -1;
    const frag = document.createDocumentFragment();
    items.forEach((it, i) => {
      const li = h("li", "search-item");
      li.id = "search-opt-" + i;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      const main = h("div", "name-main");
      main.append(h("span", "name-ko", it.name_ko || it.name_en || it.symbol));
      main.append(" ", h("span", "sym", it.symbol));
      const sub = h("div", "name-en");
      sub.textContent = [it.name_ko ? it.name_en : "", exchangeLabel(it.exchange), it.segment, it.active === false ? "inactive" : ""]
        .filter(Boolean).join(" · ");
      li.append(main, sub);
      frag.append(li);
    });
    if (error || !items.length) frag.append(h("li", "search-empty", error || "No instruments found."));
    else if (count && count > items.length) frag.append(h("li", "search-empty", "Showing " + items.length + " of " + count + ": refine the search."));
    el.results.replaceChildren(frag);
    el.results.hidden = false;
    el.search.setAttribute("aria-expanded", "true");
  }

  function highlight(i) {
    const nodes = el.results.querySelectorAll(".search-item");
    if (!nodes.length) return;
    search.active = (i + nodes.length) % nodes.length;
    nodes.forEach((n, j) => n.setAttribute("aria-selected", String(j === search.active)));
    el.search.setAttribute("aria-activedescendant", nodes[search.active].id);
    nodes[search.active].scrollIntoView({ block: "nearest" });
  }

  function pick(i) {
    const it = search.items[i];
    if (!it) return;
    closeResults();
    el.search.value = "";
    select(it);
  }

  el.search.addEventListener("input", () => {
    clearTimeout(search.timer);
    search.timer = setTimeout(runSearch, 250);
  });
  el.market.addEventListener("change", () => { if (el.search.value.trim()) runSearch(); });
  el.search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(search.active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(search.active - 1); }
    else if (e.key === "Enter") { e.preventDefault(); clearTimeout(search.timer); if (search.active >= 0) pick(search.active); else if (search.items.length) pick(0); else runSearch(); }
    else if (e.key === "Escape") closeResults();
  });
  el.results.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the input
  el.results.addEventListener("click", (e) => {
    const li = e.target.closest(".search-item");
    if (li) pick(Number(li.dataset.index));
  });
  el.search.addEventListener("blur", () => setTimeout(closeResults, 100));

  // -------------------------------------------------------------- URL hash

  function writeHash() {
    const params = new URLSearchParams();
    if (state.selected) params.set("instrument", String(state.selected.id));
    params.set("interval", state.interval);
    history.replaceState(null, "", "#" + params);
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const iv = params.get("interval");
    if (iv && el.intervals.some((b) => b.dataset.interval === iv)) state.interval = iv;
    const id = Number(params.get("instrument"));
    return Number.isInteger(id) && id > 0 ? id : null;
  }

  // ------------------------------------------------------------------- start

  if (!el.intervals.some((b) => b.dataset.interval === state.interval)) state.interval = "1d";
  const initialId = readHash();
  setIntervalButtons();
  if (initialId) select({ id: initialId });
  connect();
})();
