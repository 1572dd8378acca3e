/* On a phone a case table's rows become cards (app.css): each cell is labelled with its
   column's heading, copied here from the table's head so that no template repeats it.
   A cell that already has a data-label keeps it. */
(function () {
  "use strict";
  function label(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    var names = [];
    Array.prototype.forEach.call(head.cells, function (cell) {
      var text = cell.textContent.trim();
      for (var i = 0; i < (cell.colSpan || 1); i += 1) { names.push(text); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          // A cell across several columns (a row saying the list is empty) has no label.
          if (!cell.hasAttribute("data-label") && names[column] && (cell.colSpan || 1) === 1) {
            cell.setAttribute("data-label", names[column]);
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }
  function all() {
    Array.prototype.forEach.call(document.querySelectorAll("table.cases"), label);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else { all(); }
}());
