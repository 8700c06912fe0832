// papersift progressive enhancements. Every page works without this file:
// upvote forms POST and redirect back; the search form submits normally.
(function () {
  "use strict";

  // Signed-in members' changes carry the CSRF token the page was rendered with.
  var tokenTag = document.querySelector('meta[name="csrf-token"]');
  var csrf = tokenTag ? tokenTag.getAttribute("content") : "";
  function headers(extra) {
    var all = { Accept: "application/json", "X-CSRF-Token": csrf };
    Object.keys(extra || {}).forEach(function (key) { all[key] = extra[key]; });
    return all;
  }

  // Thumbs up / down without reloading: the same form, sent as JSON.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("form.rate button") : null;
    if (!button || !window.fetch) return;
    event.preventDefault();
    var form = button.form;
    var value = parseInt(button.value, 10);
    fetch(form.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ value: value })
    }).then(function (response) {
      if (!response.ok) { throw new Error("Rating failed (" + response.status + ")."); }
      return response.json();
    }).then(function (rated) {
      form.querySelectorAll("button").forEach(function (b) {
        var own = parseInt(b.dataset.value, 10);
        var on = rated.rating === own;
        b.setAttribute("aria-pressed", on ? "true" : "false");
        b.value = String(on ? 0 : own);
      });
    }).catch(function (error) { button.title = error.message; });
  });

  // Upvote without reloading the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.upvote") || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    function post() {
      return fetch(form.dataset.api, {
        method: "POST", credentials: "same-origin", headers: headers()
      });
    }
    // A 403 without a voter cookie sets one; the same vote then counts.
    post().then(function (response) {
      return response.status === 403 ? post() : response;
    }).then(function (response) {
      if (response.status === 429) { throw new Error("Too many upvotes; try again shortly."); }
      if (!response.ok) { throw new Error("Upvote failed (" + response.status + ")."); }
      return response.json();
    }).then(function (vote) {
      form.querySelector(".count").textContent = String(vote.upvotes);
      button.setAttribute("aria-pressed", vote.voted ? "true" : "false");
    }).catch(function (error) {
      button.title = error.message;
    }).finally(function () {
      button.disabled = false;
    });
  });

  // Embedding progress: the status line follows /api/status while a job runs (without
  // this script it shows the state at page load).
  var status = document.querySelector("[data-status-url][data-polling]");
  function pollStatus() {
    if (document.hidden) { setTimeout(pollStatus, 2000); return; }
    fetch(status.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (s.semantic_ready) {
          status.textContent = "Semantic search is on: \u201cBest available\u201d ranks by " +
            "hybrid (BM25 + embeddings).";
          status.removeAttribute("data-polling");
          return;
        }
        var coverage = status.querySelector('[data-status="coverage"]');
        if (coverage && s.embedded) {
          coverage.textContent = s.embedded.toLocaleString("en-US") + " of " +
            s.papers.toLocaleString("en-US") + " papers embedded (" +
            Math.round(100 * s.coverage) + "%, the newest listing days first)";
        }
        var job = status.querySelector('[data-status="job"]');
        var embed = (s.jobs || []).filter(function (j) { return j.name === "embed"; })[0];
        if (job) job.textContent = embed ? embed.summary : "";
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () {
        if (status.hasAttribute("data-polling")) setTimeout(pollStatus, 2000);
      });
  }
  if (status && window.fetch) setTimeout(pollStatus, 2000);

  // Search as you type: fetch the same server-rendered page and swap its results in.
  var form = document.querySelector("form[data-live]");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.DOMParser) return;
  var timer = null;
  var latest = 0;
  function refresh() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (key) {
      if (!params.get(key)) params.delete(key);
    });
    var url = form.action + "?" + params.toString();
    var ticket = ++latest;
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) {
        if (ticket !== latest) return;  // a newer request is on its way
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        if (fresh) {
          results.replaceChildren.apply(results, Array.from(fresh.childNodes));
          history.replaceState(null, "", url);
        }
      });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
