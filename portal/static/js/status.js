// Keeps status badges live: polls while any object on the page is still busy.
(function () {
  "use strict";
  var LOOK = {
    pending: ["Pending", "text-bg-warning"],
    applied: ["Applied", "text-bg-success"],
    failed: ["Failed", "text-bg-danger"],
    deleting: ["Deleting", "text-bg-secondary"],
    gone: ["Deleted", "text-bg-light"]
  };
  var BUSY = { pending: true, deleting: true };

  function badges() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-status-id]"));
  }

  function paint(el, state) {
    var look = LOOK[state.status] || [state.status, "text-bg-light"];
    el.dataset.status = state.status;
    el.textContent = look[0];
    el.className = "badge " + look[1];
    var err = document.querySelector('[data-error-for="' + el.dataset.statusId + '"]');
    if (err) { err.textContent = state.error || ""; }
  }

  function poll() {
    var busy = badges().filter(function (el) { return BUSY[el.dataset.status]; });
    if (!busy.length) { return; }
    var url = busy[0].dataset.statusUrl + "?ids=" + busy.map(function (el) { return el.dataset.statusId; }).join(",");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (data) {
        busy.forEach(function (el) { if (data[el.dataset.statusId]) { paint(el, data[el.dataset.statusId]); } });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }

  document.addEventListener("DOMContentLoaded", function () { setTimeout(poll, 500); });
})();
