// kratom-bot page behaviour: citation markers jump to their source; a character counter near the limit.
(function () {
  "use strict";
  var MAX = parseInt("__MAX_INPUT__", 10) || 2000;

  // [n] markers link to #kb-src-<turn>-<n>; scroll the Sources panel there instead of navigating.
  document.addEventListener("click", function (ev) {
    var link = ev.target && ev.target.closest ? ev.target.closest("a.kb-cite") : null;
    if (!link) return;
    ev.preventDefault();
    ev.stopPropagation();
    var id = link.getAttribute("data-src") || (link.getAttribute("href") || "").slice(1);
    var card = id ? document.getElementById(id) : null;
    if (!card) return;
    var details = card.querySelector("details");
    if (details) details.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.remove("kb-flash");
    void card.offsetWidth; // restart the highlight
    card.classList.add("kb-flash");
    setTimeout(function () { card.classList.remove("kb-flash"); }, 2200);
  }, true);

  // A quiet counter that appears near the input limit (the server enforces the limit).
  // Gradio may re-render the textbox, so the counter always looks the elements up afresh.
  function counter() {
    var holder = document.getElementById("kb-input");
    if (!holder) return null;
    var el = holder.querySelector(".kb-counter");
    if (!el) {
      el = document.createElement("div");
      el.className = "kb-counter";
      el.setAttribute("aria-live", "polite");
      holder.appendChild(el);
    }
    return el;
  }
  function update() {
    var box = document.querySelector("#kb-input textarea");
    var el = counter();
    if (!box || !el) return;
    box.setAttribute("dir", "auto"); // right-to-left scripts type naturally
    var n = box.value.length;
    var text = n < MAX * 0.8 ? "" : n.toLocaleString("en-US") + " / " + MAX.toLocaleString("en-US") + " characters";
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle("over", n > MAX);
  }
  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.closest && ev.target.closest("#kb-input")) update();
  }, true);
  setInterval(update, 700);

  // Emergency answers are long: keep their first lines (what to do now) in view when they arrive,
  // after the chat's own scroll-to-bottom has run.
  var seen = new WeakSet();
  function showTop(el) {
    var box = el.closest(".bubble-wrap");
    if (!box) return;
    var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - 8;
    box.scrollTop = Math.max(0, top);
  }
  new MutationObserver(function () {
    var all = document.querySelectorAll("#kb-chat .kb-emergency");
    var last = all.length ? all[all.length - 1] : null;
    if (last && !seen.has(last)) {
      seen.add(last);
      [250, 700, 1400].forEach(function (ms) { setTimeout(function () { showTop(last); }, ms); });
    }
  }).observe(document.documentElement, { childList: true, subtree: true });

})();
