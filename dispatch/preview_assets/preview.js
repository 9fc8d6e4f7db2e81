// The preview's behaviour, for index.html and letter.html. Plain JavaScript, no network:
// the letters come from letters.js (window.DISPATCH_PREVIEW), loaded by a <script> tag.
(function () {
  "use strict";
  var D = window.DISPATCH_PREVIEW;
  if (!D) return;
  var C = {};
  D.columns.forEach(function (name, i) { C[name] = i; });
  var rows = D.rows;

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  var haystack = rows.map(function (r) {
    return fold([r[C.name], r[C.organisation], r[C.email], r[C.salutation]].join("\n"));
  });
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function key(r) { return r[C.lang] + "/" + r[C.stem]; }
  function file(r, ext) { return r[C.lang] + "/" + encodeURIComponent(r[C.stem]) + "." + ext; }
  function parse(hash) {
    var p = new URLSearchParams(hash.replace(/^#/, ""));
    return { q: p.get("q") || "", lang: p.get("lang") || "", cat: p.get("cat") || "",
             state: p.get("state") || "", page: Math.max(1, parseInt(p.get("page"), 10) || 1),
             k: p.get("k") || "", view: p.get("view") || "", from: p.get("from") || "" };
  }
  function filterHash(s) {
    var p = new URLSearchParams();
    ["q", "lang", "cat", "state"].forEach(function (n) { if (s[n]) p.set(n, s[n]); });
    if (s.page > 1) p.set("page", s.page);
    return p.toString();
  }
  function matching(s) {
    var words = fold(s.q).split(/\s+/).filter(Boolean);
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (s.lang && r[C.lang] !== s.lang) continue;
      if (s.cat && r[C.categories].indexOf(s.cat) < 0) continue;
      if (s.state && r[C.state] !== s.state) continue;
      var ok = true;
      for (var w = 0; w < words.length && ok; w++) ok = haystack[i].indexOf(words[w]) >= 0;
      if (ok) out.push(i);
    }
    return out;
  }
  // 9 783 (U+00A0), as the terminal and the index write it (dispatch.numbers)
  var number = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0"); };

  function index() {
    var $ = function (id) { return document.getElementById(id); };
    var form = $("filters"), tbody = $("rows"), count = $("count"), pager = $("pager");
    var showState = !$("state").hidden;
    var state = parse(location.hash);
    form.hidden = false;
    pager.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); });

    function controls() {
      $("q").value = state.q;
      ["lang", "cat", "state"].forEach(function (n) { $(n).value = state[n]; });
    }
    function row(i, from) {
      var r = rows[i];
      var link = "letter.html#k=" + encodeURIComponent(key(r)) + (from ? "&from=" + encodeURIComponent(from) : "");
      var files = D.formats.map(function (ext) {
        return '<a href="' + file(r, ext) + '">' + ext + "</a>";
      }).join(" ");
      (r[C.files] || []).forEach(function (name) {
        files += ' <span class="own-file" title="Attached to this letter only">' + esc(name) + "</span>";
      });
      var other = r[C.other];
      Object.keys(other).forEach(function (lang) {
        files += ' <a href="' + link + '&amp;view=compare" title="Side by side with ' +
          esc(D.languages[lang] || lang) + '">' + r[C.lang] + "\u2009+\u2009" + lang + "</a>";
      });
      return "<tr><td><a href=\"" + link + "\">" + esc(r[C.name] || "—") + "</a><br><small>" +
        esc(r[C.email]) + "</small></td><td>" + esc(r[C.organisation]) + '</td><td lang="' +
        r[C.lang] + '">' + esc(r[C.salutation]) +
        (r[C.subject] ? '<br><small>' + esc(r[C.subject]) + "</small>" : "") + "</td><td>" +
        esc(r[C.categories].join(" ")) + (r[C.copy] ? ' <span class="cc">cc</span>' : "") +
        "</td><td>" + r[C.lang] + "</td>" +
        (showState ? '<td class="state-col state-' + esc(r[C.state].split(/[ ,-]/)[0]) + '">' + esc(r[C.state]) + "</td>" : '<td class="state-col" hidden></td>') +
        "<td>" + files + "</td></tr>";
    }
    function render(writeHash) {
      var found = matching(state);
      var pages = Math.max(1, Math.ceil(found.length / D.pageSize));
      state.page = Math.min(state.page, pages);
      var start = (state.page - 1) * D.pageSize;
      var shown = found.slice(start, start + D.pageSize);
      var from = filterHash(state);
      tbody.innerHTML = shown.map(function (i) { return row(i, from); }).join("");
      var filtered = found.length === rows.length ? "" : " (filtered from " + number(rows.length) + ")";
      count.textContent = found.length
        ? "Letters " + number(start + 1) + "–" + number(start + shown.length) + " of " + number(found.length) + filtered
        : "No letter matches" + filtered + ".";
      $("page").textContent = "Page " + state.page + " of " + pages;
      $("prev").disabled = state.page <= 1;
      $("next").disabled = state.page >= pages;
      if (writeHash) history.replaceState(null, "", from ? "#" + from : location.pathname);
    }
    function changed() {
      state.q = $("q").value;
      ["lang", "cat", "state"].forEach(function (n) { state[n] = $(n).value; });
      state.page = 1;
      render(true);
    }
    $("q").addEventListener("input", changed);
    ["lang", "cat", "state"].forEach(function (n) { $(n).addEventListener("change", changed); });
    $("prev").addEventListener("click", function () { state.page -= 1; render(true); scrollTo(0, form.offsetTop); });
    $("next").addEventListener("click", function () { state.page += 1; render(true); scrollTo(0, form.offsetTop); });
    window.addEventListener("hashchange", function () {
      state = parse(location.hash);
      controls();
      render(false);
    });
    controls();
    render(false);
  }

  function letter() {
    var $ = function (id) { return document.getElementById(id); };
    var byKey = {};
    rows.forEach(function (r, i) { byKey[key(r)] = i; });
    function show() {
      var s = parse(location.hash);
      var i = byKey[s.k];
      var frames = $("frames");
      if (i === undefined) {
        frames.innerHTML = '<p style="padding:1rem">No letter ' + esc(s.k) + ' in this preview.</p>';
        return;
      }
      var r = rows[i], lang = r[C.lang];
      var from = s.from ? "&from=" + encodeURIComponent(s.from) : "";
      document.documentElement.lang = lang;
      document.title = (r[C.name] || r[C.email]) + " – " + D.name;
      $("back").href = "index.html" + (s.from ? "#" + s.from : "");
      var who = $("who");
      who.textContent = (r[C.name] || "—") + " · " + r[C.organisation] + " · " + lang.toUpperCase();
      who.lang = lang;
      if (r[C.copy]) who.insertAdjacentHTML("beforeend", ' <span class="cc" lang="en">cc</span>');
      $("files").innerHTML = D.formats.filter(function (x) { return x !== "html"; }).map(function (ext) {
        return '<a href="' + file(r, ext) + '">' + (ext === "eml" ? ".eml" : ext.toUpperCase()) + "</a>";
      }).join(" ");
      var list = matching(parse("#" + s.from));
      var at = list.indexOf(i);
      var nav = function (id, j) {
        var a = $(id);
        a.hidden = j < 0 || j >= list.length || at < 0;
        if (!a.hidden) a.href = "#k=" + encodeURIComponent(key(rows[list[j]])) + (s.view ? "&view=" + s.view : "") + from;
      };
      nav("prev-letter", at - 1);
      nav("next-letter", at + 1);
      var others = Object.keys(r[C.other]);
      var compare = $("compare");
      var two = s.view === "compare" && others.length > 0;
      compare.hidden = others.length === 0;
      if (others.length) {
        compare.textContent = two ? "Only " + (D.languages[lang] || lang) : "Side by side with " + (D.languages[others[0]] || others[0]);
        compare.href = "#k=" + encodeURIComponent(s.k) + (two ? "" : "&view=compare") + from;
      }
      var main = D.formats.indexOf("html") >= 0 ? "html" : (D.formats.indexOf("pdf") >= 0 ? "pdf" : "txt");
      var html = '<iframe title="Letter (' + lang + ')" src="' + file(r, main) + '"></iframe>';
      if (two) html += '<iframe title="Letter (' + others[0] + ')" src="' + r[C.other][others[0]] + '.html"></iframe>';
      frames.className = "frames" + (two ? " two" : "");
      frames.innerHTML = html;
    }
    window.addEventListener("hashchange", show);
    show();
  }

  if (document.body.classList.contains("letter")) letter();
  else index();
})();
