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
