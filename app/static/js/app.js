// Jianjia: small progressive enhancements (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  function setWidth(bar, value) {
    bar.style.width = value + "%";
    bar.textContent = value + "%";
  }

  document.querySelectorAll(".progress-bar[data-width]").forEach(function (bar) {
    setWidth(bar, parseInt(bar.dataset.width || "0", 10));
  });

  // Job progress: poll the run's JSON until it finishes.
  document.querySelectorAll(".job-progress[data-progress-url]").forEach(function (box) {
    if (box.dataset.finished === "true") { return; }
    var bar = box.querySelector(".progress-bar");
    var interval = parseInt(box.dataset.interval || "1000", 10);
    function poll() {
      fetch(box.dataset.progressUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (run) {
          setWidth(bar, run.progress);
          box.querySelector(".job-status").textContent = run.status_label;
          box.querySelector(".job-message").textContent = run.message || "";
          box.querySelector(".job-error").textContent = run.error || "";
          box.querySelector(".progress").setAttribute("aria-valuenow", run.progress);
          if (run.finished) {
            bar.classList.remove("progress-bar-animated");
            box.dataset.finished = "true";
            if (box.dataset.reload === "true") { window.location.reload(); }
          } else {
            window.setTimeout(poll, interval);
          }
        })
        .catch(function () { window.setTimeout(poll, interval * 3); });
    }
    window.setTimeout(poll, interval);
  });

  // Confirm before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.dataset.confirm)) { ev.preventDefault(); }
    });
  });
})();
