// The frame's behaviour. The colour theme: "auto" follows the system (prefers-color-scheme); the
// toggle's choice is kept in localStorage. Loaded in <head>, so the page is painted in the right theme
// from the start. A reseller's account switcher: its sub-accounts are fetched when it is opened, so
// no page pays for the list (without script, its "All sub-accounts" link still leads there).
(function () {
  "use strict";
  var KEY = "hostdeck-theme";
  var NEXT = { auto: "light", light: "dark", dark: "auto" };
  var ICON = { auto: "circle-half", light: "sun", dark: "moon-stars" };
  var dark = window.matchMedia("(prefers-color-scheme: dark)");

  function chosen() {
    try {
      var value = window.localStorage.getItem(KEY);
      return NEXT[value] ? value : "auto";
    } catch (e) {
      return "auto";
    }
  }

  function apply(choice) {
    var isDark = choice === "dark" || (choice === "auto" && dark.matches);
    document.documentElement.setAttribute("data-bs-theme", isDark ? "dark" : "light");
  }

  function show(button, choice) {
    var label = button.getAttribute("data-label-" + choice) || choice;
    button.setAttribute("aria-label", label);
    button.setAttribute("title", label);
    var use = button.querySelector("use");
    if (use) {
      use.setAttribute("href", use.getAttribute("href").replace(/#.*$/, "#" + ICON[choice]));
    }
  }

  apply(chosen());
  dark.addEventListener("change", function () { apply(chosen()); });

  function fillSwitcher(toggle) {
    var list = toggle.parentNode.querySelector("[data-switch-list]");
    if (!list || list.getAttribute("data-filled")) { return; }
    list.setAttribute("data-filled", "1");
    var acting = toggle.getAttribute("data-acting");
    fetch(toggle.getAttribute("data-targets-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { accounts: [] }; })
      .then(function (data) {
        data.accounts.forEach(function (row) {
          var item = document.createElement("button");
          item.type = "submit";
          item.name = "account_id";
          item.value = String(row[0]);
          item.className = "dropdown-item text-truncate" + (String(row[0]) === acting ? " active" : "");
          item.textContent = row[1];
          list.appendChild(item);
        });
      })
      .catch(function () { list.removeAttribute("data-filled"); });
  }

  // A box that scrolls sideways (a wide table on a phone, a long log) must be reachable by keyboard.
  function focusableScrollers() {
    document.querySelectorAll(".table-responsive, pre").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusableScrollers();
    window.addEventListener("resize", focusableScrollers);
    document.querySelectorAll("[data-targets-url]").forEach(function (toggle) {
      toggle.addEventListener("show.bs.dropdown", function () { fillSwitcher(toggle); });
    });
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    show(button, chosen());
    button.addEventListener("click", function () {
      var choice = NEXT[chosen()];
      try { window.localStorage.setItem(KEY, choice); } catch (e) { /* private mode: this page only */ }
      apply(choice);
      show(button, choice);
    });
  });
}());
