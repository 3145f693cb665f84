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
// user pages
(function () {
  // Credential choice: the password fields matter only for "set a password".
  var radios = document.querySelectorAll('input[name="credential.method"]');
  var when = document.querySelector("[data-when-set]");
  if (radios.length && when) {
    var sync = function () {
      var set = document.querySelector('input[name="credential.method"][value="set"]');
      when.hidden = !(set && set.checked);
    };
    for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", sync);
    sync();
  }
  // The username cadre would generate, while the names are typed.
  var preview = document.getElementById("username-preview");
  if (!preview || !window.fetch) return;
  var form = preview.form || document.getElementById("user-form");
  if (!form) return;
  var field = function (name) { return form.elements.namedItem(name); };
  var timer = null;
  var pending = null;
  var update = function () {
    var username = field("username");
    if (username && username.value.trim()) {
      preview.textContent = "";
      return;
    }
    var params = new URLSearchParams();
    ["first_name", "last_name", "mobile_number"].forEach(function (n) {
      var el = field(n);
      if (el && el.value.trim()) params.set(n, el.value.trim());
    });
    var places = field("jurisdictions");
    var first = places && places.value.split(",")[0].trim();
    if (first) params.set("boundary", first);
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    fetch("/api/v1/usernames/suggest?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: pending ? pending.signal : undefined
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        preview.textContent = body && body.username
          ? preview.getAttribute("data-label") + " " + body.username
          : preview.getAttribute("data-fallback");
      })
      .catch(function () {});
  };
  ["first_name", "last_name", "mobile_number", "username", "jurisdictions"].forEach(function (n) {
    var el = field(n);
    if (el) el.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 400);
    });
  });
})();
