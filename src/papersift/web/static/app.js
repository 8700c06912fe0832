// papersift progressive enhancements. Every page works without this file:
// upvote forms POST and redirect back; the search form submits normally.
(function () {
  "use strict";

  // Upvote without reloading the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.upvote") || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    function post() {
      return fetch(form.dataset.api, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json" }
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
