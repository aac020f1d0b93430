// The flame graph's behaviour: click-to-zoom, reset, search with
// highlight and the matched share, details of the frame under the mouse.
// goprof-report embeds this file in every SVG it writes (no network).
// The SVG gives each frame as <g class="f" data-x data-w> (its first
// sample and its sample count) holding a <title>, a <rect> and a <text>;
// GOPROF (set before this script) holds the total, the paddings and the
// orientation.
"use strict";
(function () {
  var cfg = window.GOPROF;
  var frames = [], root = null, searching = null, zoomed = null;
  var details, matched, unzoomBtn, searchBtn;

  function $(id) { return document.getElementById(id); }

  function nameOf(title) {
    // "NAME (N samples, P%)": the name is all before the last " ("
    var i = title.lastIndexOf(" (");
    return i < 0 ? title : title.substring(0, i);
  }

  function fit(name, width) {
    var chars = Math.floor((width - 6) / (cfg.font * 0.59));
    if (chars < 3) return "";
    if (name.length <= chars) return name;
    return name.substring(0, chars - 2) + "..";
  }

  function place(f, x, w) {
    f.rect.setAttribute("x", x.toFixed(2));
    f.rect.setAttribute("width", w.toFixed(2));
    f.text.setAttribute("x", (x + 3).toFixed(2));
    f.text.textContent = fit(f.name, w);
  }

  // below: is a deeper than b in the tree (farther from the root)?
  function deeper(a, b) { return cfg.inverted ? a.y > b.y : a.y < b.y; }

  function zoom(z) {
    var scale = (cfg.width - 2 * cfg.xpad) / z.w;
    frames.forEach(function (f) {
      var g = f.g.classList;
      if (f.x >= z.x && f.x + f.w <= z.x + z.w && (f === z || deeper(f, z))) {
        place(f, cfg.xpad + (f.x - z.x) * scale, f.w * scale);
        g.remove("hide"); g.remove("parent");
      } else if (f.x <= z.x && f.x + f.w >= z.x + z.w && deeper(z, f)) {
        place(f, cfg.xpad, cfg.width - 2 * cfg.xpad);
        g.remove("hide"); g.add("parent");
      } else {
        g.add("hide");
      }
    });
    zoomed = z === root ? null : z;
    unzoomBtn.classList.toggle("hide", !zoomed);
    if (searching !== null) search(searching);
  }

  function unzoom() { if (root) zoom(root); }

  function resetSearch() {
    frames.forEach(function (f) {
      f.rect.setAttribute("fill", f.fill);
      f.g.classList.remove("match");
    });
    searching = null;
    matched.textContent = " ";
    searchBtn.textContent = "Search";
  }

  // Highlights the frames whose name matches re (a regular expression,
  // or plain text when it is not one) and shows the share of all samples
  // under them, counting nested matches once.
  function search(term) {
    var re;
    try { re = new RegExp(term); } catch (e) {
      re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    }
    resetSearch();
    if (term === "") return;
    var spans = [];
    frames.forEach(function (f) {
      if (f === root || !re.test(f.name)) return;
      f.rect.setAttribute("fill", cfg.match);
      f.g.classList.add("match");
      spans.push([f.x, f.x + f.w]);
    });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) {
      if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; }
      else if (s[1] > end) { sum += s[1] - end; end = s[1]; }
    });
    searching = term;
    var pct = cfg.total ? 100 * sum / cfg.total : 0;
    matched.textContent = "Matched: " + pct.toFixed(1) + "%";
    searchBtn.textContent = "Reset Search";
  }

  function searchPrompt() {
    if (searching !== null) { resetSearch(); return; }
    var t = window.prompt("Search for functions (a regular expression, e.g. ^main\\.)", "");
    if (t !== null) search(t);
  }

  function frameOf(el) {
    while (el && el !== document && !(el.classList && el.classList.contains("f")))
      el = el.parentNode;
    return el && el.goprof;
  }

  function init() {
    details = $("details"); matched = $("matched");
    unzoomBtn = $("unzoom"); searchBtn = $("search");
    var gs = document.querySelectorAll("g.f");
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i], rect = g.querySelector("rect");
      var f = {
        g: g, rect: rect, text: g.querySelector("text"),
        title: g.querySelector("title").textContent,
        x: +g.getAttribute("data-x"), w: +g.getAttribute("data-w"),
        y: +rect.getAttribute("y"), fill: rect.getAttribute("fill")
      };
      f.name = nameOf(f.title);
      g.goprof = f;
      frames.push(f);
      if (!root && f.x === 0 && f.w === cfg.total) root = f;
    }
    document.documentElement.addEventListener("click", function (e) {
      var f = frameOf(e.target);
      if (f) zoom(f);
    });
    document.documentElement.addEventListener("mouseover", function (e) {
      var f = frameOf(e.target);
      details.textContent = f ? "Function: " + f.title : " ";
    });
    unzoomBtn.addEventListener("click", function (e) { e.stopPropagation(); unzoom(); });
    searchBtn.addEventListener("click", function (e) { e.stopPropagation(); searchPrompt(); });
    window.addEventListener("keydown", function (e) {
      if ((e.ctrlKey && e.key === "f") || e.key === "F3") {
        e.preventDefault();
        searchPrompt();
      } else if (e.key === "Escape") {
        resetSearch();
        unzoom();
      }
    });
    var params = new URLSearchParams(window.location.search);
    if (params.get("s")) search(params.get("s"));
    window.goprofFlame = { search: search, resetSearch: resetSearch, unzoom: unzoom,
                           zoom: function (name) {
                             for (var i = 0; i < frames.length; i++)
                               if (frames[i].name === name) { zoom(frames[i]); return true; }
                             return false;
                           } };
  }

  init();
})();
