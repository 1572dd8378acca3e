/* A control marked data-autosubmit sends its form as soon as it changes (the language
   menu, the notification filters): the Content-Security-Policy allows no inline
   onchange handlers. */
document.addEventListener("change", function (event) {
  "use strict";
  var control = event.target;
  if (control.form && control.hasAttribute("data-autosubmit")) { control.form.submit(); }
});
