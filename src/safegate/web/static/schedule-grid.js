// The schedule page's weekly grid: tap an hour, or drag over several days and hours, and the
// form below (adding a window, or changing the one chosen) is filled in (days ticked, from and
// until). The keyboard does the same (the WAI-ARIA grid pattern): the grid is one tab stop
// (the focused cell has tabindex 0, the others -1), the arrows move between the hours (left,
// right) and the days (up, down), Home/End go to the day's first/last hour (with Ctrl, to the
// week's), Shift with a move stretches the choice from where it started, as a drag does,
// Enter or Space fills in the form with the choice (or the focused hour), Escape clears the
// choice. What was filled in is said in #grid-said (aria-live); its words, and the cells'
// names, come from the page, in the account's language. The form works without this script;
// this only saves typing. No library.
(function () {
  "use strict";
  var grid = document.getElementById("week-grid");
  var form = document.getElementById("window-form");
  if (!grid || !form || grid.getAttribute("data-can-change") !== "yes") { return; }
  var days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var hint = document.getElementById("grid-hint");
  var said = document.getElementById("grid-said");
  var cells = grid.querySelectorAll("td.cell");
  var anchor = null;  // where the choice started: a drag's first cell, or where Shift began
  var end = null;     // where it ends: the cell under the pointer, or the focused one
  var dragging = false;
  var current = grid.querySelector("td.cell.now") || cells[0];  // the grid's one tab stop

  grid.classList.add("tappable");
  grid.setAttribute("role", "grid");
  grid.setAttribute("aria-multiselectable", "true");
  if (hint) {
    hint.hidden = false;
    grid.setAttribute("aria-describedby", "grid-hint");
  }
  for (var i = 0; i < cells.length; i++) {
    cells[i].tabIndex = cells[i] === current ? 0 : -1;
    cells[i].setAttribute("aria-selected", "false");
  }

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

  function cellOf(day, hour) {
    return grid.querySelector('td.cell[data-day="' + days[day] + '"][data-hour="' + hour + '"]');
  }

  function box() {
    var a = where(anchor);
    var b = where(end);
    return { d0: Math.min(a.day, b.day), d1: Math.max(a.day, b.day),
             h0: Math.min(a.hour, b.hour), h1: Math.max(a.hour, b.hour) };
  }

  function paint() {
    var r = anchor ? box() : null;
    for (var i = 0; i < cells.length; i++) {
      var w = where(cells[i]);
      var inside = r !== null && w.day >= r.d0 && w.day <= r.d1 &&
        w.hour >= r.h0 && w.hour <= r.h1;
      cells[i].classList.toggle("picked", inside);
      cells[i].setAttribute("aria-selected", inside ? "true" : "false");
    }
  }

  // The roving tab stop: only `cell` is reached with Tab.
  function rove(cell, focus) {
    if (cell !== current) {
      current.tabIndex = -1;
      cell.tabIndex = 0;
      current = cell;
    }
    if (focus) { cell.focus(); }
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function dayWord(d) {
    var label = form.querySelector('label[for="win-day-' + days[d] + '"]');
    return label ? label.textContent.trim() : days[d];
  }

  function fill() {
    var r = box();
    for (var d = 0; d < 7; d++) {
      var tick = document.getElementById("win-day-" + days[d]);
      if (tick) { tick.checked = d >= r.d0 && d <= r.d1; }
    }
    var start = two(r.h0) + ":00";
    var until = two((r.h1 + 1) % 24) + ":00";
    document.getElementById("win-start").value = start;
    document.getElementById("win-end").value = until;
    if (said) {
      var which = dayWord(r.d0) + (r.d1 > r.d0 ? "–" + dayWord(r.d1) : "");
      said.textContent = (said.getAttribute("data-filled") || "").replace("{days}", which)
        .replace("{start}", start).replace("{end}", until);
    }
    var name = document.getElementById("win-name");
    form.scrollIntoView({ block: "start" });
    name.focus();
  }

  grid.addEventListener("pointerdown", function (ev) {
    var cell = cellAt(ev.clientX, ev.clientY);
    if (!cell) { return; }
    ev.preventDefault();
    anchor = end = cell;
    dragging = true;
    paint();
  });
  grid.addEventListener("pointermove", function (ev) {
    if (!dragging) { return; }
    var cell = cellAt(ev.clientX, ev.clientY);
    if (cell && cell !== end) { end = cell; paint(); }
  });
  function done(ev) {
    if (!dragging) { return; }
    var cell = ev && cellAt(ev.clientX, ev.clientY);
    if (cell) { end = cell; }
    dragging = false;
    paint();
    rove(end, false);
    fill();
  }
  grid.addEventListener("pointerup", done);
  grid.addEventListener("pointercancel", function () { dragging = false; });
  document.addEventListener("pointerup", function (ev) {
    if (dragging && !grid.contains(ev.target)) { done(null); }
  });

  grid.addEventListener("keydown", function (ev) {
    var cell = ev.target;
    if (!cell.classList || !cell.classList.contains("cell") || dragging) { return; }
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      if (!anchor) { anchor = cell; }
      end = cell;
      paint();
      fill();
      return;
    }
    if (ev.key === "Escape") {
      if (anchor) {
        ev.preventDefault();
        anchor = end = null;
        paint();
      }
      return;
    }
    if (ev.altKey || ev.metaKey) { return; }
    var w = where(cell);
    var day = w.day;
    var hour = w.hour;
    switch (ev.key) {
      case "ArrowRight": hour = Math.min(23, hour + 1); break;
      case "ArrowLeft": hour = Math.max(0, hour - 1); break;
      case "ArrowDown": day = Math.min(6, day + 1); break;
      case "ArrowUp": day = Math.max(0, day - 1); break;
      case "Home": hour = 0; if (ev.ctrlKey) { day = 0; } break;
      case "End": hour = 23; if (ev.ctrlKey) { day = 6; } break;
      default: return;
    }
    ev.preventDefault();
    var next = cellOf(day, hour);
    if (ev.shiftKey) {
      if (!anchor) { anchor = cell; }
      end = next;
    } else {
      anchor = end = null;
    }
    paint();
    rove(next, true);
  });
}());
