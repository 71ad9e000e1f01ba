/* Alert levels on the board's chart: click the price axis to set a crossing alert at that price;
   the user's active alerts on the charted instrument are drawn as dashed price lines.
   Plain JS, no build step. Hooks (markets/static/markets/board.js): window.tradesiteChart =
   {chart, series, selected()} and the "tradesite:instrument" event when the charted instrument
   changes. Needs a login: logged out (the script tag's data-authenticated is empty) it asks for no
   lines, and a click opens the alerts page with the level filled in. URLs come from the tag
   (data-api, data-page: {% url %} in the template). */
(function () {
  "use strict";
  const tag = document.currentScript;
  const hook = window.tradesiteChart;
  if (!hook || !hook.chart || !hook.series) return;
  const { chart, series } = hook;
  const container = document.getElementById("chart");
  const API = (tag && tag.dataset.api) || "/api/v1/alerts/";
  const PAGE = (tag && tag.dataset.page) || "/alerts/";
  const AUTHENTICATED = Boolean(tag && tag.dataset.authenticated);
  const COLOR = "#7b1fa2";
  let lines = [];

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  /** A level with the precision the axis shows: 6 significant digits, no float noise. */
  function roundLevel(price) {
    if (!(price > 0)) return null;
    const digits = Math.max(0, 6 - Math.floor(Math.log10(price)) - 1);
    return Number(price.toFixed(Math.min(digits, 8)));
  }

  function levelText(value) {
    return String(value);
  }

  function clearLines() {
    for (const line of lines) series.removePriceLine(line);
    lines = [];
  }

  function draw(alerts) {
    clearLines();
    for (const a of alerts) {
      for (const level of [a.level, a.level2]) {
        if (level === null || level === undefined) continue;
        lines.push(
          series.createPriceLine({
            price: Number(level),
            color: COLOR,
            lineWidth: 1,
            lineStyle: 2, // dashed
            axisLabelVisible: true,
            title: "alert · 알림 " + a.condition,
          })
        );
      }
    }
  }

  async function refresh() {
    const s = hook.selected();
    clearLines();
    if (!s || !s.id || !AUTHENTICATED) return;
    try {
      const res = await fetch(API + "?state=active&instrument=" + encodeURIComponent(s.id), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!res.ok) return; // not logged in: no lines
      const data = await res.json();
      draw(Array.isArray(data) ? data : data.results || []);
    } catch (err) {
      /* the board works without alert lines */
    }
  }

  function openPage(s, level) {
    const params = new URLSearchParams({ instrument: String(s.id), level: levelText(level) });
    location.href = PAGE + "?" + params;
  }

  async function create(s, level) {
    if (!AUTHENTICATED) return openPage(s, level);
    const res = await fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ instrument: s.id, condition: "crossing", level: levelText(level), trigger: "once" }),
    });
    if (res.status === 401 || res.status === 403) return openPage(s, level);
    if (!res.ok) {
      let message = "HTTP " + res.status;
      try {
        const body = await res.json();
        if (body.error) message = body.error.message + (body.error.fields ? " " + JSON.stringify(body.error.fields) : "");
      } catch (err) {
        /* not JSON */
      }
      window.alert("Could not set the alert · 알림을 만들지 못했습니다: " + message);
      return;
    }
    refresh();
  }

  // a click on the right price axis: the pane ends where the time scale ends
  container.addEventListener("click", (event) => {
    const s = hook.selected();
    if (!s || !s.id) return;
    const rect = container.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    const paneWidth = chart.timeScale().width();
    if (x < paneWidth) return; // a click in the pane, not on the axis
    const level = roundLevel(series.coordinateToPrice(y));
    if (level === null) return;
    const symbol = s.symbol || "#" + s.id;
    if (window.confirm("Alert when " + symbol + " crosses " + level + "?\n" + symbol + " 가격이 " + level + " 을(를) 교차하면 알릴까요?")) {
      create(s, level);
    }
  });

  // the drawn levels, for tests and other scripts
  hook.alertLevels = () => lines.map((line) => line.options().price);

  document.addEventListener("tradesite:instrument", refresh);
  refresh();
})();
