/* Bulk acts on a queue (批量交办, 批量分派承办人): the rows' checkboxes belong to a form by
   its id (form="…"), so that a table whose rows hold forms of their own can still be
   ticked. "Select all on this page" ticks every row of that form; the count beside the
   button says how many are ticked. Without this script the boxes still work one by one. */
(function () {
  "use strict";
  function boxes(formId) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="cases"][form="' + formId + '"]'));
  }
  function update(formId) {
    var all = boxes(formId);
    var ticked = all.filter(function (box) { return box.checked; }).length;
    document.querySelectorAll('[data-select-all="' + formId + '"]').forEach(function (master) {
      master.checked = all.length > 0 && ticked === all.length;
      master.indeterminate = ticked > 0 && ticked < all.length;
    });
    document.querySelectorAll('[data-ticked-count="' + formId + '"]').forEach(function (out) {
      var template = out.getAttribute("data-template") || "%(count)s";
      out.textContent = ticked ? template.replace("%(count)s", String(ticked)) : "";
    });
  }
  function start() {
    document.querySelectorAll(".bulk-tools[hidden]").forEach(function (tools) {
      tools.hidden = false;
    });
    var forms = {};
    document.querySelectorAll("[data-select-all]").forEach(function (master) {
      var formId = master.getAttribute("data-select-all");
      forms[formId] = true;
      master.addEventListener("change", function () {
        boxes(formId).forEach(function (box) { box.checked = master.checked; });
        update(formId);
      });
    });
    document.addEventListener("change", function (event) {
      var box = event.target;
      if (box.name === "cases" && box.getAttribute("form")) { update(box.getAttribute("form")); }
    });
    Object.keys(forms).forEach(update);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
}());
