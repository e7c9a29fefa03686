// New passwords (inputs with data-password="new"): a strength meter while typing, a Generate button
// and a Show/Hide toggle. The words come from the input's data-password-labels, in the page's language.
// The meter is a quick estimate from length and kinds of characters; the server's check decides.
(function () {
  "use strict";
  var MIN_LENGTH = 10;
  var GENERATED_LENGTH = 20;
  // No look-alikes (0/O, 1/l/I): a generated password may have to be typed somewhere by hand.
  var ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!?#%+=@";
  var LOOKS = [
    ["w-25", "bg-danger"],
    ["w-25", "bg-danger"],
    ["w-50", "bg-warning"],
    ["w-75", "bg-info"],
    ["w-100", "bg-success"]
  ];

  // -1: empty; 0: too short; 1 to 4: weak, fair, good, strong.
  function estimate(value) {
    if (!value) { return -1; }
    if (value.length < MIN_LENGTH) { return 0; }
    var pool = 0;
    if (/[a-z]/.test(value)) { pool += 26; }
    if (/[A-Z]/.test(value)) { pool += 26; }
    if (/[0-9]/.test(value)) { pool += 10; }
    if (/[^a-zA-Z0-9]/.test(value)) { pool += 33; }
    // A character typed again and again adds little: count at most two of each.
    var length = Math.min(value.length, 2 * new Set(value).size);
    var bits = length * Math.log2(pool);
    if (bits < 40) { return 1; }
    if (bits < 60) { return 2; }
    if (bits < 80) { return 3; }
    return 4;
  }

  function generate() {
    var out = "";
    var limit = 256 - (256 % ALPHABET.length); // no byte above it, so every character is as likely
    while (out.length < GENERATED_LENGTH) {
      var bytes = new Uint8Array(GENERATED_LENGTH * 2);
      window.crypto.getRandomValues(bytes);
      for (var i = 0; i < bytes.length && out.length < GENERATED_LENGTH; i++) {
        if (bytes[i] < limit) { out += ALPHABET.charAt(bytes[i] % ALPHABET.length); }
      }
    }
    return out;
  }

  function button(text, name) {
    var el = document.createElement("button");
    el.type = "button";
    el.className = "btn btn-sm btn-outline-secondary";
    el.textContent = text;
    el.setAttribute("data-password-" + name, "");
    return el;
  }

  function setUp(input, index) {
    var labels;
    try {
      labels = JSON.parse(input.getAttribute("data-password-labels") || "{}");
    } catch (e) {
      return; // no words to show: leave the plain field
    }
    var levels = labels.levels || [];
    var form = input.form;
    var confirm = form ? form.querySelector('input[data-password="confirm"]') : null;
    var fields = confirm ? [input, confirm] : [input];
    if (!input.id) { input.id = "new-password-" + index; }

    var tools = document.createElement("div");
    tools.className = "mt-2";
    tools.setAttribute("data-password-tools", "");

    var buttons = document.createElement("div");
    buttons.className = "d-flex flex-wrap gap-2 mb-2";
    var toggle = button(labels.show, "toggle");
    toggle.setAttribute("aria-controls", input.id);
    var make = button(labels.generate, "generate");
    buttons.appendChild(toggle);
    buttons.appendChild(make);

    var meter = document.createElement("div");
    meter.className = "progress";
    meter.setAttribute("role", "progressbar");
    meter.setAttribute("aria-label", labels.strength || "");
    meter.setAttribute("aria-valuemin", "0");
    meter.setAttribute("aria-valuemax", "4");
    meter.setAttribute("aria-valuenow", "0");
    meter.setAttribute("data-password-meter", "");
    var bar = document.createElement("div");
    bar.className = "progress-bar";
    meter.appendChild(bar);

    var words = document.createElement("div");
    words.className = "form-text";
    words.setAttribute("aria-live", "polite");
    words.setAttribute("data-password-words", "");
    var level = document.createElement("span");
    level.setAttribute("data-password-level", "");
    var note = document.createElement("span");
    note.className = "d-block";
    note.setAttribute("data-password-note", "");
    words.appendChild(level);
    words.appendChild(note);

    tools.appendChild(buttons);
    tools.appendChild(meter);
    tools.appendChild(words);
    input.parentNode.appendChild(tools);

    function paint() {
      var score = estimate(input.value);
      var look = LOOKS[Math.max(score, 0)];
      var said = score < 0 ? "" : (levels[score] || "");
      bar.className = "progress-bar" + (score < 0 ? "" : " " + look.join(" "));
      meter.setAttribute("aria-valuenow", String(Math.max(score, 0)));
      meter.setAttribute("aria-valuetext", said);
      level.textContent = said;
      tools.setAttribute("data-level", String(score));
    }

    function show(visible) {
      fields.forEach(function (field) { field.type = visible ? "text" : "password"; });
      toggle.textContent = visible ? labels.hide : labels.show;
    }

    input.addEventListener("input", function () { note.textContent = ""; paint(); });
    toggle.addEventListener("click", function () { show(input.type === "password"); });
    make.addEventListener("click", function () {
      var value = generate();
      fields.forEach(function (field) { field.value = value; });
      note.textContent = labels.generated || "";
      show(true); // a password nobody can see cannot be kept
      paint();
      input.focus();
    });
    paint();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll('input[data-password="new"]');
    Array.prototype.forEach.call(inputs, setUp);
  });
})();
