/* An export job's page follows its progress: the status JSON is asked every two seconds
   until the job is done (the download link shows) or failed (the reason shows). */
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box) { return; }
  var finished = { done: true, failed: true };
  if (finished[box.getAttribute("data-state")]) { return; }
  var url = box.getAttribute("data-status-url");
  var template = box.getAttribute("data-label-rows");

  function part(name) { return box.querySelector('[data-part="' + name + '"]'); }

  function show(status) {
    part("state").textContent = status.state_label;
    part("bar").value = status.percent;
    part("bar").textContent = status.percent + "%";
    part("rows").textContent = template.replace("%(done)s", status.rows_done)
      .replace("%(total)s", status.rows_total);
    part("download").hidden = status.state !== "done";
    var error = part("error");
    error.hidden = status.state !== "failed";
    error.textContent = status.error || "";
    box.setAttribute("data-state", status.state);
  }

  function ask() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (!status.finished) { window.setTimeout(ask, 2000); }
      })
      .catch(function () { window.setTimeout(ask, 10000); });
  }

  window.setTimeout(ask, 1000);
}());
