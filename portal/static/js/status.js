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
  // The badge words in the page's language (base.html); the English above is the fallback.
  try {
    var words = JSON.parse(document.body.getAttribute("data-status-labels") || "{}");
    Object.keys(words).forEach(function (key) { if (LOOK[key]) { LOOK[key][0] = words[key]; } });
  } catch (e) { /* keep the English words */ }

  function badges() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-status-id]"));
  }

  // A change that has just failed must not sit beside the green "is being set up" of its flash.
  function unflashSuccess(words) {
    document.querySelectorAll('.alert-success[role="alert"]').forEach(function (alert) {
      alert.className = "alert alert-danger text-break";
      alert.textContent = words;
    });
  }

  function paint(el, state) {
    if (state.status === "failed" && BUSY[el.dataset.status] && state.error) { unflashSuccess(state.error); }
    var look = LOOK[state.status] || [state.status, "text-bg-light"];
    el.dataset.status = state.status;
    el.textContent = look[0];
    el.className = "badge " + look[1];
    el.title = state.status === "failed" ? state.error || "" : "";  // why it failed, on hover
    var id = el.dataset.statusId;
    // Plain words for everyone; the raw detail comes only for staff (blueprints/common.py: polled_state).
    var err = document.querySelector('[data-error-for="' + id + '"]');
    if (err) { err.textContent = state.error || ""; }
    var detail = document.querySelector('[data-detail-for="' + id + '"]');
    if (detail) { detail.textContent = state.detail || ""; }
    var retry = document.querySelector('[data-retry-for="' + id + '"]');
    if (retry) { retry.hidden = !(state.status === "failed" && state.retry); }
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
