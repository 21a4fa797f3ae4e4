// Optional: reloads the page every data-refresh seconds while it is
// visible. The pages work the same without it.
(function () {
  "use strict";
  var s = parseInt(document.body.getAttribute("data-refresh"), 10);
  if (!(s > 0)) {
    return;
  }
  var due = Date.now() + s * 1000;
  setInterval(function () {
    if (document.visibilityState === "visible" && Date.now() >= due) {
      window.location.reload();
    }
  }, 1000);
})();
