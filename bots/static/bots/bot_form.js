// New-bot form: show the fieldset of the chosen kind (breakout or predictions); the other
// kind's fields stay in the form (the server ignores them) so nothing typed is lost.
(function () {
  "use strict";
  const kind = document.getElementById("id_kind");
  if (!kind) return;
  const sets = document.querySelectorAll(".bf-set[data-kind]");
  function show() {
    sets.forEach((set) => {
      set.hidden = set.dataset.kind !== kind.value;
    });
  }
  kind.addEventListener("change", show);
  show();
})();
