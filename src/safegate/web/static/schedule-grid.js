// The schedule page's weekly grid: tap an hour, or drag over several days and hours, and the
// form below (adding a window, or changing the one chosen) is filled in (days ticked, from and
// until). The form works
// without this script; this only saves typing. No library.
(function () {
  "use strict";
  var grid = document.getElementById("week-grid");
  var form = document.getElementById("window-form");
  if (!grid || !form || grid.getAttribute("data-can-change") !== "yes") { return; }
  var days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var hint = document.getElementById("grid-hint");
  if (hint) { hint.hidden = false; }
  grid.classList.add("tappable");
  var first = null;
  var last = null;

  function cellAt(x, y) {
    var el = document.elementFromPoint(x, y);
    while (el && el !== grid) {
      if (el.tagName === "TD" && el.classList.contains("cell")) { return el; }
      el = el.parentElement;
    }
    return null;
  }

  function where(cell) {
    return { day: days.indexOf(cell.getAttribute("data-day")),
             hour: parseInt(cell.getAttribute("data-hour"), 10) };
  }

  function box() {
    var a = where(first);
    var b = where(last);
    return { d0: Math.min(a.day, b.day), d1: Math.max(a.day, b.day),
             h0: Math.min(a.hour, b.hour), h1: Math.max(a.hour, b.hour) };
  }

  function paint() {
    var r = box();
    var cells = grid.querySelectorAll("td.cell");
    for (var i = 0; i < cells.length; i++) {
      var w = where(cells[i]);
      var inside = w.day >= r.d0 && w.day <= r.d1 && w.hour >= r.h0 && w.hour <= r.h1;
      cells[i].classList.toggle("picked", inside);
    }
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function fill() {
    var r = box();
    for (var d = 0; d < 7; d++) {
      var tick = document.getElementById("win-day-" + days[d]);
      if (tick) { tick.checked = d >= r.d0 && d <= r.d1; }
    }
    document.getElementById("win-start").value = two(r.h0) + ":00";
    document.getElementById("win-end").value = two((r.h1 + 1) % 24) + ":00";
    var name = document.getElementById("win-name");
    form.scrollIntoView({ block: "start" });
    name.focus();
  }

  grid.addEventListener("pointerdown", function (ev) {
    var cell = cellAt(ev.clientX, ev.clientY);
    if (!cell) { return; }
    ev.preventDefault();
    first = last = cell;
    paint();
  });
  grid.addEventListener("pointermove", function (ev) {
    if (!first) { return; }
    var cell = cellAt(ev.clientX, ev.clientY);
    if (cell && cell !== last) { last = cell; paint(); }
  });
  function done(ev) {
    if (!first) { return; }
    var cell = ev && cellAt(ev.clientX, ev.clientY);
    if (cell) { last = cell; }
    paint();
    fill();
    first = null;
  }
  grid.addEventListener("pointerup", done);
  grid.addEventListener("pointercancel", function () { first = null; });
  document.addEventListener("pointerup", function (ev) {
    if (first && !grid.contains(ev.target)) { done(null); }
  });
}());
