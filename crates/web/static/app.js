// cadre: small improvements on top of pages that work without JavaScript.
"use strict";
(function () {
  // Live search: re-run the search form shortly after typing stops, replacing only
  // the results, so a slow connection fetches as little as possible.
  var input = document.querySelector("[data-live-search]");
  if (!input || !window.fetch || !window.DOMParser) return;
  var form = input.form;
  var timer = null;
  var pending = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(url, { signal: pending.signal, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("results-section");
          var current = document.getElementById("results-section");
          if (fresh && current) current.replaceWith(fresh);
          history.replaceState(null, "", url);
        })
        .catch(function () {});
    }, 300);
  });
})();
