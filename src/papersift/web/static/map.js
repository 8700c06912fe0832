// The map page: every paper a dot on one canvas (no DOM node per paper).
// Data: /api/map (topics, areas, highlight) and /api/map/points (four uint16 arrays);
// titles are fetched in chunks of 1000 when the pointer first reaches one of their dots.
(function () {
  "use strict";
  var root = document.getElementById("atlas");
  if (!root || !window.fetch) return;
  var canvas = document.getElementById("atlas-canvas");
  var tip = document.getElementById("atlas-tip");
  var status = document.getElementById("atlas-status");
  var colourSelect = document.getElementById("atlas-colour");
  var ctx = canvas.getContext("2d");
  var GRID = 128;
  var OTHER = "#c0c4cc";
  var meta = null, n = 0, X = null, Y = null, T = null, C = null;
  var areaOfTopic = null, groups = [], colours = [], flags = null, hot = [];
  var cellStart = null, cellItems = null, chunks = {};
  var W = 0, H = 0, dpr = 1, base = 1, s = 1, tx = 0, ty = 0;
  var hover = -1, focus = -1, pending = false, drag = null;
  var state = window.__map = { draws: 0, firstDraw: null, labels: [], scale: 1, hover: -1 };

  function say(text) { status.textContent = text; }

  function resize() {
    var width = root.clientWidth;
    var height = Math.max(360, Math.min(window.innerHeight - 120, Math.round(width * 0.72)));
    dpr = window.devicePixelRatio || 1;
    var oldBase = base;
    W = width; H = height; base = Math.min(W, H);
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + "px"; canvas.style.height = H + "px";
    if (state.draws === 0) { tx = (W - base) / 2; ty = (H - base) / 2; }
    else { tx *= base / oldBase; ty *= base / oldBase; }
  }

  function groupBy(keyOf, count) {
    // counting sort of the points by colour: one fillStyle change per colour when drawing
    var sizes = new Int32Array(count), i, k;
    for (i = 0; i < n; i++) sizes[keyOf(i)]++;
    var lists = [];
    for (k = 0; k < count; k++) lists.push(new Int32Array(sizes[k]));
    var fill = new Int32Array(count);
    for (i = 0; i < n; i++) { k = keyOf(i); lists[k][fill[k]++] = i; }
    return lists;
  }

  function recolour() {
    var mode = colourSelect.value, palette = meta.palette;
    if (mode === "category") {
      var shown = Math.min(10, meta.categories.length);
      colours = palette.slice(0, shown).concat([OTHER]);
      groups = groupBy(function (i) { return C[i] < shown ? C[i] : shown; }, shown + 1);
    } else if (mode === "topic") {
      colours = palette.slice();
      groups = groupBy(function (i) { return T[i] % palette.length; }, palette.length);
    } else {
      colours = palette.slice();
      groups = groupBy(function (i) { return areaOfTopic[T[i]] % palette.length; },
                       palette.length);
    }
    legend(mode);
    redraw();
  }

  function legend(mode) {
    var key = document.getElementById("atlas-key");
    if (!key) {
      key = document.createElement("ul");
      key.id = "atlas-key"; key.className = "atlas-key";
      root.parentNode.insertBefore(key, root.nextSibling);
    }
    key.replaceChildren();
    var items = [];
    if (mode === "category") {
      meta.categories.slice(0, 10).forEach(function (name, i) { items.push([colours[i], name]); });
      items.push([OTHER, "other"]);
    } else if (mode === "area") {
      meta.areas.forEach(function (a) { items.push([colours[a.id % colours.length], a.label]); });
    }
    items.forEach(function (item) {
      var li = document.createElement("li"), dot = document.createElement("span");
      dot.className = "dot"; dot.style.background = item[0];
      li.appendChild(dot); li.appendChild(document.createTextNode(item[1]));
      key.appendChild(li);
    });
  }

  function buildGrid() {
    var counts = new Int32Array(GRID * GRID + 1), cell = new Int32Array(n), i;
    for (i = 0; i < n; i++) {
      var cx = Math.min(GRID - 1, Math.floor(X[i] * GRID));
      var cy = Math.min(GRID - 1, Math.floor(Y[i] * GRID));
      cell[i] = cy * GRID + cx; counts[cell[i] + 1]++;
    }
    for (i = 0; i < GRID * GRID; i++) counts[i + 1] += counts[i];
    cellStart = counts.slice();
    cellItems = new Int32Array(n);
    var fill = counts.slice(0, GRID * GRID);
    for (i = 0; i < n; i++) cellItems[fill[cell[i]]++] = i;
  }

  function scale() { return base * s; }
  function sx(i) { return X[i] * scale() + tx; }
  function sy(i) { return (1 - Y[i]) * scale() + ty; }

  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  function draw() {
    var began = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    var a = scale(), density = Math.sqrt(4000 / Math.max(n, 1));
    var size = Math.max(1.6, Math.min(9, 2.2 * density * Math.sqrt(s) + 0.6 * Math.log2(s + 1)));
    var half = size / 2, g, j, i, x, y, list;
    var alpha = flags ? 0.2 : 0.75;
    if (size * dpr <= 4) {
      drawPixels(Math.max(1, Math.round(size * dpr)), alpha, a);
    } else {
      ctx.globalAlpha = alpha;
      for (g = 0; g < groups.length; g++) {
        ctx.fillStyle = colours[g]; list = groups[g];
        for (j = 0; j < list.length; j++) {
          i = list[j]; x = X[i] * a + tx; y = (1 - Y[i]) * a + ty;
          if (x < -half || y < -half || x > W + half || y > H + half) continue;
          ctx.fillRect(x - half, y - half, size, size);
        }
      }
    }
    ctx.globalAlpha = 1;
    if (flags) drawHot(size + 2);
    [focus, hover].forEach(function (k) { if (k >= 0) ring(k, size + 5, "#dc2626"); });
    labels();
    state.draws++; state.scale = s; state.drawMs = performance.now() - began;
    if (state.firstDraw === null) state.firstDraw = performance.now();
  }

  var pixels = null;

  function packed(hex, alpha) {
    // a colour blended over white, as the little-endian RGBA word of an ImageData
    var v = parseInt(hex.slice(1), 16), mix = function (c) { return Math.round(255 - alpha * (255 - c)); };
    return ((255 << 24) | (mix(v & 255) << 16) | (mix((v >> 8) & 255) << 8) | mix(v >> 16)) >>> 0;
  }

  function drawPixels(size, alpha, a) {
    // Small dots: write pixels directly (a few ms for 75k points, where fillRect takes tens)
    var cw = canvas.width, ch = canvas.height, g, j, i, px, py, dx, dy, at;
    if (!pixels || pixels.width !== cw || pixels.height !== ch) pixels = ctx.createImageData(cw, ch);
    var buf = new Uint32Array(pixels.data.buffer);
    buf.fill(0xffffffff);
    var k = a * dpr, ox = tx * dpr - size / 2, oy = ty * dpr - size / 2;
    for (g = 0; g < groups.length; g++) {
      var colour = packed(colours[g], alpha), list = groups[g];
      for (j = 0; j < list.length; j++) {
        i = list[j];
        px = Math.round(X[i] * k + ox); py = Math.round((1 - Y[i]) * k + oy);
        if (px < 0 || py < 0 || px > cw - size || py > ch - size) continue;
        for (dy = 0; dy < size; dy++) {
          at = (py + dy) * cw + px;
          for (dx = 0; dx < size; dx++) buf[at + dx] = colour;
        }
      }
    }
    ctx.putImageData(pixels, 0, 0);
  }

  function drawHot(size) {
    ctx.fillStyle = "#111827";
    for (var j = 0; j < hot.length; j++) {
      var i = hot[j];
      ctx.beginPath(); ctx.arc(sx(i), sy(i), size / 2 + 1, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = "#facc15";
      ctx.beginPath(); ctx.arc(sx(i), sy(i), size / 2, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = "#111827";
    }
  }

  function ring(i, size, colour) {
    ctx.strokeStyle = colour; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(sx(i), sy(i), size / 2 + 2, 0, 2 * Math.PI); ctx.stroke();
  }

  function labels() {
    // areas while zoomed out, topics from 2x; larger first, none overlapping
    var boxes = [], placed = [], a = scale();
    ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.lineJoin = "round";
    function put(text, x, y, font, colour) {
      ctx.font = font;
      var w = ctx.measureText(text).width, h = parseInt(font.match(/(\d+)px/)[1], 10);
      var box = [x - w / 2 - 3, y - h / 2 - 2, x + w / 2 + 3, y + h / 2 + 2];
      if (box[0] < 0 || box[1] < 0 || box[2] > W || box[3] > H) return;
      for (var k = 0; k < boxes.length; k++) {
        var b = boxes[k];
        if (box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3]) return;
      }
      boxes.push(box); placed.push(text);
      ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 4; ctx.strokeText(text, x, y);
      ctx.fillStyle = colour; ctx.fillText(text, x, y);
    }
    function bySize(list) {
      return list.filter(function (c) { return c.size > 0; })
        .sort(function (p, q) { return q.size - p.size; });
    }
    if (s < 3) {
      bySize(meta.areas).forEach(function (area) {
        put(area.label, area.x * a + tx, (1 - area.y) * a + ty, "bold 15px system-ui, sans-serif",
            "#111827");
      });
    }
    if (s >= 2) {
      bySize(meta.topics).forEach(function (t) {
        put(t.label, t.x * a + tx, (1 - t.y) * a + ty, "12px system-ui, sans-serif", "#1f2937");
      });
    }
    state.labels = placed;
  }

  function nearest(mx, my) {
    var a = scale(), wx = (mx - tx) / a, wy = 1 - (my - ty) / a, r = 9 / a;
    var best = -1, bestD = 81;
    var x0 = Math.max(0, Math.floor((wx - r) * GRID)), x1 = Math.min(GRID - 1, Math.floor((wx + r) * GRID));
    var y0 = Math.max(0, Math.floor((wy - r) * GRID)), y1 = Math.min(GRID - 1, Math.floor((wy + r) * GRID));
    for (var cy = y0; cy <= y1; cy++) {
      for (var cx = x0; cx <= x1; cx++) {
        var c = cy * GRID + cx;
        for (var k = cellStart[c]; k < cellStart[c + 1]; k++) {
          var i = cellItems[k], dx = sx(i) - mx, dy = sy(i) - my, d = dx * dx + dy * dy;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  function paperAt(i) {
    var chunk = Math.floor(i / 1000);
    if (!chunks[chunk]) {
      chunks[chunk] = fetch(meta.titles.replace("{chunk}", chunk), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("titles " + r.status); return r.json(); })
        .catch(function (e) { delete chunks[chunk]; throw e; });
    }
    return chunks[chunk].then(function (c) {
      return { id: c.ids[i - c.start], title: c.titles[i - c.start] };
    });
  }

  function paperPath(id) { return "/papers/" + id.split("/").map(encodeURIComponent).join("/"); }

  function showTip(i, mx, my) {
    var topic = meta.topics[T[i]];
    tip.hidden = false;
    tip.style.left = Math.min(mx + 14, W - 260) + "px";
    tip.style.top = (my + 14) + "px";
    tip.replaceChildren();
    var title = document.createElement("strong"), sub = document.createElement("span");
    title.textContent = "…"; sub.textContent = topic ? topic.label : "";
    tip.appendChild(title); tip.appendChild(sub);
    paperAt(i).then(function (p) {
      if (hover === i) { title.textContent = p.title; state.hoverTitle = p.title; }
    }).catch(function () { title.textContent = "(title unavailable)"; });
  }

  function pointer(event) {
    var r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  }

  function zoomAt(mx, my, factor) {
    var next = Math.max(0.5, Math.min(400, s * factor));
    factor = next / s; s = next;
    tx = mx - (mx - tx) * factor; ty = my - (my - ty) * factor;
    redraw();
  }

  function listen() {
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = pointer(e);
      zoomAt(p[0], p[1], Math.exp(-e.deltaY * 0.0015));
    }, { passive: false });
    canvas.addEventListener("pointerdown", function (e) {
      var p = pointer(e);
      drag = { x: p[0], y: p[1], tx: tx, ty: ty, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      var p = pointer(e);
      if (drag) {
        if (Math.abs(p[0] - drag.x) + Math.abs(p[1] - drag.y) > 4) drag.moved = true;
        if (drag.moved) { tx = drag.tx + p[0] - drag.x; ty = drag.ty + p[1] - drag.y; redraw(); return; }
      }
      var i = nearest(p[0], p[1]);
      if (i !== hover) {
        hover = i; state.hover = i; redraw();
        if (i >= 0) showTip(i, p[0], p[1]); else tip.hidden = true;
      }
    });
    canvas.addEventListener("pointerup", function (e) {
      var clicked = drag && !drag.moved;
      drag = null;
      if (!clicked) return;
      var p = pointer(e), i = nearest(p[0], p[1]);
      if (i >= 0) paperAt(i).then(function (paper) { if (paper.id) location.href = paperPath(paper.id); });
    });
    canvas.addEventListener("pointerleave", function () { hover = -1; tip.hidden = true; redraw(); });
    document.getElementById("atlas-zoom-in").addEventListener("click", function () { zoomAt(W / 2, H / 2, 1.8); });
    document.getElementById("atlas-zoom-out").addEventListener("click", function () { zoomAt(W / 2, H / 2, 1 / 1.8); });
    document.getElementById("atlas-reset").addEventListener("click", function () {
      s = 1; tx = (W - base) / 2; ty = (H - base) / 2; redraw();
    });
    colourSelect.addEventListener("change", recolour);
    window.addEventListener("resize", function () { resize(); redraw(); });
  }

  // For tests and benchmarks: where a point is on the canvas, and a point in view.
  state.screenOf = function (i) { return [sx(i), sy(i)]; };
  state.pointInView = function (margin) {
    for (var i = 0; i < n; i++) {
      var x = sx(i), y = sy(i);
      if (x > margin && y > margin && x < W - margin && y < H - margin && nearest(x, y) === i) return i;
    }
    return -1;
  };

  function start(points) {
    var u16 = new Uint16Array(points);
    n = meta.count; X = new Float32Array(n); Y = new Float32Array(n);
    for (var i = 0; i < n; i++) { X[i] = u16[i] / 65534; Y[i] = u16[n + i] / 65534; }
    T = u16.subarray(2 * n, 3 * n); C = u16.subarray(3 * n, 4 * n);
    areaOfTopic = meta.topics.map(function (t) { return t.area; });
    if (meta.highlight) {
      flags = new Uint8Array(n); hot = meta.highlight.indices;
      hot.forEach(function (k) { flags[k] = 1; });
      say(hot.length + " papers highlighted: " + meta.highlight.label);
    } else say("");
    buildGrid();
    var wanted = new URLSearchParams(location.search).get("colour");
    if (wanted) colourSelect.value = wanted;
    resize(); listen();
    if (meta.focus !== null && meta.focus !== undefined) {
      focus = meta.focus; s = 6;
      tx = W / 2 - X[focus] * base * s; ty = H / 2 - (1 - Y[focus]) * base * s;
    }
    recolour();
  }

  say("Loading the map…");
  var query = root.dataset.query ? "?" + root.dataset.query : "";
  fetch(root.dataset.api + query, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("map " + r.status); return r.json(); })
    .then(function (m) { meta = m; return fetch(m.points.url); })
    .then(function (r) { if (!r.ok) throw new Error("points " + r.status); return r.arrayBuffer(); })
    .then(start)
    .catch(function (e) { say("The map could not be loaded (" + e.message + ")."); });
})();
