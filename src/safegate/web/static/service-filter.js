// The child page's service filter, live: typing hides the services that do not match (the
// same rule as the server's: every word, any case, with or without Vietnamese diacritics).
// Without this script the "Find" button asks the server for the same list.
(function () {
  "use strict";
  var box = document.getElementById("svc-filter");
  var pick = document.getElementById("svc-pick");
  var none = document.getElementById("svc-none");
  if (!box || !pick) { return; }
  var all = Array.prototype.slice.call(pick.options);

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d")
      .toLowerCase().split(/\s+/).filter(Boolean);
  }

  function apply() {
    var words = fold(box.value);
    var first = null;
    all.forEach(function (option) {
      var text = option.getAttribute("data-search") || "";
      var shown = words.every(function (w) { return text.indexOf(w) !== -1; });
      option.hidden = !shown;
      option.disabled = !shown;
      if (shown && first === null) { first = option; }
    });
    if (pick.selectedOptions.length === 0 || pick.selectedOptions[0].hidden) {
      if (first) { first.selected = true; }
    }
    if (none) { none.hidden = first !== null; }
  }

  box.addEventListener("input", apply);
}());
