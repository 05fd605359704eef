// Find on the page: typing in the box shows only the transcript lines that contain it.
// Without JavaScript the same box submits ?find= and the server filters the lines.
(function () {
  "use strict";
  var box = document.getElementById("find");
  var list = document.getElementById("transcript");
  var count = document.getElementById("find-count");
  if (!box || !list) { return; }
  var form = box.form;
  var lines = list.querySelectorAll("li");

  function filter() {
    var needle = box.value.trim().toLowerCase();
    var shown = 0;
    for (var i = 0; i < lines.length; i++) {
      var hit = !needle || lines[i].textContent.toLowerCase().indexOf(needle) !== -1;
      lines[i].hidden = !hit;
      if (hit) { shown++; }
    }
    count.textContent = needle ? shown + " of " + lines.length + " lines" : "";
  }

  box.addEventListener("input", filter);
  if (form && form.getAttribute("data-static")) {
    form.addEventListener("submit", function (e) { e.preventDefault(); filter(); });
  }
})();
