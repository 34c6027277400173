// Progressive enhancement only: every page works without this file.
// A form marked data-busy shows that the server is working (re-optimising can take seconds)
// and is not sent twice.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.busy) return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = form.dataset.busy;
    }
    form.setAttribute("aria-busy", "true");
  });
})();
