// Faultline's triage screen: enhancements only. Every page and every action works without this
// file (links and forms); with it, times read in the viewer's zone and lists answer to keys.
(function () {
  "use strict";

  // Times in the viewer's time zone; the UTC time on hover.
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var iso = t.getAttribute("datetime");
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return; }
    t.title = iso.replace("T", " ").replace("Z", " UTC");
    t.textContent = fmt.format(d);
  });

  // Keys: j / k move through the issue list, Enter opens (the row's link has the focus),
  // r resolves and i ignores the current issue (on a list: the checked ones, else the current).
  var rows = Array.prototype.slice.call(document.querySelectorAll("#issues tbody tr"));
  var current = -1;
  function move(by) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = Math.max(0, Math.min(rows.length - 1, current + by));
    var row = rows[current];
    row.classList.add("current");
    var link = row.querySelector("a");
    if (link) { link.focus(); }
  }
  function act(status) {
    var bulk = document.getElementById("bulk");
    if (bulk && rows.length) {
      var checked = bulk.querySelectorAll("input[name=issue]:checked").length;
      if (!checked && current >= 0) {
        var box = rows[current].querySelector("input[name=issue]");
        if (box) { box.checked = true; checked = 1; }
      }
      var button = bulk.querySelector("button[name=status][value=" + status + "]");
      if (checked && button) { button.click(); }
      return;
    }
    // The issue page: the plain Resolve / Ignore button.
    document.querySelectorAll(".actions form").forEach(function (f) {
      var s = f.querySelector("input[name=status]");
      var extra = f.querySelectorAll("input[type=hidden]").length > 2;
      if (s && s.value === status && !extra && !act.done) {
        act.done = true;
        f.querySelector("button").click();
      }
    });
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if (e.key === "r") { act("resolved"); }
    else if (e.key === "i") { act("ignored"); }
  });
  document.querySelectorAll("[data-keys]").forEach(function (el) { el.hidden = false; });
})();
