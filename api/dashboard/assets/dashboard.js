// Small enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // The environment switcher goes as soon as an environment is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  // Copy buttons: data-copy names the element whose text (or value) to copy.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      var text = el.value !== undefined ? el.value : el.textContent;
      navigator.clipboard.writeText(text).then(function () {
        b.textContent = "Copied";
        b.setAttribute("data-copied", "true");
      }, function () {
        if (el.select) { el.select(); }
        b.textContent = "Press Ctrl+C to copy";
      });
    });
  });
});

// Register Application: an application type presets the form in place (keeping what was
// typed); without this script its link loads the same preset from the server.
document.addEventListener("DOMContentLoaded", function () {
  var links = document.querySelectorAll("a[data-kind]");
  var form = document.querySelector("form input[name=kind]");
  if (links.length === 0 || !form) { return; }
  form = form.form;
  var examples = Array.prototype.map.call(links, function (a) { return a.getAttribute("data-redirect"); });
  function pick(a) {
    var type = a.getAttribute("data-type"), grants = a.getAttribute("data-grants").split(" ");
    var redirect = a.getAttribute("data-redirect"), users = a.getAttribute("data-user-scopes") === "true";
    form.querySelectorAll("input[name=type]").forEach(function (r) { r.checked = r.value === type; });
    form.querySelectorAll("input[name=grant_types]").forEach(function (g) { g.checked = grants.indexOf(g.value) >= 0; });
    form.querySelectorAll("input[name=scopes][data-standard]").forEach(function (s) {
      s.checked = users && ["openid", "profile", "email"].indexOf(s.value) >= 0;
    });
    var uris = form.querySelector("#redirect_uris"), typed = uris.value.trim();
    if (grants.indexOf("authorization_code") < 0) { uris.value = ""; }
    else if (typed === "" || examples.indexOf(typed) >= 0) { uris.value = redirect; }
    var firstParty = form.querySelector("#first_party");
    if (firstParty && type !== "confidential") { firstParty.checked = false; }
    form.querySelector("input[name=kind]").value = a.getAttribute("data-kind");
    document.querySelectorAll(".kinds a").forEach(function (k) { k.removeAttribute("aria-current"); });
    a.setAttribute("aria-current", "true");
    if (window.history && history.replaceState) { history.replaceState(null, "", a.href); }
  }
  links.forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); pick(a); });
  });
});

// Audit log, newest page only: every 2 s, ask for the rows of newer events (same filters)
// and put them on top. The page works without this; the Older link pages as before.
document.addEventListener("DOMContentLoaded", function () {
  var body = document.querySelector("tbody[data-live]");
  if (!body || !window.fetch || !document.createElement("template").content) { return; }
  var status = document.getElementById("audit-live");
  var base = body.getAttribute("data-live");
  var after = body.getAttribute("data-after") || "0";
  var added = 0, failures = 0, busy = false, timer;
  function say(text) {
    if (status) { status.textContent = text; status.hidden = false; }
  }
  function stop(text) {
    clearInterval(timer);
    say(text);
  }
  function prepend(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    var rows = Array.prototype.filter.call(t.content.querySelectorAll("tr[id]"), function (tr) {
      return !document.getElementById(tr.id);
    });
    if (rows.length === 0) { return; }
    var empty = document.getElementById("audit-empty");
    if (empty) { empty.remove(); }
    var frag = document.createDocumentFragment();
    rows.forEach(function (tr) { tr.classList.add("fresh"); frag.appendChild(tr); });
    body.insertBefore(frag, body.firstChild);
    added += rows.length;
    say(added + (added === 1 ? " new event" : " new events") + " since the page loaded.");
  }
  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    var sep = base.indexOf("?") < 0 ? "?" : "&";
    fetch(base + sep + "after=" + encodeURIComponent(after), { credentials: "same-origin", redirect: "error", headers: { Accept: "text/html" } })
      .then(function (r) {
        var cursor = r.headers.get("X-Audit-Cursor");
        if (!r.ok || cursor === null) { throw new Error("audit rows: HTTP " + r.status); }
        return r.text().then(function (html) {
          prepend(html);
          after = cursor;
          failures = 0;
          if (added >= 500) { stop("Many new events: reload the page to keep following."); }
        });
      })
      .catch(function () {
        if (++failures >= 5) { stop("Live updates stopped. Reload the page to see new events."); }
      })
      .then(function () { busy = false; });
  }
  say("Showing new events as they happen.");
  timer = setInterval(poll, 2000);
});
