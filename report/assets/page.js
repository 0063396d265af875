"use strict";
// The report page: renders the Data that report.Builder produced (embedded
// in #report-data) with uPlot, and, on a live view, fetches it again every
// few seconds.
(function () {
  var errorsEl = document.getElementById("js-errors");
  function showError(msg) {
    errorsEl.hidden = false;
    errorsEl.textContent = (errorsEl.textContent ? errorsEl.textContent + "\n" : "") + "Page error: " + msg;
  }
  window.addEventListener("error", function (e) { showError(e.message); });
  window.addEventListener("unhandledrejection", function (e) { showError(String(e.reason)); });

  var C = { blue: "#2f6fde", orange: "#e07b00", red: "#d32f2f", green: "#2e9d4b", grey: "rgba(120,125,140,0.22)", purple: "#7b3fc4", teal: "#138a8a", muted: "#6b7385" };
  var charts = {};

  function $(id) { return document.getElementById(id); }
  function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
  function fmtCompact(n) {
    var a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "G";
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return (n / 1e3).toFixed(0) + "k";
    return fmtInt(n);
  }
  function fmtUSD(v) {
    if (v == null) return "?";
    if (v !== 0 && Math.abs(v) < 0.01) return "$" + v.toPrecision(2);
    return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function fmtMS(ms) {
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    return fmtDur(ms / 1000);
  }
  function fmtDur(s) {
    s = Math.round(s);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }
  function pct(v) { return (100 * v).toFixed(1) + "%"; }
  function setNum(id, v, text) {
    var el = $(id);
    el.dataset.value = String(v);
    el.textContent = text != null ? text : fmtInt(v);
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function fillTable(table, head, rows) {
    table.textContent = "";
    if (head) table.appendChild(el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]));
    var tb = el("tbody");
    rows.forEach(function (r) { tb.appendChild(el("tr", {}, r.map(function (c) { return c instanceof Node ? el("td", {}, [c]) : el("td", { text: String(c) }); }))); });
    table.appendChild(tb);
  }
  function sortedEntries(m) {
    return Object.keys(m || {}).map(function (k) { return [k, m[k]]; }).sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
  }

  // makeChart replaces the chart in container id.
  function makeChart(id, opts, data) {
    var box = $(id);
    if (charts[id]) { charts[id].destroy(); }
    box.textContent = "";
    opts.width = Math.max(box.clientWidth, 300);
    opts.height = opts.height || 220;
    charts[id] = new uPlot(opts, data, box);
  }
  function noData(id, why) {
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    $(id).textContent = "";
    $(id).appendChild(el("p", { cls: "muted", text: why }));
  }
  function nullIfZero(a) { return a.map(function (v) { return v > 0 ? v : null; }); }
  function perMinute(a, step) { return a.map(function (v) { return v * 60 / step; }); }
  var bars = uPlot.paths.bars({ size: [0.7, 60] });
  var leftBars = uPlot.paths.bars({ size: [0.4, 40], align: -1 });
  var rightBars = uPlot.paths.bars({ size: [0.4, 40], align: 1 });
  var stepped = uPlot.paths.stepped({ align: 1 });
  function catAxis(labels) {
    return {
      splits: function () { return labels.map(function (_, i) { return i; }); },
      values: function (u, splits) { return splits.map(function (i) { return labels[i] != null ? labels[i] : ""; }); },
      gap: 4,
    };
  }
  var catScale = { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } };
  // Counts start at zero, whatever the data's minimum.
  var countScale = { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } };

  function render(d) {
    var T = d.totals, P = d.progress, S = d.series;
    document.title = d.title + (d.live ? " (live)" : "");
    $("title").textContent = d.title;
    $("live-badge").hidden = !d.live;
    var span = d.first && d.last ? new Date(d.first).toISOString().replace("T", " ").slice(0, 19) + " → " + new Date(d.last).toISOString().replace("T", " ").slice(0, 19) + " UTC (" + fmtDur((Date.parse(d.last) - Date.parse(d.first)) / 1000) + ")" : "no records yet";
    $("subtitle").textContent = (d.source ? d.source + " · " : "") + span;
    $("generated").textContent = "Generated " + d.generated.replace("T", " ").slice(0, 19) + " UTC.";

    // Tiles.
    setNum("n-done", P.done);
    setNum("n-total", P.total, P.total ? fmtInt(P.total) : "?");
    $("done-bar").style.width = P.total ? Math.min(100, 100 * P.done / P.total) + "%" : "0";
    setNum("n-ok", T.ok);
    setNum("n-failed", T.failed);
    $("fail-rate").textContent = T.items ? pct(T.failed / T.items) + " of items" : "";
    $("rate").textContent = P.rate_per_s ? P.rate_per_s.toFixed(P.rate_per_s < 10 ? 2 : 0) + " items/s" : "–";
    $("eta").textContent = P.eta_s != null && P.done < P.total ? "ETA " + fmtDur(P.eta_s) : (P.total && P.done >= P.total ? "finished" : "");
    setNum("n-attempts", T.attempts);
    setNum("n-failed-attempts", T.failed_attempts);
    setNum("n-429", T.rate_limited);
    setNum("n-cooldowns", T.cooldowns);
    $("cooldown-s").textContent = fmtDur(T.cooldown_s) + " in total";
    setNum("cost-actual", d.cost.actual_usd, fmtUSD(d.cost.actual_usd));
    setNum("cost-projected", d.cost.projected_usd == null ? "" : d.cost.projected_usd, fmtUSD(d.cost.projected_usd));
    $("cost-estimate-wrap").hidden = d.cost.estimate_usd == null;
    $("cost-estimate").textContent = fmtUSD(d.cost.estimate_usd);
    setNum("tok-in", T.usage.input_tokens, fmtCompact(T.usage.input_tokens));
    setNum("tok-cached", T.usage.cached_input_tokens || 0, fmtCompact(T.usage.cached_input_tokens || 0));
    setNum("tok-out", T.usage.output_tokens, fmtCompact(T.usage.output_tokens));
    setNum("cache-rate", T.cache_hit_rate, pct(T.cache_hit_rate));

    renderAlerts(d);
    renderCharts(d, S);
    renderTables(d);
  }

  function renderAlerts(d) {
    var box = $("alerts"), S = d.series, c = S.columns, n = c.attempts.length;
    box.textContent = "";
    function add(kind, text) { box.appendChild(el("div", { cls: "alert " + kind, text: text })); }
    if (d.failed_items_by_class && d.failed_items_by_class.fatal_batch) {
      var g = (d.failures || []).filter(function (f) { return f.class === "fatal_batch"; })[0];
      add("bad", "The batch stopped on an error no item can get past (fatal_batch)" + (g ? ": " + g.message : "."));
    }
    // The last minute of buckets.
    var k = 0, ok = 0, failed = 0, limited = 0, calls = 0;
    for (var i = n - 1; i >= 0 && (k === 0 || k * S.step < 60); i--, k++) {
      ok += c.results_ok[i]; failed += c.results_failed[i]; limited += c.rate_limited[i]; calls += c.attempts[i];
    }
    if (ok + failed >= 5 && failed / (ok + failed) >= 0.2) add("bad", pct(failed / (ok + failed)) + " of the results in the last minute of the run failed.");
    if (calls >= 5 && limited / calls >= 0.1) add("warn", pct(limited / calls) + " of the calls in the last minute of the run were refused with 429.");
    if (d.live && (d.cooldowns || []).length) {
      var cd = d.cooldowns[d.cooldowns.length - 1], end = Date.parse(cd.start) + cd.duration_ms;
      if (end > Date.now()) add("warn", "In cooldown now (" + (cd.reason || "rate limited") + ") until " + new Date(end).toISOString().slice(11, 19) + " UTC.");
    }
    if (d.live && d.progress.total && d.progress.done < d.progress.total && d.last && Date.now() - Date.parse(d.last) > 60000) {
      add("warn", "Nothing recorded for " + fmtDur((Date.now() - Date.parse(d.last)) / 1000) + ".");
    }
    if (d.cost.projected_usd != null && d.cost.estimate_usd && d.cost.projected_usd > 1.2 * d.cost.estimate_usd) {
      add("warn", "Projected cost " + fmtUSD(d.cost.projected_usd) + " is " + pct(d.cost.projected_usd / d.cost.estimate_usd - 1) + " above the estimate made at the start (" + fmtUSD(d.cost.estimate_usd) + ").");
    }
  }

  function renderCharts(d, S) {
    var c = S.columns, n = c.attempts.length, step = S.step;
    var xs = [];
    for (var i = 0; i < n; i++) xs.push(S.start + i * step);
    // One bucket alone would leave uPlot an empty time range, which it
    // widens to years: pad it by a bucket on each side instead.
    var timeX = { time: true, range: function (u, min, max) { return min === max ? [min - step, max + step] : [min, max]; } };
    var timeScales = { x: timeX, y: countScale, cd: { range: [0, 1] } };
    var cooldownFrac = c.cooldown_s.map(function (v) { return v > 0 ? Math.min(v / step, 1) : null; });
    var cdSeries = { label: "cooldown", scale: "cd", stroke: "rgba(0,0,0,0)", fill: C.grey, paths: stepped, points: { show: false }, value: function (u, v) { return v == null ? "–" : pct(v); } };

    if (!n) {
      ["chart-throughput", "chart-tokens", "chart-results", "chart-cost"].forEach(function (id) { noData(id, "No records yet."); });
    } else {
      if (d.has_attempts) {
        makeChart("chart-throughput", {
          scales: Object.assign({ r: countScale }, timeScales),
          series: [{}, cdSeries,
            { label: "calls/min", stroke: C.blue, width: 2, points: { show: n < 60 } },
            { label: "request limit/min", stroke: C.orange, width: 2, dash: [6, 4], paths: stepped, points: { show: false } },
            { label: "429s/min", scale: "r", stroke: C.red, fill: "rgba(211,47,47,0.45)", paths: bars, points: { show: false } }],
          axes: [{}, { label: "calls per minute", size: 60 }, { scale: "r", side: 1, label: "429s per minute", stroke: C.red, size: 60, grid: { show: false } }],
        }, [xs, cooldownFrac, perMinute(c.attempts, step), nullIfZero(c.rpm_limit), nullIfZero(perMinute(c.rate_limited, step))]);
      } else {
        noData("chart-throughput", "This journal has no attempt records: no calls to plot.");
      }
      makeChart("chart-tokens", {
        scales: timeScales,
        series: [{}, cdSeries,
          { label: "input/min", stroke: C.blue, width: 2, points: { show: false } },
          { label: "cached/min", stroke: C.teal, width: 1.5, points: { show: false } },
          { label: "output/min", stroke: C.purple, width: 2, points: { show: false } },
          { label: "token limit/min", stroke: C.orange, width: 2, dash: [6, 4], paths: stepped, points: { show: false } }],
        axes: [{}, { label: "tokens per minute", size: 70, values: function (u, v) { return v.map(fmtCompact); } }],
      }, [xs, cooldownFrac, perMinute(c.input_tokens, step), perMinute(c.cached_tokens, step), perMinute(c.output_tokens, step), nullIfZero(c.tpm_limit)]);
      makeChart("chart-results", {
        scales: { x: timeX, y: countScale },
        series: [{}, { label: "ok/min", stroke: C.green, width: 2, points: { show: n < 60 } }, { label: "failed/min", stroke: C.red, width: 2, points: { show: n < 60 } }],
        axes: [{}, { label: "per minute", size: 60 }],
      }, [xs, perMinute(c.results_ok, step), perMinute(c.results_failed, step)]);
      var cum = 0, spent = c.cost_usd.map(function (v) { cum += v; return cum; });
      var costSeries = [{}, { label: "spent", stroke: C.blue, width: 2, fill: "rgba(47,111,222,0.08)", points: { show: false }, value: function (u, v) { return v == null ? "–" : fmtUSD(v); } },
        { label: "projected total", stroke: C.orange, width: 2, dash: [6, 4], points: { show: false }, value: function (u, v) { return v == null ? "–" : fmtUSD(v); } }];
      var costData = [xs, spent, S.projected_cost_usd];
      if (d.cost.estimate_usd != null) {
        costSeries.push({ label: "estimate", stroke: C.muted, width: 1, dash: [2, 3], points: { show: false }, value: function (u, v) { return v == null ? "–" : fmtUSD(v); } });
        costData.push(xs.map(function () { return d.cost.estimate_usd; }));
      }
      makeChart("chart-cost", { scales: { x: timeX, y: countScale }, series: costSeries, axes: [{}, { label: "US dollars", size: 70, values: function (u, v) { return v.map(fmtUSD); } }] }, costData);
    }

    // Latency: one histogram of both kinds on shared 1-2-5 bins.
    var L = [["item", d.item_latency], ["call", d.call_latency]];
    fillTable($("latency-table"), ["", "count", "p50", "p90", "p95", "p99", "max", "mean"], L.filter(function (l) { return l[1].count; }).map(function (l) {
      var p = l[1].percentiles;
      return [l[0], fmtInt(l[1].count), fmtMS(p.p50), fmtMS(p.p90), fmtMS(p.p95), fmtMS(p.p99), fmtMS(p.max), fmtMS(Math.round(l[1].mean_ms))];
    }));
    var edges = {};
    L.forEach(function (l) { (l[1].histogram || []).forEach(function (b) { edges[b.to_ms] = b.from_ms; }); });
    var tos = Object.keys(edges).map(Number).sort(function (a, b) { return a - b; });
    if (tos.length) {
      var labels = tos.map(function (t) { return "<" + fmtMS(t); });
      var hist = L.map(function (l) {
        var m = {};
        (l[1].histogram || []).forEach(function (b) { m[b.to_ms] = b.count; });
        return tos.map(function (t) { return m[t] || null; });
      });
      makeChart("chart-latency", {
        height: 200, scales: { x: catScale, y: countScale },
        series: [{ value: function (u, i) { return i == null ? "–" : labels[i]; } },
          { label: "items", stroke: C.blue, fill: "rgba(47,111,222,0.5)", paths: leftBars, points: { show: false } },
          { label: "calls", stroke: C.purple, fill: "rgba(123,63,196,0.45)", paths: rightBars, points: { show: false } }],
        axes: [catAxis(labels), { label: "count", size: 60 }],
      }, [tos.map(function (_, i) { return i; }), hist[0], hist[1]]);
    } else {
      noData("chart-latency", "No results yet.");
    }

    var A = d.attempts_per_item || [];
    if (A.length) {
      var alabels = A.map(function (a) { return String(a.n); });
      makeChart("chart-attempts", {
        height: 200, scales: { x: catScale, y: countScale },
        series: [{ value: function (u, i) { return i == null ? "–" : alabels[i] + " attempt(s)"; } }, { label: "items", stroke: C.blue, fill: "rgba(47,111,222,0.5)", paths: bars, points: { show: false } }],
        axes: [catAxis(alabels), { label: "items", size: 60 }],
      }, [A.map(function (_, i) { return i; }), A.map(function (a) { return a.items; })]);
    } else {
      noData("chart-attempts", "No results yet.");
    }
  }

  function classTag(c) { return el("span", { cls: "cls", text: c }); }

  function renderTables(d) {
    var retries = sortedEntries(d.failed_attempts_by_class);
    fillTable($("retries-table"), ["class", "failed attempts"], retries.length ? retries.map(function (e) { return [classTag(e[0]), fmtInt(e[1])]; }) :
      [[d.has_attempts ? "none" : "no attempt records in this journal", ""]]);
    var fc = sortedEntries(d.failed_items_by_class);
    fillTable($("failed-class-table"), ["failed items by class", "items"], fc.length ? fc.map(function (e) { return [classTag(e[0]), fmtInt(e[1])]; }) : [["none", ""]]);
    var calls = d.call_finish_reasons || {}, reasons = {};
    Object.keys(d.finish_reasons || {}).concat(Object.keys(calls)).forEach(function (k) { reasons[k] = (d.finish_reasons[k] || 0) + (calls[k] || 0); });
    fillTable($("finish-table"), ["finish reason", "items (last answer)", "answered calls"], sortedEntries(reasons).map(function (e) {
      return [e[0], fmtInt(d.finish_reasons[e[0]] || 0), d.has_attempts ? fmtInt(calls[e[0]] || 0) : "–"];
    }));

    var F = d.failures || [];
    var body = $("failures-table").tBodies[0];
    body.textContent = "";
    F.forEach(function (f) {
      var tr = el("tr", { "data-search": (f.class + " " + f.message + " " + f.pattern + " " + f.examples.join(" ")).toLowerCase() }, [
        el("td", {}, [classTag(f.class)]), el("td", { cls: "n", text: fmtInt(f.count) }),
        el("td", { cls: "msg", text: f.message || "(no message)" }), el("td", { cls: "ids", text: f.examples.join(", ") + (f.count > f.examples.length ? ", …" : "") })]);
      body.appendChild(tr);
    });
    if (!F.length) body.appendChild(el("tr", {}, [el("td", { colspan: "4", cls: "muted", text: "No failed items." })]));
    $("failures-count").textContent = F.length ? "(" + fmtInt(d.totals.failed) + " items in " + F.length + " groups)" : "";
    applySearch();

    var cds = (d.cooldowns || []).slice(-20).reverse();
    fillTable($("cooldowns-table"), ["start (UTC)", "length", "scope", "reason"], cds.length ? cds.map(function (cd) {
      return [cd.start.replace("T", " ").slice(0, 19), fmtMS(cd.duration_ms), cd.scope || "default", cd.reason || ""];
    }) : [["none", "", "", ""]]);
    var lim = Object.keys(d.limits || {}).sort();
    fillTable($("limits-table"), ["scope", "requests/min", "tokens/min"], lim.length ? lim.map(function (s) {
      var l = d.limits[s];
      return [s || "default", l.rpm ? fmtInt(l.rpm) + " (" + l.rpm_source + ")" : "none", l.tpm ? fmtInt(l.tpm) + " (" + l.tpm_source + ")" : "none"];
    }) : [[d.has_attempts ? "none known" : "not recorded", "", ""]]);

    var cfg = $("config");
    cfg.textContent = "";
    (d.runs || []).slice(-5).reverse().forEach(function (r, i) {
      cfg.appendChild(el("h3", { text: (i === 0 ? "Last run" : "Earlier run") + " · started " + r.start.replace("T", " ").slice(0, 19) + " UTC · " + fmtInt(r.items) + " items" }));
      var dl = el("dl", { cls: "config" });
      Object.keys(r.config || {}).sort().forEach(function (k) {
        var v = r.config[k];
        dl.appendChild(el("dt", { text: k }));
        dl.appendChild(el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) }));
      });
      cfg.appendChild(dl);
    });
    if (!(d.runs || []).length) cfg.appendChild(el("p", { cls: "muted", text: "Not recorded in this journal." }));

    $("notes-card").hidden = !(d.notes || []).length;
    var notes = $("notes");
    notes.textContent = "";
    (d.notes || []).forEach(function (t) { notes.appendChild(el("li", { text: t })); });
  }

  function applySearch() {
    var q = $("failure-search").value.trim().toLowerCase();
    Array.prototype.forEach.call($("failures-table").tBodies[0].rows, function (tr) {
      var s = tr.getAttribute("data-search");
      tr.hidden = !!(q && s && s.indexOf(q) < 0);
    });
  }
  $("failure-search").addEventListener("input", applySearch);

  var data = JSON.parse($("report-data").textContent);
  window.batchllmReport = { data: function () { return data; }, charts: charts };
  render(data);

  if (data.live) {
    var failures = 0;
    var poll = function () {
      fetch("data.json", { cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (d) {
        failures = 0;
        data = d;
        render(d);
        setTimeout(poll, 2000);
      }).catch(function () {
        failures++;
        var b = $("live-badge");
        b.textContent = "OFFLINE";
        b.className = "badge done";
        b.title = "The run is not answering: it has probably ended.";
        if (failures < 5) setTimeout(poll, 5000);
      });
    };
    setTimeout(poll, 2000);
  }
  window.addEventListener("resize", function () { render(data); });
})();
