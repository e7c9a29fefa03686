// The colour theme: "auto" follows the system (prefers-color-scheme); the toggle's choice is kept
// in localStorage. Loaded in <head>, so the page is painted in the right theme from the start.
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

  document.addEventListener("DOMContentLoaded", function () {
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
