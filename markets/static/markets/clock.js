/* The demo clock in the header: "Replay of 2025-05-26 09:00 KST, 60x · 2025-05-26 09:00 KST 재생, 60배속".
   Computed each second from the clock's parameters (data-start, data-end, data-speed, data-wall-start,
   as markets.sources.clock.DemoClock does); re-read from the API every minute, so a restarted server
   (a new wall start) shows. */
(function () {
  "use strict";
  const el = document.getElementById("demo-clock");
  if (!el) return;
  let clock = { start: Date.parse(el.dataset.start), end: Date.parse(el.dataset.end), speed: Number(el.dataset.speed), wallStart: Date.parse(el.dataset.wallStart) };
  const pad = (n) => String(n).padStart(2, "0");
  function kst(ms) {
    const d = new Date(ms + 9 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " KST";
  }
  function render() {
    if (![clock.start, clock.end, clock.speed, clock.wallStart].every(Number.isFinite)) return;
    const span = clock.end - clock.start;
    const elapsed = Math.max(0, Date.now() - clock.wallStart) * clock.speed;
    const run = Math.floor(elapsed / span);
    const when = kst(clock.start + (elapsed % span));
    const speed = String(clock.speed).replace(/\.0+$/, "");
    let en = "Replay of " + when + ", " + speed + "x";
    let ko = when + " 재생, " + speed + "배속";
    if (run > 0) {
      en += " · restarted, pass " + (run + 1);
      ko += " · 처음부터 다시 (" + (run + 1) + "회차)";
    }
    el.textContent = en + " · " + ko;
    el.title = ko;
  }
  async function refresh() {
    try {
      const res = await fetch(el.dataset.api, { headers: { Accept: "application/json" } });
      const data = await res.json();
      if (data.mode !== "replay") { el.hidden = true; return; }
      clock = { start: Date.parse(data.start), end: Date.parse(data.end), speed: Number(data.speed), wallStart: Date.parse(data.wall_start) };
      el.hidden = false;
    } catch (err) { /* keep the last known clock */ }
  }
  render();
  setInterval(render, 1000);
  setInterval(refresh, 60000);
})();
