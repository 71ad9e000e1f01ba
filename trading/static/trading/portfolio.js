/* tradesite paper-trading page (/portfolio/). Plain JS, no build step.
 *
 * REST (session authentication; POSTs send X-CSRFToken):
 *   GET  /api/v1/portfolio/            positions marked to market + totals per currency
 *   GET  /api/v1/orders/?status=...    orders (limit/offset pages), GET /api/v1/fills/?limit=20
 *   GET  /api/v1/portfolio/history/    daily equity snapshots, oldest first
 *   POST /api/v1/orders/               place (201, or 200 when client_order_id was already used)
 *   POST /api/v1/orders/{id}/cancel/   cancel an open order (409 when no longer open)
 *   POST /api/v1/account/reset/        start over
 *   Errors: {error: {code, message, fields: {field: [msg]}}}; decimals are strings.
 * WebSocket /ws/account/ (server -> client): {type: "order"|"fill"|"cash"|"reset", ...}
 * WebSocket /ws/tickers/: {action: "subscribe", symbols: ["upbit:BTC/KRW"]} -> {type: "ticker", ticker: T}
 */
(function () {
  "use strict";

  const app = document.getElementById("pf-app");
  if (!app) return;

  const API = app.dataset.apiRoot || "/api/v1/";
  const ACCOUNT_WS = app.dataset.wsPath || "/ws/account/";
  const TICKER_WS = app.dataset.tickerWsPath || "/ws/tickers/";
  const REFRESH_DEBOUNCE_MS = 300;
  const PORTFOLIO_POLL_MS = 15000; // re-mark positions while the page is visible
  const FALLBACK_POLL_MS = 10000;  // full refresh while the account stream is down

  const $ = (id) => document.getElementById(id);
  const form = $("pf-order-form");
  const el = {
    conn: $("pf-conn"), priceConn: $("pf-price-conn"), updated: $("pf-updated"), note: $("pf-note"),
    reset: $("pf-reset"), summary: $("pf-summary"),
    search: $("pf-search"), market: $("pf-search-market"), results: $("pf-search-results"),
    instName: $("pf-inst-name"), instSub: $("pf-inst-sub"), instPrice: $("pf-inst-price"), instChange: $("pf-inst-change"),
    quantity: $("pf-quantity"), quantityHint: $("pf-quantity-hint"), limitPrice: $("pf-limit-price"),
    useLast: $("pf-use-last"), tif: $("pf-tif"), estimate: $("pf-estimate"),
    formError: $("pf-form-error"), formResult: $("pf-form-result"), submit: $("pf-submit"),
    session: $("pf-session"),
    limitOnly: Array.from(form.querySelectorAll(".pf-limit-only")),
    positions: $("pf-positions"), positionsMeta: $("pf-positions-meta"),
    lots: $("pf-lots"), lotsMeta: $("pf-lots-meta"), exit: $("pf-exit"),
    openOrders: $("pf-open-orders"), openMeta: $("pf-open-meta"),
    orders: $("pf-orders"), ordersMeta: $("pf-orders-meta"),
    fills: $("pf-fills"), fillsMeta: $("pf-fills-meta"),
    equityChart: $("pf-equity-chart"), equityMessage: $("pf-equity-message"),
    currencyButtons: Array.from(document.querySelectorAll("#pf-equity-currencies [data-currency]")),
    toasts: $("pf-toasts"),
  };

  const state = {
    instrument: null,      // the ticket's instrument (InstrumentSerializer shape)
    krxSession: null,      // GET sessions/krx/: {open, enforced, now, message} at the market's present
    ticker: null,          // its latest ticker
    instruments: new Map(), // id -> instrument, fetched once
    positions: new Map(),  // instrument id -> marked position row
    totals: new Map(),     // currency -> totals row
    orders: new Map(),     // order id -> order (for toasts)
    history: [],
    equityCurrency: "KRW",
    submitting: false,
    exactMoney: readUnits() === "exact", // the amounts toggle: 만 units or every won
  };

  function readUnits() {
    try { return window.localStorage.getItem("pf-units"); } catch (e) { return null; }
  }

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

  /** Decimal places for a price of this size (the board's rule); KRW and KRX drop trailing zeros. */
  function priceDigits(ref, quote, market) {
    const a = Math.abs(ref || 0);
    if (market === "krx") return 0;
    if (a >= 1000) return quote === "KRW" ? 0 : 2;
    if (a >= 100) return quote === "KRW" ? 1 : 2;
    if (a >= 1) return quote === "KRW" ? 2 : 4;
    if (a === 0) return 2;
    return Math.min(8, Math.max(4, Math.ceil(-Math.log10(a)) + 2));
  }

  function fmtPrice(value, quote, market) {
    const n = num(value);
    if (n === null) return "—";
    const d = priceDigits(n, quote, market);
    return nf(quote === "KRW" ? 0 : d, d).format(n);
  }

  /** A quantity as sent by the API, with grouping and without padding zeros. */
  function fmtQty(value) {
    const s = plainDecimal(value);
    if (s === null) return "—";
    const neg = s.startsWith("-");
    const [int, frac] = (neg ? s.slice(1) : s).split(".");
    return (neg ? "-" : "") + BigInt(int).toLocaleString("en-US") + (frac ? "." + frac : "");
  }

  /** Money: KRW in 만/억/조 (the board's convention), other currencies with 2 decimals; with the
   *  amounts toggle on "exact", every won ("12,345,678원") and up to 8 decimals elsewhere. */
  function fmtMoney(value, currency, opts) {
    const v = num(value);
    if (v === null) return "—";
    const signed = opts && opts.signed;
    const sign = v < 0 ? "−" : signed && v > 0 ? "+" : "";
    const a = Math.abs(v);
    let text;
    if (state.exactMoney) {
      text = currency === "KRW" ? exactDecimal(value, 0, 2) + "원" : exactDecimal(value, 2, 8);
    } else if (currency === "KRW") {
      if (a >= 1e12) {
        let jo = Math.floor(a / 1e12);
        let eok = Math.round((a - jo * 1e12) / 1e8);
        if (eok >= 10000) { jo += 1; eok -= 10000; }
        text = jo.toLocaleString("en-US") + "조" + (eok ? " " + eok.toLocaleString("en-US") + "억" : "");
      } else if (a >= 1e10) text = nf(0, 0).format(a / 1e8) + "억";
      else if (a >= 1e8) text = nf(1, 2).format(a / 1e8) + "억";
      else if (a >= 1e4) text = nf(0, 0).format(a / 1e4) + "만";
      else text = nf(0, 0).format(a);
    } else {
      text = nf(2, a !== 0 && a < 1 ? 6 : 2).format(a);
    }
    const suffix = opts && opts.unit && currency !== "KRW" ? " " + currency : "";
    return sign + text + suffix;
  }

  /** |value| grouped, from its decimal string when it is one (no float rounding), with
   *  between min and max decimals. */
  function exactDecimal(value, min, max) {
    const plain = typeof value === "string" ? plainDecimal(value) : null;
    if (plain === null) return nf(min, max).format(Math.abs(num(value)));
    const [int, frac = ""] = plain.replace(/^-/, "").split(".");
    let digits = frac.slice(0, max);
    while (digits.length < min) digits += "0";
    return BigInt(int).toLocaleString("en-US") + (digits ? "." + digits : "");
  }

  /** The full amount for a tooltip: ₩12,345,678 / 1,234.56 USDT. */
  function fullMoney(value, currency) {
    const v = num(value);
    if (v === null) return "";
    if (currency === "KRW") return (v < 0 ? "−₩" : "₩") + nf(0, 2).format(Math.abs(v));
    return nf(2, 8).format(v) + " " + currency;
  }

  function fmtPct(fraction) {
    const r = num(fraction);
    if (r === null) return "—";
    const text = nf(2, 2).format(Math.abs(r * 100));
    const zero = text === "0.00"; // no sign on a return that rounds to zero
    return (zero ? "" : r > 0 ? "+" : "−") + text + "%";
  }

  const dirOf = (value) => {
    const n = num(value);
    return n === null || n === 0 ? "flat" : n > 0 ? "up" : "down";
  };

  const kstDateTime = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const kstTime = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  function fmtWhen(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "—";
    return kstDateTime.format(d).replace(",", "").slice(5); // "11-21 14:03:22"
  }
  const fullWhen = (iso) => (iso ? kstDateTime.format(new Date(iso)).replace(",", "") + " KST" : "");

  const EXCHANGES = { upbit: "Upbit", bithumb: "Bithumb", krx: "KRX", binance: "Binance", binanceusdm: "Binance USD-M", bybit: "Bybit", bitmex: "BitMEX" };
  const exchangeLabel = (x) => EXCHANGES[x] || x || "";
  const STATUS_LABELS = { new: "Open", partially_filled: "Partly filled", filled: "Filled", canceled: "Canceled", rejected: "Rejected", expired: "Expired" };

  /** Orders and fills carry no quote currency: take it from the instrument when known, else
   *  from the symbol ("BTC/KRW" -> KRW; KRX codes such as "005930" trade in KRW). */
  function quoteOf(row) {
    const inst = state.instruments.get(row.instrument);
    if (inst && inst.quote) return inst.quote;
    const pos = state.positions.get(row.instrument);
    if (pos) return pos.position.quote;
    const sym = row.symbol || "";
    return sym.includes("/") ? sym.split("/").pop() : "KRW";
  }
  const marketOf = (row) => (row.exchange === "krx" ? "krx" : (state.instruments.get(row.instrument) || {}).market);

  // ---------------------------------------------------------------- decimals

  /** "1.2300" -> "1.23", "5e-7" -> "0.0000005"; null when not a plain non-negative/negative decimal. */
  function plainDecimal(value) {
    if (value === null || value === undefined || value === "") return null;
    let s = String(value).trim();
    if (/e/i.test(s)) {
      const n = Number(s);
      if (!Number.isFinite(n)) return null;
      s = n.toFixed(12);
    }
    if (!/^-?\d+(\.\d*)?$/.test(s)) return null;
    if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s.replace(/^(-?)0+(?=\d)/, "$1");
  }

  /** a - b on decimal strings, exactly. */
  function decSub(a, b) {
    const pa = plainDecimal(a) || "0", pb = plainDecimal(b) || "0";
    const places = Math.max((pa.split(".")[1] || "").length, (pb.split(".")[1] || "").length);
    const scaled = (s) => {
      const neg = s.startsWith("-");
      const [i, f = ""] = (neg ? s.slice(1) : s).split(".");
      const v = BigInt(i + f.padEnd(places, "0"));
      return neg ? -v : v;
    };
    let r = scaled(pa) - scaled(pb);
    const neg = r < 0n;
    if (neg) r = -r;
    let digits = r.toString().padStart(places + 1, "0");
    const out = places ? digits.slice(0, -places) + "." + digits.slice(-places) : digits;
    return plainDecimal((neg ? "-" : "") + out);
  }

  // -------------------------------------------------------------------- DOM

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function td(className, text, title) {
    const cell = h("td", className, text);
    if (title) cell.title = title;
    return cell;
  }

  function moneyCell(value, currency, opts) {
    const signed = opts && opts.signed;
    const cell = td("col-num" + (signed ? " " + dirOf(value) : ""), fmtMoney(value, currency, { signed, unit: true }), fullMoney(value, currency));
    return cell;
  }

  function symbolCell(row) {
    const cell = h("td", "col-name");
    const inst = state.instruments.get(row.instrument);
    const top = h("div", "name-main");
    if (inst && inst.name_ko) top.append(h("span", "name-ko", inst.name_ko), " ", h("span", "sym", row.symbol));
    else top.append(h("span", "name-ko", row.symbol || "#" + row.instrument));
    cell.append(top);
    if (row.exchange) {
      const sub = h("div", "name-en");
      sub.append(h("span", "badge badge-" + row.exchange, exchangeLabel(row.exchange)));
      cell.append(sub);
    }
    return cell;
  }

  function sideCell(side) {
    return td(side === "buy" ? "up pf-side-cell" : "down pf-side-cell", side === "buy" ? "Buy 매수" : side === "sell" ? "Sell 매도" : side || "—");
  }

  function emptyRow(tbody, colSpan, text) {
    const tr = h("tr", "board-empty");
    const cell = h("td", null, text);
    cell.colSpan = colSpan;
    tr.append(cell);
    tbody.replaceChildren(tr);
  }

  function showNote(text, link) {
    el.note.replaceChildren();
    if (text) el.note.append(text);
    if (link) el.note.append(" ", Object.assign(h("a", null, link.text), { href: link.href }));
    el.note.hidden = !text;
  }

  // ----------------------------------------------------------------- toasts

  /** Events this page already reported from its own request (the stream repeats them). */
  const announced = new Set();
  function markAnnounced(key) {
    announced.add(key);
    if (announced.size > 200) announced.delete(announced.values().next().value);
  }

  function toast(text, kind) {
    const node = h("div", "pf-toast" + (kind ? " pf-toast-" + kind : ""), text);
    el.toasts.append(node);
    while (el.toasts.children.length > 4) el.toasts.firstElementChild.remove();
    setTimeout(() => {
      node.classList.add("pf-toast-out");
      setTimeout(() => node.remove(), 400);
    }, kind === "error" ? 8000 : 5000);
  }

  // -------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, body) {
      const err = body && body.error;
      super((err && err.message) || (body && body.detail) || (status ? "Request failed: HTTP " + status : "Network error"));
      this.status = status;
      this.code = (err && err.code) || null;
      this.fields = (err && err.fields && typeof err.fields === "object") ? err.fields : {};
    }
  }

  function csrfToken() {
    const input = app.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  /** fetch JSON; throws ApiError on HTTP errors and TypeError on network failure. */
  async function api(path, opts) {
    const o = opts || {};
    const headers = { Accept: "application/json" };
    const init = { method: o.method || "GET", credentials: "same-origin", headers, signal: o.signal };
    if (init.method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
      if (o.body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(o.body);
      }
    }
    const res = await fetch(API + path, init);
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      if (res.status === 401 || res.status === 403) sessionProblem(err);
      throw err;
    }
    return { status: res.status, data };
  }

  function sessionProblem(err) {
    if (err.code === "not_authenticated" || err.status === 401) {
      showNote("Your session has ended.", { text: "Log in again", href: "/accounts/login/?next=" + encodeURIComponent(location.pathname + location.search) });
    }
  }

  const pageRows = (data) => (Array.isArray(data) ? data : (data && data.results) || []);

  async function instrumentInfo(id) {
    if (state.instruments.has(id)) return state.instruments.get(id);
    const { data } = await api("instruments/" + encodeURIComponent(id) + "/");
    state.instruments.set(data.id, data);
    return data;
  }

  // ------------------------------------------------------------- refreshing

  const refresh = { timer: null, running: false, again: false, pollTimer: null, fallbackTimer: null };

  /** Refresh account, positions, orders and fills, coalescing bursts of events. */
  function scheduleRefresh(delay) {
    clearTimeout(refresh.timer);
    refresh.timer = setTimeout(refreshAll, delay === undefined ? REFRESH_DEBOUNCE_MS : delay);
  }

  async function refreshAll() {
    if (refresh.running) { refresh.again = true; return; }
    refresh.running = true;
    try {
      const results = await Promise.allSettled([loadPortfolio(), loadOpenOrders(), loadRecentOrders(), loadFills(), loadLots()]);
      const failed = results.find((r) => r.status === "rejected");
      if (failed && !(failed.reason instanceof ApiError && (failed.reason.status === 401 || failed.reason.status === 403))) {
        showNote("Could not refresh: " + failed.reason.message);
      } else if (!failed && !el.note.querySelector("a")) {
        showNote("");
      }
      el.updated.textContent = "Updated " + kstTime.format(new Date()) + " KST";
    } finally {
      refresh.running = false;
      if (refresh.again) { refresh.again = false; scheduleRefresh(0); }
    }
  }

  // --------------------------------------------------------- account summary

  async function loadPortfolio() {
    const { data } = await api("portfolio/");
    state.positions = new Map();
    for (const row of data.positions || []) state.positions.set(row.position.instrument, row);
    state.totals = new Map((data.totals || []).map((t) => [t.currency, t]));
    renderSummary(data.totals || []);
    renderPositions(data.positions || []);
    renderTicketHints();
    return data;
  }

  function stat(label, value, currency, opts) {
    const wrap = h("div", "pf-stat");
    wrap.append(h("dt", null, label));
    const dd = h("dd", (opts && opts.signed ? dirOf(value) : ""), fmtMoney(value, currency, opts));
    dd.title = fullMoney(value, currency);
    wrap.append(dd);
    return wrap;
  }

  function renderSummary(totals) {
    const frag = document.createDocumentFragment();
    const order = ["KRW", "USDT"];
    const sorted = totals.slice().sort((a, b) => {
      const ia = order.indexOf(a.currency), ib = order.indexOf(b.currency);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.currency.localeCompare(b.currency);
    });
    for (const t of sorted) {
      const c = t.currency;
      const card = h("article", "pf-card");
      const head = h("header", "pf-card-head");
      head.append(h("h3", null, c));
      const retText = fmtPct(t.return_on_contributions);
      const ret = h("span", "pf-ret");
      ret.append(h("span", "muted small", "Return "),
        h("span", retText === "0.00%" ? "flat" : dirOf(t.return_on_contributions), retText));
      ret.title = "Return on what was paid in: " + fullMoney(t.contributions, c) + " (starting cash and rewards)";
      head.append(ret);
      card.append(head);

      const equity = h("div", "pf-equity");
      equity.append(h("span", "pf-equity-label muted small", "Equity"));
      const value = h("span", "pf-equity-value", fmtMoney(t.equity, c) + (c === "KRW" ? "" : " " + c));
      value.title = fullMoney(t.equity, c);
      equity.append(value);
      card.append(equity);

      const dl = h("dl", "pf-stats");
      const available = decSub(t.cash, t.reserved);
      dl.append(
        stat("Cash", t.cash, c),
        stat("Reserved", t.reserved, c),
        stat("Available", available, c),
        stat("Positions", t.positions_value, c),
        stat("Unrealized P&L", t.unrealized_pnl, c, { signed: true }),
        stat("Realized P&L", t.realized_pnl, c, { signed: true }),
      );
      card.append(dl);
      frag.append(card);
    }
    if (!sorted.length) frag.append(h("p", "muted", "No wallets yet."));
    el.summary.replaceChildren(frag);
  }

  el.reset.addEventListener("click", async () => {
    const ok = window.confirm(
      "Reset your paper account?\n\nOpen orders are canceled, positions are closed without trading, and each wallet goes back to its starting cash. Your order and fill history is kept."
    );
    if (!ok) return;
    el.reset.disabled = true;
    try {
      await api("account/reset/", { method: "POST" });
      toast("Account reset to its starting cash.", "info");
      scheduleRefresh(0);
      loadHistory();
    } catch (err) {
      toast("Reset failed: " + err.message, "error");
    } finally {
      el.reset.disabled = false;
    }
  });

  // --------------------------------------------------------------- positions

  function renderPositions(rows) {
    if (!rows.length) {
      emptyRow(el.positions, 8, "No positions. Buy something with the order ticket.");
      el.positionsMeta.textContent = "";
      return;
    }
    const frag = document.createDocumentFragment();
    let latest = null;
    for (const row of rows) {
      const p = row.position;
      const q = p.quote;
      const market = p.exchange === "krx" ? "krx" : undefined;
      const tr = h("tr");
      const qty = td("col-num", fmtQty(p.quantity));
      if (num(p.reserved_quantity)) {
        qty.append(h("div", "muted small", fmtQty(p.reserved_quantity) + " in orders"));
      }
      const last = td("col-num", fmtPrice(row.last_price, q, market), row.price_time ? "Price at " + fullWhen(row.price_time) : "No price yet");
      const pnl = moneyCell(row.unrealized_pnl, q, { signed: true });
      if (num(row.unrealized_return) !== null) {
        pnl.append(h("div", "small", fmtPct(row.unrealized_return)));
      }
      const action = h("td", "pf-col-action");
      const available = decSub(p.quantity, p.reserved_quantity);
      const sell = h("button", "pf-btn pf-btn-sell", "Sell all");
      sell.type = "button";
      sell.dataset.instrument = String(p.instrument);
      sell.dataset.quantity = available || "0";
      sell.disabled = !(num(available) > 0);
      sell.setAttribute("aria-label", "Sell all " + (p.symbol || "") + ": fill the order ticket");
      action.append(sell);
      tr.append(
        symbolCell(p), qty,
        td("col-num", fmtPrice(p.average_entry_price, q, market), "Average entry " + p.average_entry_price + " " + q),
        last,
        moneyCell(row.market_value, q),
        pnl,
        Object.assign(moneyCell(p.realized_pnl, q, { signed: true }), { className: "col-num pf-hide-phone " + dirOf(p.realized_pnl) }),
        action,
      );
      frag.append(tr);
      if (row.price_time && (!latest || row.price_time > latest)) latest = row.price_time;
    }
    el.positions.replaceChildren(frag);
    el.positionsMeta.textContent = rows.length + (rows.length === 1 ? " position" : " positions") + " · marked at the last price";
  }

  el.positions.addEventListener("click", async (event) => {
    const button = event.target.closest("button.pf-btn-sell");
    if (!button) return;
    const id = Number(button.dataset.instrument);
    try {
      const inst = await instrumentInfo(id);
      clearErrors();
      selectInstrument(inst);
      setRadio("side", "sell");
      setRadio("type", "market");
      el.quantity.value = button.dataset.quantity;
      onFormChange();
      form.scrollIntoView({ behavior: "smooth", block: "nearest" });
      el.quantity.focus({ preventScroll: true });
      showResult("Ticket filled: review and submit to sell all.", "info");
    } catch (err) {
      toast("Could not load the instrument: " + err.message, "error");
    }
  });

  // ------------------------------------------------------------------ orders

  async function loadOpenOrders() {
    // "Open" is new or partially filled; the status filter takes one value.
    const [fresh, partial] = await Promise.all([
      api("orders/?status=new&limit=100"),
      api("orders/?status=partially_filled&limit=100"),
    ]);
    const rows = pageRows(fresh.data).concat(pageRows(partial.data));
    rows.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
    rows.forEach(rememberOrder);
    await knowInstruments(rows);
    renderOpenOrders(rows, (fresh.data.count || 0) + (partial.data.count || 0));
  }

  async function loadRecentOrders() {
    const { data } = await api("orders/?limit=20");
    const rows = pageRows(data);
    rows.forEach(rememberOrder);
    await knowInstruments(rows);
    renderRecentOrders(rows, data.count);
  }

  function rememberOrder(order) {
    state.orders.set(order.id, order);
    if (state.orders.size > 500) state.orders.delete(state.orders.keys().next().value);
  }

  /** Fetch names and quotes of instruments shown in tables (once each, failures ignored). */
  async function knowInstruments(rows) {
    const missing = [...new Set(rows.map((r) => r.instrument))].filter((id) => id && !state.instruments.has(id)).slice(0, 20);
    await Promise.all(missing.map((id) => instrumentInfo(id).catch(() => null)));
  }

  function renderOpenOrders(rows, count) {
    if (!rows.length) {
      emptyRow(el.openOrders, 8, "No open orders.");
      el.openMeta.textContent = "";
      return;
    }
    const frag = document.createDocumentFragment();
    for (const o of rows) {
      const q = quoteOf(o), market = marketOf(o);
      const tr = h("tr");
      tr.dataset.orderId = String(o.id);
      const qty = td("col-num", fmtQty(o.filled_quantity) + " / " + fmtQty(o.quantity));
      const tif = td("pf-hide-phone", o.time_in_force || "—");
      if (o.expires_at) tif.title = "Expires " + fullWhen(o.expires_at);
      const action = h("td", "pf-col-action");
      const cancel = h("button", "pf-btn pf-btn-quiet pf-cancel", "Cancel");
      cancel.type = "button";
      cancel.dataset.orderId = String(o.id);
      cancel.setAttribute("aria-label", "Cancel order #" + o.id);
      action.append(cancel);
      tr.append(
        td(null, fmtWhen(o.created_at), fullWhen(o.created_at) + " · order #" + o.id),
        symbolCell(o),
        sideCell(o.side),
        td("col-num", o.limit_price ? fmtPrice(o.limit_price, q, market) : "Market"),
        qty,
        tif,
        num(o.reserved_cash) ? moneyCell(o.reserved_cash, q) : td("col-num pf-hide-phone muted", o.side === "sell" ? "qty" : "—"),
        action,
      );
      tr.children[6].classList.add("pf-hide-phone");
      frag.append(tr);
    }
    el.openOrders.replaceChildren(frag);
    el.openMeta.textContent = count > rows.length ? "Showing " + rows.length + " of " + count : rows.length + " open";
  }

  el.openOrders.addEventListener("click", async (event) => {
    const button = event.target.closest("button.pf-cancel");
    if (!button || button.disabled) return;
    const id = button.dataset.orderId;
    button.disabled = true;
    button.textContent = "Canceling…";
    try {
      const { data } = await api("orders/" + encodeURIComponent(id) + "/cancel/", { method: "POST" });
      markAnnounced("order:" + id + ":" + data.status);
      toast("Order #" + id + " (" + data.side + " " + data.symbol + ") " + data.status + ".", "info");
    } catch (err) {
      toast("Order #" + id + ": " + err.message, "error");
      button.textContent = "Cancel";
      button.disabled = false;
    }
    scheduleRefresh(0);
  });

  function renderRecentOrders(rows, count) {
    if (!rows.length) {
      emptyRow(el.orders, 8, "No orders yet.");
      el.ordersMeta.textContent = "";
      return;
    }
    const frag = document.createDocumentFragment();
    for (const o of rows) {
      const q = quoteOf(o), market = marketOf(o);
      const tr = h("tr");
      const qty = td("col-num", fmtQty(o.quantity));
      if (num(o.filled_quantity) && o.filled_quantity !== o.quantity && plainDecimal(o.filled_quantity) !== plainDecimal(o.quantity)) {
        qty.append(h("div", "muted small", fmtQty(o.filled_quantity) + " filled"));
      }
      const status = h("td");
      status.append(h("span", "pf-status pf-status-" + o.status, STATUS_LABELS[o.status] || o.status));
      tr.append(
        td(null, fmtWhen(o.created_at), fullWhen(o.created_at) + " · order #" + o.id),
        symbolCell(o),
        sideCell(o.side),
        td("pf-hide-phone", o.type === "limit" ? "Limit · " + o.time_in_force : "Market"),
        qty,
        td("col-num pf-hide-phone", o.limit_price ? fmtPrice(o.limit_price, q, market) : "—"),
        td("col-num", o.average_fill_price ? fmtPrice(o.average_fill_price, q, market) : "—"),
        status,
      );
      frag.append(tr);
    }
    el.orders.replaceChildren(frag);
    el.ordersMeta.textContent = count > rows.length ? "Latest " + rows.length + " of " + count : "";
  }

  // -------------------------------------------------------------------- lots

  async function loadLots() {
    const { data } = await api("lots/?open=true&limit=100");
    const rows = pageRows(data);
    renderLots(rows, data.count);
  }

  const EXIT_LABELS = { scheduled: "scheduled", deferred: "deferred", done: "sold", skipped: "skipped", rejected: "rejected" };

  function renderLots(rows, count) {
    if (!rows.length) {
      emptyRow(el.lots, 11, "No open lots. 보유 로트가 없습니다.");
      el.lotsMeta.textContent = "";
      return;
    }
    const frag = document.createDocumentFragment();
    for (const view of rows) {
      const lot = view.lot, q = lot.quote;
      const tr = h("tr");
      tr.append(
        td(null, lot.day, fullWhen(lot.opened_at) + " · order #" + lot.order),
        symbolCell(lot),
        td("col-num", fmtQty(lot.remaining) + " / " + fmtQty(lot.quantity)),
        td("col-num", fmtPrice(lot.price, q), "cost " + fullMoney(lot.cost, q)),
        td("col-num", String(view.holding_sessions)),
      );
      for (let i = 0; i < 5; i += 1) {
        const c = view.closes[i];
        if (!c || c.pnl === null) tr.append(td("col-num pf-hide-phone muted", "—", c ? c.day + ": no close yet" : ""));
        else {
          const cell = moneyCell(c.pnl, q, { signed: true });
          cell.classList.add("pf-hide-phone");
          cell.title = c.day + " close " + c.close + " " + q + " · " + fmtPct(num(c.ret));
          tr.append(cell);
        }
      }
      const exit = lot.exit_state ? (EXIT_LABELS[lot.exit_state] || lot.exit_state) + (lot.exit_after_sessions ? " · N=" + lot.exit_after_sessions : "") : "—";
      tr.append(td(lot.exit_state ? null : "muted", exit, lot.exit_note || ""));
      frag.append(tr);
    }
    el.lots.replaceChildren(frag);
    el.lotsMeta.textContent = count > rows.length ? "First " + rows.length + " of " + count : rows.length + (rows.length === 1 ? " lot" : " lots");
  }

  // ------------------------------------------------------------------- fills

  async function loadFills() {
    const { data } = await api("fills/?limit=20");
    const rows = pageRows(data);
    await knowInstruments(rows);
    renderFills(rows, data.count);
  }

  function renderFills(rows, count) {
    if (!rows.length) {
      emptyRow(el.fills, 7, "No fills yet.");
      el.fillsMeta.textContent = "";
      return;
    }
    const frag = document.createDocumentFragment();
    for (const f of rows) {
      const q = quoteOf(f), inst = state.instruments.get(f.instrument);
      const market = inst && inst.market;
      const row = Object.assign({ exchange: inst && inst.exchange }, f);
      const costs = (num(f.fee) || 0) + (num(f.tax) || 0);
      const fee = td("col-num pf-hide-phone", fmtMoney(costs, q, { unit: true }),
        "Fee " + fullMoney(f.fee, q) + (num(f.tax) ? " + tax " + fullMoney(f.tax, q) : ""));
      const tr = h("tr");
      tr.append(
        td(null, fmtWhen(f.created_at), fullWhen(f.created_at) + " · order #" + f.order),
        symbolCell(row),
        sideCell(f.side),
        td("col-num", fmtPrice(f.price, q, market), f.price + " " + q),
        td("col-num", fmtQty(f.quantity)),
        fee,
        f.side === "sell" ? moneyCell(f.realized_pnl, q, { signed: true }) : td("col-num muted", "—"),
      );
      frag.append(tr);
    }
    el.fills.replaceChildren(frag);
    el.fillsMeta.textContent = count > rows.length ? "Latest " + rows.length + " of " + count : "";
  }

  // ------------------------------------------------------------ order ticket

  const FIELDS = ["instrument", "side", "type", "quantity", "limit_price", "time_in_force", "exit_after_sessions"];
  const FIELD_INPUT = { instrument: el.search, quantity: el.quantity, limit_price: el.limitPrice, time_in_force: el.tif, exit_after_sessions: el.exit };

  const radioValue = (name) => (form.querySelector("input[name=" + name + "]:checked") || {}).value;
  function setRadio(name, value) {
    const input = form.querySelector("input[name=" + name + "][value=" + value + "]");
    if (input) input.checked = true;
  }

  function clearErrors() {
    for (const f of FIELDS) {
      const node = $("pf-err-" + f);
      if (node) { node.textContent = ""; node.hidden = true; }
      if (FIELD_INPUT[f]) FIELD_INPUT[f].removeAttribute("aria-invalid");
    }
    el.formError.textContent = "";
    el.formError.hidden = true;
  }

  function fieldError(field, message) {
    const node = $("pf-err-" + field);
    if (!node) return false;
    const target = node.closest(".pf-field");
    if (target && target.hidden) return false; // e.g. a limit_price error on a market ticket
    node.textContent = message;
    node.hidden = false;
    if (FIELD_INPUT[field]) FIELD_INPUT[field].setAttribute("aria-invalid", "true");
    return true;
  }

  function formError(message) {
    el.formError.textContent = message;
    el.formError.hidden = !message;
  }

  function showResult(message, kind) {
    el.formResult.textContent = message || "";
    el.formResult.className = "pf-form-result" + (kind ? " pf-result-" + kind : "");
    el.formResult.hidden = !message;
  }

  /** Put an API error next to the fields it names; the rest above the submit button. */
  function showApiError(err) {
    let placed = false;
    const rest = [];
    for (const [field, messages] of Object.entries(err.fields || {})) {
      const text = [].concat(messages).join(" ");
      if (fieldError(field, text)) placed = true;
      else rest.push(field === "non_field_errors" ? text : field + ": " + text);
    }
    if (rest.length) formError(rest.join(" "));
    else if (!placed) formError(err.message);
    const first = Object.keys(err.fields || {}).find((f) => FIELD_INPUT[f] && !$("pf-err-" + f).hidden);
    if (first) FIELD_INPUT[first].focus();
  }

  function selectInstrument(inst) {
    if (!inst) return;
    state.instruments.set(inst.id, inst);
    const changed = !state.instrument || state.instrument.id !== inst.id;
    state.instrument = inst;
    if (changed) {
      state.ticker = null;
      state.selectedAt = Date.now();
      el.limitPrice.value = "";
      delete el.limitPrice.dataset.touched;
      el.instPrice.textContent = "";
      el.instChange.textContent = "";
      showResult("");
    }
    el.instName.textContent = inst.name_ko || inst.name_en || inst.symbol;
    const sub = [inst.symbol];
    if (inst.name_ko && inst.name_en) sub.push(inst.name_en);
    sub.push(exchangeLabel(inst.exchange));
    if (inst.active === false) sub.push("inactive");
    el.instSub.textContent = sub.join(" · ");
    const err = $("pf-err-instrument");
    err.hidden = true;
    el.search.removeAttribute("aria-invalid");

    const url = new URL(location.href);
    url.searchParams.set("instrument", String(inst.id));
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    tickerFeed.sync();
    onFormChange();
  }

  function applyTicker(t) {
    const inst = state.instrument;
    if (!inst || !t || t.id !== inst.id || num(t.last_price) === null) return;
    const before = el.instPrice.textContent;
    state.ticker = t;
    state.tickerAt = t.fresh === false ? 0 : Date.now();
    const dir = dirOf(t.change_rate);
    el.instPrice.textContent = fmtPrice(t.last_price, inst.quote, inst.market) + " " + inst.quote;
    el.instPrice.className = "chart-price " + dir;
    const bits = [];
    if (num(t.change_rate) !== null) bits.push(fmtPct(t.change_rate));
    if (t.time) bits.push(fullWhen(t.time));
    el.instChange.textContent = bits.join("  ");
    el.instChange.className = "chart-change " + dir;
    if (before && before !== el.instPrice.textContent) {
      el.instPrice.classList.remove("flash");
      void el.instPrice.offsetWidth;
      el.instPrice.classList.add("flash");
    }
    // prefill an empty limit with the first price heard, never over what the user typed or cleared
    if (radioValue("type") === "limit" && !el.limitPrice.value && !el.limitPrice.dataset.touched) {
      el.limitPrice.value = plainDecimal(t.last_price) || "";
    }
    renderEstimate();
  }

  function onFormChange() {
    const side = radioValue("side"), type = radioValue("type");
    const limit = type === "limit";
    el.limitOnly.forEach((node) => { node.hidden = !limit; });
    form.querySelectorAll(".pf-buy-only").forEach((node) => { node.hidden = side !== "buy"; });
    if (limit && !el.limitPrice.value && state.ticker) el.limitPrice.value = plainDecimal(state.ticker.last_price) || "";
    const base = state.instrument ? (state.instrument.base || state.instrument.symbol) : "";
    el.submit.textContent = (side === "sell" ? "Sell" : "Buy") + (base ? " " + base : "") + (limit ? " · limit" : " · market");
    el.submit.className = "pf-submit " + (side === "sell" ? "pf-submit-sell" : "pf-submit-buy");
    renderTicketHints();
    renderEstimate();
  }

  function renderTicketHints() {
    const inst = state.instrument;
    if (!inst) { el.quantityHint.textContent = ""; return; }
    const bits = [];
    if (num(inst.lot_size)) bits.push("Step " + fmtQty(inst.lot_size));
    if (radioValue("side") === "sell") {
      const pos = state.positions.get(inst.id);
      const held = pos ? decSub(pos.position.quantity, pos.position.reserved_quantity) : "0";
      bits.push("Holding " + fmtQty(held) + " " + (inst.base || "") + " available");
    } else {
      const t = state.totals.get(inst.quote);
      if (t) bits.push("Cash available " + fmtMoney(decSub(t.cash, t.reserved), inst.quote, { unit: true }) + (inst.quote === "KRW" ? " KRW" : ""));
    }
    el.quantityHint.textContent = bits.join(" · ");
  }

  /** The ticket's price is live: the feed sent it fresh within the server's 60 s (TICKER_MAX_AGE). */
  const priceLive = () => Boolean(state.ticker && state.tickerAt && Date.now() - state.tickerAt < 60000);

  const isKrx = (inst) => Boolean(inst) && (inst.market === "krx" || inst.exchange === "krx");

  /** The server's message when KRX is outside its session at the market's present (the demo
   *  clock in a replay), for a KRX instrument; null otherwise. */
  function krxClosedMessage(inst) {
    const s = state.krxSession;
    return isKrx(inst) && s && !s.open && s.message ? s.message : null;
  }

  /** The session warning on the ticket: a market order would be refused, a limit order rests. */
  function renderSessionState(inst, limit) {
    if (!el.session) return null;
    const message = krxClosedMessage(inst);
    el.session.hidden = !message;
    if (message) {
      el.session.textContent = message + (limit
        ? " A limit order rests until the session opens · 지정가 주문은 장이 열릴 때까지 대기합니다."
        : " A market order cannot be placed now · 지금은 시장가 주문을 낼 수 없습니다 (장 시간 외).");
    }
    return message;
  }

  async function loadKrxSession() {
    try {
      state.krxSession = (await api("sessions/krx/")).data;
    } catch (err) {
      state.krxSession = null; // unknown: the server still refuses a closed-session order itself
    }
    renderEstimate();
  }

  /** A market order needs a live price and, on KRX, the session open: otherwise the button is
   *  disabled and says why. */
  function renderPriceState(inst, limit) {
    const live = priceLive();
    const label = el.priceConn.querySelector(".conn-label");
    const socketLive = el.priceConn.classList.contains("conn-live");
    if (socketLive && label) label.textContent = !inst || live ? "Price live" : "No live price";
    el.priceConn.classList.toggle("conn-noprice", socketLive && Boolean(inst) && !live);
    const closed = renderSessionState(inst, limit);
    const blocked = Boolean(inst) && !limit && (!live || Boolean(closed)) && !state.submitting;
    if (!state.submitting) el.submit.disabled = blocked;
    el.submit.title = !blocked ? ""
      : closed ? closed + " · 장 시간 외: 시장가 주문 불가 (지정가 주문은 가능)"
      : "No live price for " + inst.symbol + ": a market order cannot fill · 실시간 가격 없음 (지정가 주문은 가능)";
    return live;
  }

  function renderEstimate() {
    const inst = state.instrument;
    const qty = num(normalizeInput(el.quantity.value));
    const limit = radioValue("type") === "limit";
    const live = renderPriceState(inst, limit);
    const price = limit ? num(normalizeInput(el.limitPrice.value)) : live ? num(state.ticker.last_price) : null;
    el.estimate.replaceChildren();
    if (inst && !limit && !live) {
      el.estimate.textContent = state.ticker || Date.now() - (state.selectedAt || 0) > 4000
        ? "No live price for " + inst.symbol + " (not replayed in this demo, or the feed stopped): market orders are off; a limit order can wait. · 실시간 가격 없음: 시장가 주문 불가"
        : "Waiting for a live price… · 실시간 가격 대기 중";
      return;
    }
    if (!inst || qty === null || qty <= 0 || price === null) {
      el.estimate.textContent = "";
      return;
    }
    const total = qty * price;
    const label = radioValue("side") === "sell" ? "Est. proceeds " : "Est. cost ";
    const value = h("strong", null, fmtMoney(total, inst.quote, { unit: true }));
    value.title = fullMoney(total, inst.quote);
    el.estimate.append(label, value, h("span", "muted",
      (inst.quote === "KRW" ? " (" + fullMoney(Math.round(total), "KRW") + ")" : "") +
      " = " + fmtQty(normalizeInput(el.quantity.value)) + " × " + fmtPrice(price, inst.quote, inst.market) +
      (limit ? " limit" : " last") + ", before fees"));
  }

  const normalizeInput = (s) => String(s || "").replace(/[,\s_]/g, "");

  /** 32 random hex characters; crypto.randomUUID needs a secure context, getRandomValues does not. */
  function newClientOrderId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** POST the order; retry a lost request with the same client_order_id, so it is placed once. */
  async function placeOrder(body) {
    const delays = [600, 1500, 3000];
    for (let attempt = 0; ; attempt++) {
      try {
        return Object.assign(await api("orders/", { method: "POST", body }), { retried: attempt > 0 });
      } catch (err) {
        const transient = !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
        if (!transient || attempt >= delays.length || (err.name === "AbortError")) throw err;
        showResult("Connection problem, retrying…", "info");
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
      }
    }
  }

  async function submitOrder(event) {
    event.preventDefault();
    if (state.submitting) return;
    clearErrors();
    showResult("");
    const inst = state.instrument;
    const side = radioValue("side"), type = radioValue("type");
    const quantity = normalizeInput(el.quantity.value);
    const limitPrice = normalizeInput(el.limitPrice.value);
    const problems = {};
    if (!inst) problems.instrument = "Choose an instrument.";
    if (!/^\d+(\.\d+)?$/.test(quantity) || !(Number(quantity) > 0)) problems.quantity = "Enter a quantity greater than zero, like 0.01.";
    if (type === "limit" && (!/^\d+(\.\d+)?$/.test(limitPrice) || !(Number(limitPrice) > 0))) problems.limit_price = "Enter a limit price greater than zero.";
    if (Object.keys(problems).length) {
      for (const [field, message] of Object.entries(problems)) fieldError(field, message);
      FIELD_INPUT[Object.keys(problems)[0]].focus();
      return;
    }

    const body = { instrument: inst.id, side, type, quantity };
    const exitAfter = el.exit.value.trim();
    if (side === "buy" && exitAfter !== "") {
      if (!/^\d{1,2}$/.test(exitAfter) || Number(exitAfter) < 1 || Number(exitAfter) > 60) {
        fieldError("exit_after_sessions", "Enter a whole number of sessions from 1 to 60, or leave it empty.");
        el.exit.focus();
        return;
      }
      body.exit_after_sessions = Number(exitAfter);
    }
    if (type === "limit") {
      body.limit_price = limitPrice;
      body.time_in_force = el.tif.value;
    }
    body.client_order_id = newClientOrderId(); // one per submission, reused by the retries

    state.submitting = true;
    el.submit.disabled = true;
    const label = el.submit.textContent;
    el.submit.textContent = "Placing…";
    try {
      const { status, data, retried } = await placeOrder(body);
      rememberOrder(data);
      markAnnounced("order:" + data.id + ":" + data.status); // shown below the button instead
      const what = (data.side === "sell" ? "Sell " : "Buy ") + fmtQty(data.quantity) + " " + (data.symbol || inst.symbol);
      let outcome;
      if (data.status === "filled") outcome = "filled @ " + fmtPrice(data.average_fill_price, inst.quote, inst.market);
      else if (data.status === "new") outcome = "open at " + fmtPrice(data.limit_price, inst.quote, inst.market);
      else outcome = (STATUS_LABELS[data.status] || data.status).toLowerCase();
      // 200: this client_order_id was placed before, i.e. a retry after a lost answer found our own order
      const lead = status === 200 && !retried ? "Already placed: " : "Placed: ";
      showResult(lead + what + " " + outcome + " (order #" + data.id + ")" + (retried ? ", confirmed after a retry." : "."),
        data.status === "canceled" || data.status === "rejected" ? "warn" : "ok");
      scheduleRefresh(0);
    } catch (err) {
      if (err instanceof ApiError) showApiError(err);
      else formError("Network error: the order may not have reached the server. Check open orders before retrying.");
    } finally {
      state.submitting = false;
      el.submit.disabled = false;
      el.submit.textContent = label;
      renderEstimate();
    }
  }

  form.addEventListener("submit", submitOrder);
  form.addEventListener("change", (e) => {
    if (e.target.name === "side" || e.target.name === "type") onFormChange();
  });
  // Editing a field clears the error shown next to it.
  form.addEventListener("input", (e) => {
    const field = Object.keys(FIELD_INPUT).find((f) => FIELD_INPUT[f] === e.target);
    if (field && field !== "instrument") {
      const node = $("pf-err-" + field);
      node.hidden = true;
      node.textContent = "";
      e.target.removeAttribute("aria-invalid");
    }
  });
  el.quantity.addEventListener("input", renderEstimate);

  // ------------------------------------------------- 25 / 50 / 100 % of what is available

  const RULES = JSON.parse(($("pf-rules") || { textContent: "{}" }).textContent || "{}");

  /** Decimal places of a step such as "0.00000001" (8) or "1" (0). */
  const placesOf = (step) => ((plainDecimal(step) || "").split(".")[1] || "").length;

  function tickAt(inst, price) {
    if (num(inst.tick_size)) return num(inst.tick_size);
    const table = inst.exchange === "krx" ? RULES.ticks && RULES.ticks.krx
      : inst.exchange === "upbit" && inst.quote === "KRW" ? RULES.ticks && RULES.ticks["upbit:KRW"] : null;
    if (!table) return null;
    for (const [upper, tick] of table) if (upper === null || price < Number(upper)) return Number(tick);
    return null;
  }

  /** What one unit costs a buy: a market order's fill (last + slippage, up to the tick) or the
   *  limit, plus the exchange's fee, as the server charges it (trading.rules). */
  function buyUnitCost(inst, limit) {
    let price;
    if (limit) price = num(normalizeInput(el.limitPrice.value));
    else {
      const last = state.ticker ? num(state.ticker.last_price) : null;
      if (last === null) return null;
      price = last * (1 + (num(RULES.slippage_bps) || 0) / 1e4);
      const tick = tickAt(inst, price);
      if (tick) price = Math.ceil(price / tick - 1e-9) * tick;
    }
    if (price === null || !(price > 0)) return null;
    const fee = num((RULES.fee_bps || {})[inst.exchange]) || 0;
    return price * (1 + fee / 1e4);
  }

  /** floor(amount / step) x step as a decimal string with the step's places. */
  function floorToStep(amount, step) {
    const places = placesOf(step);
    const units = Math.floor(amount / Number(step) + 1e-9);
    const scaled = BigInt(Math.max(0, units)) * BigInt(Math.round(Number(step) * 10 ** places));
    const digits = scaled.toString().padStart(places + 1, "0");
    return places ? digits.slice(0, -places) + "." + digits.slice(-places) : digits;
  }

  function fillFraction(percent) {
    const inst = state.instrument;
    if (!inst) { fieldError("instrument", "Choose an instrument first. 먼저 종목을 고르세요."); return; }
    const step = plainDecimal(inst.lot_size) || (inst.market === "krx" || inst.exchange === "krx" ? RULES.share_lot : RULES.coin_lot) || "0.00000001";
    let quantity;
    if (radioValue("side") === "sell") {
      const pos = state.positions.get(inst.id);
      const held = pos ? decSub(pos.position.quantity, pos.position.reserved_quantity) : "0";
      // all of it exactly (a string, no float); a part rounded down to the step
      quantity = percent === 100 ? floorToStepExact(held, step) : floorToStep((num(held) || 0) * percent / 100, step);
    } else {
      const t = state.totals.get(inst.quote);
      const unit = buyUnitCost(inst, radioValue("type") === "limit");
      if (!t || unit === null) {
        fieldError("quantity", radioValue("type") === "limit" ? "Enter the limit price first. 지정가를 먼저 입력하세요." : "Waiting for a live price. 실시간 가격을 기다리는 중.");
        return;
      }
      const cashUnit = inst.quote === "KRW" ? 1 : 0.01;
      const budget = (num(decSub(t.cash, t.reserved)) || 0) * percent / 100 - 2 * cashUnit; // rounding room, as the bots keep
      quantity = floorToStep(Math.max(0, budget) / unit, step);
    }
    el.quantity.value = Number(quantity) > 0 ? plainDecimal(quantity) : "0";
    const node = $("pf-err-quantity");
    if (node) node.hidden = true;
    el.quantity.removeAttribute("aria-invalid");
    renderEstimate();
  }

  /** A decimal string rounded down to the step, exactly (for "100 %" of a position). */
  function floorToStepExact(value, step) {
    const places = placesOf(step);
    const plain = plainDecimal(value) || "0";
    const [int, frac = ""] = plain.split(".");
    const scaled = BigInt(int + frac.padEnd(places, "0").slice(0, places));
    const stepUnits = BigInt(Math.round(Number(step) * 10 ** places));
    const floored = (scaled / stepUnits) * stepUnits;
    const digits = floored.toString().padStart(places + 1, "0");
    return places ? digits.slice(0, -places) + "." + digits.slice(-places) : digits;
  }

  $("pf-fractions").addEventListener("click", (e) => {
    const button = e.target.closest("[data-percent]");
    if (button) fillFraction(Number(button.dataset.percent));
  });

  // ------------------------------------------------------ amounts: 만 units or exact won

  const unitButtons = Array.from(document.querySelectorAll("#pf-units [data-units]"));
  function showUnits() {
    unitButtons.forEach((b) => b.setAttribute("aria-pressed", String((b.dataset.units === "exact") === state.exactMoney)));
  }
  unitButtons.forEach((button) => button.addEventListener("click", () => {
    state.exactMoney = button.dataset.units === "exact";
    try { window.localStorage.setItem("pf-units", state.exactMoney ? "exact" : "man"); } catch (e) { /* private mode */ }
    showUnits();
    scheduleRefresh(0); // every table and card redrawn with the new amounts
    renderHistory();
    renderTicketHints();
    renderEstimate();
  }));
  showUnits();
  el.limitPrice.addEventListener("input", () => { el.limitPrice.dataset.touched = "1"; renderEstimate(); });
  el.useLast.addEventListener("click", () => {
    if (state.ticker) { el.limitPrice.value = plainDecimal(state.ticker.last_price) || ""; renderEstimate(); }
    el.limitPrice.focus();
  });

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
    const params = new URLSearchParams({ search: q, limit: "20", active: "true" });
    if (el.market.value) params.set("market", el.market.value);
    // The API lists matches by exchange and symbol, so "BTC" puts dozens of */BTC pairs before
    // BTC/KRW; ask for the pairs with that base ("BTC/") too and show those first.
    const byBase = /^[A-Za-z0-9]{2,12}$/.test(q) ? new URLSearchParams(Object.assign(Object.fromEntries(params), { search: q + "/" })) : null;
    try {
      const [all, base] = await Promise.all([
        api("instruments/?" + params, { signal: ctrl.signal }),
        byBase ? api("instruments/?" + byBase, { signal: ctrl.signal }).catch(() => null) : null,
      ]);
      const seen = new Set();
      const items = (base ? pageRows(base.data) : []).concat(pageRows(all.data))
        .filter((it) => !seen.has(it.id) && seen.add(it.id)).slice(0, 20);
      showResults(items, all.data && Math.max(all.data.count || 0, items.length));
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
      li.id = "pf-search-opt-" + i;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      const main = h("div", "name-main");
      main.append(h("span", "name-ko", it.name_ko || it.name_en || it.symbol), " ", h("span", "sym", it.symbol));
      const sub = h("div", "name-en", [it.name_ko ? it.name_en : "", exchangeLabel(it.exchange), it.segment].filter(Boolean).join(" · "));
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
    selectInstrument(it);
    el.quantity.focus();
  }

  el.search.addEventListener("input", () => {
    clearTimeout(search.timer);
    search.timer = setTimeout(runSearch, 250);
  });
  el.market.addEventListener("change", () => { if (el.search.value.trim()) runSearch(); });
  el.search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(search.active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(search.active - 1); }
    else if (e.key === "Enter") {
      e.preventDefault(); // never submit the order from the search box
      clearTimeout(search.timer);
      if (search.active >= 0) pick(search.active);
      else if (search.items.length) pick(0);
      else runSearch();
    } else if (e.key === "Escape") closeResults();
  });
  el.results.addEventListener("mousedown", (e) => e.preventDefault());
  el.results.addEventListener("click", (e) => {
    const li = e.target.closest(".search-item");
    if (li) pick(Number(li.dataset.index));
  });
  el.search.addEventListener("blur", () => setTimeout(closeResults, 100));

  // ------------------------------------------------------------ equity chart

  const LW = window.LightweightCharts;
  let chart = null, equityLine = null;
  if (LW) {
    chart = LW.createChart(el.equityChart, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#2b3340", fontSize: 12, attributionLogo: true },
      grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
      rightPriceScale: { borderColor: "#d9dee6" },
      timeScale: { borderColor: "#d9dee6", timeVisible: false },
      localization: { locale: "en-US", dateFormat: "yyyy-MM-dd" },
      handleScroll: false,
      handleScale: false,
    });
    equityLine = chart.addSeries(LW.LineSeries, {
      color: "#2d3f63", lineWidth: 2, pointMarkersVisible: true, pointMarkersRadius: 3,
      priceLineVisible: false,
    });
  } else {
    el.equityChart.textContent = "Chart library failed to load.";
  }

  function equityMessage(text) {
    el.equityMessage.textContent = text || "";
    el.equityMessage.hidden = !text;
  }

  async function loadHistory() {
    try {
      const { data } = await api("portfolio/history/");
      state.history = Array.isArray(data) ? data : pageRows(data);
      renderHistory();
    } catch (err) {
      equityMessage("Could not load the equity history: " + err.message);
    }
  }

  function renderHistory() {
    const c = state.equityCurrency;
    el.currencyButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.currency === c)));
    if (!chart) return;
    const points = [];
    let prev = "";
    for (const s of state.history) {
      if (s.currency !== c || num(s.equity) === null || !s.date || s.date <= prev) continue;
      prev = s.date;
      points.push({ time: s.date, value: num(s.equity) });
    }
    equityLine.applyOptions({
      priceFormat: {
        type: "custom",
        minMove: c === "KRW" ? 1 : 0.01,
        formatter: (v) => fmtMoney(v, c),
      },
    });
    equityLine.setData(points);
    if (!points.length) {
      equityMessage(state.history.length
        ? "No " + c + " snapshot yet (taken each day at 23:59 KST)."
        : "No daily snapshot yet (taken each day at 23:59 KST).");
      return;
    }
    equityMessage("");
    chart.timeScale().fitContent();
  }

  el.currencyButtons.forEach((b) => b.addEventListener("click", () => {
    if (state.equityCurrency === b.dataset.currency) return;
    state.equityCurrency = b.dataset.currency;
    renderHistory();
  }));

  // ---------------------------------------------------------- live sockets

  const STATUS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Offline · polling", offline: "Signed out" };

  /** A WebSocket that reconnects with exponential backoff (1 s .. 30 s, jittered). */
  function liveSocket(opts) {
    const s = { socket: null, attempt: 0, timer: null, stopped: false };
    function setStatus(name, detail) {
      opts.statusEl.className = "conn conn-" + (name === "offline" ? "reconnecting" : name);
      opts.statusEl.querySelector(".conn-label").textContent = (opts.labels && opts.labels[name]) || STATUS[name] + (detail ? " " + detail : "");
    }
    function connect() {
      clearTimeout(s.timer);
      if (s.stopped) return;
      if (!("WebSocket" in window)) { setStatus("polling"); if (opts.onDown) opts.onDown(); return; }
      setStatus(s.attempt ? "reconnecting" : "connecting");
      let socket;
      try {
        socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + opts.path);
      } catch (err) {
        schedule();
        return;
      }
      s.socket = socket;
      socket.addEventListener("open", () => {
        s.attempt = 0;
        setStatus("live");
        if (opts.onOpen) opts.onOpen();
      });
      socket.addEventListener("message", (event) => {
        let msg;
        try { msg = JSON.parse(event.data); } catch (err) { return; }
        if (msg && typeof msg === "object") opts.onMessage(msg);
      });
      socket.addEventListener("close", (event) => {
        if (s.socket !== socket) return;
        s.socket = null;
        if (event.code === 4401) { // not logged in: retrying will not help
          s.stopped = true;
          setStatus("offline");
          if (opts.onUnauthorized) opts.onUnauthorized();
          return;
        }
        schedule();
      });
      socket.addEventListener("error", () => { /* a close event follows */ });
    }
    function schedule() {
      const base = Math.min(30000, 1000 * 2 ** Math.min(s.attempt, 5));
      const delay = Math.round(base * (0.6 + Math.random() * 0.4));
      s.attempt += 1;
      setStatus("reconnecting", "in " + Math.ceil(delay / 1000) + "s");
      s.timer = setTimeout(connect, delay);
      if (opts.onDown) opts.onDown();
    }
    s.send = (payload) => {
      if (s.socket && s.socket.readyState === WebSocket.OPEN) { s.socket.send(JSON.stringify(payload)); return true; }
      return false;
    };
    s.isOpen = () => !!(s.socket && s.socket.readyState === WebSocket.OPEN);
    s.start = connect;
    s.retryNow = () => { if (!s.stopped && !s.socket) { s.attempt = 0; connect(); } };
    return s;
  }

  // Account events: refresh (debounced) and tell the user what happened.
  const accountFeed = liveSocket({
    path: ACCOUNT_WS,
    statusEl: el.conn,
    onOpen: () => { stopFallbackPolling(); scheduleRefresh(0); },
    onDown: startFallbackPolling,
    onUnauthorized: () => {
      stopFallbackPolling();
      showNote("The account stream needs a login.", { text: "Log in again", href: "/accounts/login/?next=" + encodeURIComponent(location.pathname + location.search) });
    },
    onMessage: (msg) => {
      if (["order", "fill", "cash", "reset"].includes(msg.type)) {
        scheduleRefresh();
        announce(msg);
      }
    },
  });

  async function orderFor(id) {
    if (state.orders.has(id)) return state.orders.get(id);
    try {
      const { data } = await api("orders/" + encodeURIComponent(id) + "/");
      rememberOrder(data);
      return data;
    } catch (err) {
      return null;
    }
  }

  async function announce(msg) {
    if (msg.type === "fill") {
      const o = await orderFor(msg.order_id);
      const q = o ? quoteOf(o) : "KRW";
      const what = o ? (o.side === "sell" ? "Sold " : "Bought ") + fmtQty(msg.quantity) + " " + o.symbol : "Filled " + fmtQty(msg.quantity);
      toast(what + " @ " + fmtPrice(msg.price, q, o ? marketOf(o) : undefined), o && o.side === "sell" ? "sell" : "buy");
    } else if (msg.type === "order") {
      await new Promise((resolve) => setTimeout(resolve, 400)); // let this page's own POST answer first
      const key = "order:" + msg.order_id + ":" + msg.status;
      if (announced.has(key)) return;
      markAnnounced(key);
      if (["canceled", "expired", "rejected"].includes(msg.status)) {
        const o = await orderFor(msg.order_id);
        toast("Order #" + msg.order_id + (o ? " (" + o.side + " " + o.symbol + ")" : "") + " " + msg.status + ".", msg.status === "rejected" ? "error" : "info");
      } else if (msg.status === "new") {
        toast("Order #" + msg.order_id + " is open.", "info");
      }
    } else if (msg.type === "cash") {
      const amount = num(msg.amount);
      if (amount !== null && msg.kind !== "deposit" && msg.kind !== "reset") {
        toast("Cash " + fmtMoney(amount, msg.currency, { signed: true, unit: true }) + (msg.currency === "KRW" ? " KRW" : "") + (msg.kind ? " (" + msg.kind + ")" : ""), "info");
      }
    } else if (msg.type === "reset") {
      loadHistory();
    }
  }

  function startFallbackPolling() {
    if (refresh.fallbackTimer) return;
    refresh.fallbackTimer = setInterval(() => scheduleRefresh(0), FALLBACK_POLL_MS);
  }
  function stopFallbackPolling() {
    clearInterval(refresh.fallbackTimer);
    refresh.fallbackTimer = null;
  }

  // Prices: one subscription, the ticket's instrument.
  const tickerFeed = liveSocket({
    path: TICKER_WS,
    statusEl: el.priceConn,
    labels: { live: "Price live", connecting: "Price…", polling: "No live price" },
    onOpen: () => { tickerFeed.subscribed = null; tickerFeed.sync(); },
    onMessage: (msg) => {
      if (msg.type === "ticker") applyTicker(msg.ticker);
      else if (msg.type === "error" && msg.message) showResult("Price feed: " + msg.message, "warn");
      // snapshot/tickers (the board) and acknowledgements: nothing to do here
    },
  });
  tickerFeed.subscribed = null;
  tickerFeed.sync = () => {
    const inst = state.instrument;
    const want = inst ? inst.exchange + ":" + inst.symbol : null;
    if (want === tickerFeed.subscribed || !tickerFeed.isOpen()) return;
    if (tickerFeed.subscribed) tickerFeed.send({ action: "unsubscribe", symbols: [tickerFeed.subscribed] });
    if (want) tickerFeed.send({ action: "subscribe", symbols: [want] });
    tickerFeed.subscribed = want;
  };

  // Keep positions marked while the page is visible; catch up when it becomes visible again.
  refresh.pollTimer = setInterval(() => {
    if (document.visibilityState === "visible") loadPortfolio().catch(() => {});
  }, PORTFOLIO_POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { scheduleRefresh(0); accountFeed.retryNow(); tickerFeed.retryNow(); }
  });

  // ------------------------------------------------------------------- start

  async function preselect() {
    const preset = new URLSearchParams(location.search).get("exit_after_sessions");
    if (preset && /^\d{1,2}$/.test(preset)) el.exit.value = preset; // e.g. from the discover list
    const id = Number(new URLSearchParams(location.search).get("instrument"));
    if (!Number.isInteger(id) || id <= 0) return;
    try {
      selectInstrument(await instrumentInfo(id));
    } catch (err) {
      fieldError("instrument", err.status === 404 ? "Instrument #" + id + " does not exist." : "Could not load instrument #" + id + ": " + err.message);
    }
  }

  setInterval(renderEstimate, 5000); // a price heard more than 60 s ago is no longer live
  loadKrxSession();
  setInterval(loadKrxSession, 15000); // the demo clock moves 60x: the session opens and closes
  onFormChange();
  refreshAll();
  loadHistory();
  preselect();
  accountFeed.start();
  tickerFeed.start();
})();
