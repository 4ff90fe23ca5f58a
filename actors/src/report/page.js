"use strict";
(function () {
  var errors = document.getElementById("errors");
  function fail(text) {
    errors.hidden = false;
    errors.textContent += text + "\n";
  }
  window.addEventListener("error", function (e) { fail("error: " + e.message); });
  var COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"];
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function ms(v) { return v.toFixed(2); }
  function num(v) { return String(Math.round(v)); }
  function section(root, title) {
    root.appendChild(el("h2", {}, title));
  }
  function table(root, id, head, rows) {
    var t = el("table", { id: id });
    var thead = el("thead"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) { row.appendChild(el("td", {}, String(c))); });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    root.appendChild(t);
    return t;
  }
  function note(root, cls, text) { root.appendChild(el("div", { "class": cls }, text)); }

  // A line chart of `lines` ([{label, values}]) over `xs` (seconds).
  function chart(root, id, title, unit, xs, lines) {
    var W = 520, H = 220, L = 56, R = 10, T = 10, B = 28;
    var fig = el("figure", { id: id });
    fig.appendChild(el("figcaption", {}, title));
    var svg = svgEl("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
    var xmax = Math.max(1, xs.length ? xs[xs.length - 1] : 1);
    var ymax = 0;
    lines.forEach(function (l) { l.values.forEach(function (v) { ymax = Math.max(ymax, v); }); });
    ymax = ymax > 0 ? ymax * 1.1 : 1;
    function x(v) { return L + (W - L - R) * v / xmax; }
    function y(v) { return T + (H - T - B) * (1 - v / ymax); }
    svg.appendChild(svgEl("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#999" }));
    svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: y(0), stroke: "#999" }));
    for (var i = 0; i <= 4; i++) {
      var v = ymax * i / 4;
      svg.appendChild(svgEl("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" },
        v >= 100 ? num(v) : v.toFixed(v >= 10 ? 1 : 2)));
      svg.appendChild(svgEl("text", { x: x(xmax * i / 4), y: H - 10, "text-anchor": "middle" },
        num(xmax * i / 4) + " s"));
    }
    svg.appendChild(svgEl("text", { x: 4, y: T + 8 }, unit));
    var legend = el("div", { "class": "legend" });
    lines.forEach(function (l, k) {
      var pts = l.values.map(function (v, j) { return x(xs[j]).toFixed(1) + "," + y(v).toFixed(1); });
      svg.appendChild(svgEl("polyline", {
        points: pts.join(" "), fill: "none", stroke: COLORS[k % COLORS.length],
        "stroke-width": 1.6, "data-label": l.label, "data-points": String(l.values.length)
      }));
      var s = el("span");
      s.appendChild(el("i", { style: "background:" + COLORS[k % COLORS.length] }));
      s.appendChild(document.createTextNode(l.label));
      legend.appendChild(s);
    });
    fig.appendChild(svg);
    fig.appendChild(legend);
    root.appendChild(fig);
  }

  function latencyRow(name, n) {
    var c = n.corrected, s = n.service;
    return [name, n.count, n.ok, n.failed, n.rate_per_s.toFixed(1),
      ms(c.min_ms), ms(c.p50_ms), ms(c.p90_ms), ms(c.p95_ms), ms(c.p99_ms), ms(c.p99_9_ms),
      ms(c.max_ms), ms(c.mean_ms), ms(c.stddev_ms), ms(s.p50_ms), ms(s.p99_ms)];
  }

  function render(r) {
    var root = document.getElementById("report");
    var head = r.scenario + " · amoc " + r.version + " · started " + r.started_at +
      " · " + r.elapsed_s.toFixed(1) + " s · " + r.users.planned + " users";
    root.appendChild(el("p", { id: "run" }, head));
    if (r.interrupted) note(root, "warn", "The run was stopped early: " + r.interrupted + ".");
    if (r.generator.warning) note(root, "warn", "Warning: " + r.generator.warning + ".");
    r.throttles.forEach(function (t) { if (t.hint) note(root, "warn", t.name + ": " + t.hint + "."); });
    r.thresholds.forEach(function (v) { note(root, v.passed ? "good" : "bad", v.text); });

    section(root, "Over time");
    var charts = el("div", { "class": "charts" });
    root.appendChild(charts);
    var xs = r.series.map(function (p) { return p.t_s; });
    function col(k) { return r.series.map(function (p) { return p[k]; }); }
    chart(charts, "chart-users", "Users", "users", xs, [{ label: "running", values: col("users") }]);
    chart(charts, "chart-rate", "Requests per second", "req/s", xs, [
      { label: "ok", values: col("ok_per_s") }, { label: "failed", values: col("failed_per_s") }]);
    chart(charts, "chart-corrected", "Latency, corrected (from due time)", "ms", xs, [
      { label: "p50", values: col("corrected_p50_ms") }, { label: "p95", values: col("corrected_p95_ms") },
      { label: "p99", values: col("corrected_p99_ms") }]);
    chart(charts, "chart-service", "Latency, service time", "ms", xs, [
      { label: "p50", values: col("service_p50_ms") }, { label: "p95", values: col("service_p95_ms") },
      { label: "p99", values: col("service_p99_ms") }]);
    chart(charts, "chart-cpu", "Generator CPU (% of one core; " + r.generator.cores + " cores)", "%", xs,
      [{ label: "cpu", values: col("cpu_percent") }]);

    section(root, "Requests by name (latency in ms; corrected unless marked service)");
    var rows = r.names.map(function (n) { return latencyRow(n.name, n); });
    rows.push(latencyRow("all", r.totals));
    table(root, "names", ["name", "count", "ok", "failed", "req/s", "min", "p50", "p90", "p95",
      "p99", "p99.9", "max", "mean", "stddev", "service p50", "service p99"], rows);

    section(root, "Errors by class");
    table(root, "errors-by-class", ["class", "count"],
      Object.keys(r.totals.errors).map(function (k) { return [k, r.totals.errors[k]]; }));

    if (r.throttles.length) {
      section(root, "Throttles");
      table(root, "throttles", ["throttle", "asked/s", "achieved/s", "granted", "missed"],
        r.throttles.map(function (t) {
          return [t.name, t.asked_per_s === null ? "unlimited" : t.asked_per_s.toFixed(1),
            t.achieved_per_s.toFixed(1), t.granted, t.missed];
        }));
    }
    var counters = Object.keys(r.counters);
    if (counters.length) {
      section(root, "Counters");
      table(root, "counters", ["counter", "value"], counters.map(function (k) { return [k, r.counters[k]]; }));
    }
    section(root, "Settings");
    table(root, "settings", ["setting", "value"], Object.keys(r.settings).map(function (k) {
      return [k, JSON.stringify(r.settings[k])];
    }));
  }

  try {
    var data = JSON.parse(document.getElementById("data").textContent);
    render(data);
    document.body.appendChild(el("div", { id: "rendered", hidden: "" }, "ok"));
  } catch (e) {
    fail("cannot render the report: " + (e && e.stack ? e.stack : e));
  }
})();
