// The device set-up page: ask every 2 seconds whether the gate has seen the device since
// the page opened, and say so once it has. Without script, the "check again" link does it.
(function () {
  "use strict";
  var box = document.getElementById("protected");
  if (!box || box.className === "protected-yes") { return; }
  var timer = setInterval(function () {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.protected) {
          clearInterval(timer);
          box.className = "protected-yes";
          box.textContent = box.getAttribute("data-yes");
        }
      })
      .catch(function () { /* try again at the next tick */ });
  }, 2000);
}());
