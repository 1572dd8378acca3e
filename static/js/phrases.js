// Canned phrases (templates/feedback/_phrases.html): "插入" puts the phrase's filled text
// at the cursor of the textarea it is written for (the form field named in
// data-phrase-field, inside the same form or card), replacing any selection. Without
// this script the texts stay on the page to copy.
(function () {
  "use strict";

  function targetFor(button) {
    var name = button.getAttribute("data-phrase-field");
    var scope = button.closest(".card") || document;
    return scope.querySelector('textarea[name="' + name + '"]') ||
      document.querySelector('textarea[name="' + name + '"]');
  }

  function insertAtCursor(field, text) {
    var start = typeof field.selectionStart === "number" ? field.selectionStart : field.value.length;
    var end = typeof field.selectionEnd === "number" ? field.selectionEnd : start;
    var value = field.value;
    field.value = value.slice(0, start) + text + value.slice(end);
    var caret = start + text.length;
    field.focus();
    field.setSelectionRange(caret, caret);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function init() {
    var buttons = document.querySelectorAll(".phrases .phrase-insert");
    Array.prototype.forEach.call(buttons, function (button) {
      var field = targetFor(button);
      var source = document.getElementById(button.getAttribute("data-phrase-text"));
      if (!field || !source) {
        return; // nothing to insert into: the text stays to copy
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        insertAtCursor(field, source.textContent);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
