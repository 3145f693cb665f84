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
  var run = function (delay) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      if (pending) pending.abort();
      pending = new AbortController();
      form.setAttribute("aria-busy", "true");
      fetch(url, { signal: pending.signal, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          form.removeAttribute("aria-busy");
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("results-section");
          var current = document.getElementById("results-section");
          if (fresh && current) current.replaceWith(fresh);
          history.replaceState(null, "", url);
        })
        .catch(function () { form.removeAttribute("aria-busy"); });
    }, delay);
  };
  // Typing waits for a pause; choosing a filter searches at once.
  form.addEventListener("input", function (e) {
    if (e.target.tagName === "INPUT") run(300);
  });
  form.addEventListener("change", function (e) {
    if (e.target.tagName === "SELECT") run(0);
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
// Inline validation: when a field loses focus, say at once what is missing or
// malformed, next to the field and through the page's live region. The messages come
// from the page (data-msg-* on <body>, rendered from the catalogues); the server checks
// everything again and stays the authority, so nothing here blocks a submission.
(function () {
  var body = document.body;
  var live = document.getElementById("live-status");
  if (!body || !live || !body.getAttribute("data-msg-required")) return;
  var patterns = {
    email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    tel: /^\+?[0-9][0-9 ()-]{5,19}$/
  };
  var problem = function (el) {
    var value = (el.value || "").trim();
    var required = el.required || el.getAttribute("aria-required") === "true";
    if (el.validity && el.validity.badInput) return body.getAttribute("data-msg-date");
    if (!value) return required ? body.getAttribute("data-msg-required") : "";
    if (el.type === "email" && !patterns.email.test(value)) return body.getAttribute("data-msg-email");
    if (el.type === "tel" && !patterns.tel.test(value)) return body.getAttribute("data-msg-tel");
    return "";
  };
  var describe = function (el, id, on) {
    var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
      return x && x !== id;
    });
    if (on) ids.unshift(id);
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  };
  var check = function (el) {
    if (!el.id || el.type === "hidden" || el.type === "file") return;
    var id = el.id + "-error";
    var message = problem(el);
    var shown = document.getElementById(id);
    var field = el.closest(".field");
    if (message) {
      if (!shown) {
        shown = document.createElement("p");
        shown.className = "error-text";
        shown.id = id;
        el.parentNode.insertBefore(shown, el);
      }
      if (shown.textContent !== message) {
        shown.textContent = message;
        live.textContent = (el.labels && el.labels[0] ? el.labels[0].textContent.trim() + ": " : "") + message;
      }
      el.setAttribute("aria-invalid", "true");
      describe(el, id, true);
      if (field) field.classList.add("invalid");
    } else if (el.getAttribute("aria-invalid") === "true" && shown) {
      // Corrected: the server's message, or ours, no longer applies.
      shown.remove();
      el.removeAttribute("aria-invalid");
      describe(el, id, false);
      if (field) field.classList.remove("invalid");
    }
  };
  var checkable = function (el) {
    return el.form && el.form.hasAttribute("novalidate") &&
      /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && el.type !== "radio" && el.type !== "checkbox";
  };
  // New messages appear when a field is left; a corrected field loses its message while
  // it is being typed in, not when it is left, so the page does not move under the
  // pointer that is about to click the next control.
  document.addEventListener("focusout", function (e) {
    if (checkable(e.target)) check(e.target);
  });
  document.addEventListener("input", function (e) {
    var el = e.target;
    if (checkable(el) && el.getAttribute("aria-invalid") === "true" && !problem(el)) check(el);
  });
})();

// A running bulk job: the progress bar and counts follow the job's JSON (the session
// cookie authenticates a read), and the page reloads once the job is done, to show its
// results. Without JavaScript the page refreshes itself instead (a <noscript> refresh).
(function () {
  var job = document.querySelector("[data-job-poll]");
  if (!job || !window.fetch) return;
  var url = job.getAttribute("data-job-poll");
  var bar = document.getElementById("job-progress");
  var lang = document.documentElement.lang || "en";
  var show = function (id, n) {
    var el = document.getElementById(id);
    if (el) el.textContent = Number(n).toLocaleString(lang);
  };
  var poll = function () {
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        if (bar) {
          bar.max = Math.max(j.total_rows, 1);
          bar.value = j.processed_rows;
        }
        show("job-processed", j.processed_rows);
        show("job-total", j.total_rows);
        show("job-succeeded", j.succeeded);
        show("job-failed", j.failed);
        if (j.status === "completed" || j.status === "failed") {
          // A page showing a slip key answers the upload itself: reloading would lose
          // the key, so only the status changes.
          var key = document.getElementById("slip-key-text");
          var status = document.getElementById("job-status");
          if (key && status) status.textContent = status.getAttribute("data-label-" + j.status) || j.status;
          else window.location.reload();
        }
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  };
  window.setTimeout(poll, 500);
})();
