// Faces found and cropped in the browser exactly as `fermask predict --detector haar` finds and crops them
// (fermask.faces: HaarDetector, face_crops), so that the page's probabilities are the command's.
// Each function repeats the arithmetic of the OpenCV 4 function it stands for (cvtColor BGR2GRAY;
// resize with INTER_AREA, INTER_LINEAR and INTER_LINEAR_EXACT; equalizeHist; integral;
// CascadeClassifier.detectMultiScale; groupRectangles), float32 roundings included; test_faces.mjs
// compares them with OpenCV on the sample photos. An image is {width, height, px, data}: `px` bytes per
// pixel (4: RGBA from a canvas, 3: RGB, 1: gray), 8-bit samples; colour channels are processed alike.

const f32 = Math.fround;

export function cvRound(x) {            // OpenCV's cvRound: to the nearest integer, halves to even
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}
const u8 = x => x < 0 ? 0 : x > 255 ? 255 : x;   // saturate_cast<uchar> of an integer
const channels = image => image.px === 1 ? 1 : 3;

export function gray(image) {           // cvtColor(BGR2GRAY) of 8-bit pixels: fixed point, 15 bits
  const {width, height, px, data} = image, out = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < out.length; i += px, j++)
    out[j] = (data[i] * 9798 + data[i + 1] * 19235 + data[i + 2] * 3735 + 16384) >> 15;   // R, G, B
  return {width, height, px: 1, data: out};
}

function areaTable(ssize, dsize, scale) {   // computeResizeAreaTab: [destination, source, weight]
  const tab = [];
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale, fsx2 = fsx1 + scale, cell = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1); sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) tab.push([dx, sx1 - 1, f32((sx1 - fsx1) / cell)]);
    for (let sx = sx1; sx < sx2; sx++) tab.push([dx, sx, f32(1.0 / cell)]);
    if (fsx2 - sx2 > 1e-3) tab.push([dx, sx2, f32(Math.min(Math.min(fsx2 - sx2, 1.), cell) / cell)]);
  }
  return tab;
}

function resizeAreaFast(image, dw, dh, ix, iy) {   // INTER_AREA at an integer ratio (resizeAreaFast_)
  const {width: sw, height: sh, px, data} = image, cn = channels(image);
  const out = new Uint8Array(dw * dh * cn), scale = f32(1 / (ix * iy)), pairs = ix === 2 && iy === 2;
  const inner = Math.min(dw, Math.floor(sw / ix)), sums = new Int32Array(inner * cn);
  for (let dy = 0; dy < dh; dy++) {
    const sy0 = dy * iy, o = dy * dw * cn;
    let dx = 0;
    if (sy0 + iy <= sh) {               // whole blocks: sums of ix x iy pixels
      sums.fill(0);
      for (let sy = sy0; sy < sy0 + iy; sy++)
        for (let d = 0, i = sy * sw * px, k = 0; d < inner; d++, k += cn)
          if (cn === 3) for (let sx = 0; sx < ix; sx++, i += px) { sums[k] += data[i]; sums[k + 1] += data[i + 1]; sums[k + 2] += data[i + 2]; }
          else for (let sx = 0; sx < ix; sx++, i += px) sums[k] += data[i];
      for (let k = 0; k < sums.length; k++) out[o + k] = pairs ? (sums[k] + 2) >> 2 : u8(cvRound(f32(sums[k] * scale)));   // 2x2: vectorised, halves up
      dx = inner;
    }
    for (; dx < dw; dx++) for (let c = 0; c < cn; c++) {   // blocks cut by the image's edge: the mean of what is inside
      let sum = 0, count = 0;
      for (let sy = sy0; sy < sy0 + iy && sy < sh; sy++)
        for (let sx = dx * ix; sx < dx * ix + ix && sx < sw; sx++) { sum += data[(sy * sw + sx) * px + c]; count++; }
      out[o + dx * cn + c] = count ? u8(cvRound(f32(f32(sum) / count))) : 0;
    }
  }
  return {width: dw, height: dh, px: cn, data: out};
}

export function resizeArea(image, dw, dh, scaleX, scaleY) {   // resize(INTER_AREA), shrinking; scales: source / destination
  const {width: sw, height: sh, px, data} = image, cn = channels(image);
  const ix = cvRound(scaleX), iy = cvRound(scaleY);
  if (Math.abs(scaleX - ix) < Number.EPSILON && Math.abs(scaleY - iy) < Number.EPSILON) return resizeAreaFast(image, dw, dh, ix, iy);
  const out = new Uint8Array(dw * dh * cn), xtab = areaTable(sw, dw, scaleX), ytab = areaTable(sh, dh, scaleY);
  const buf = new Float64Array(dw * cn), sum = new Float64Array(dw * cn);
  const flush = dy => { for (let i = 0; i < sum.length; i++) out[dy * dw * cn + i] = u8(cvRound(sum[i])); };
  let prev = ytab[0][0];
  for (const [dy, sy, beta] of ytab) {
    buf.fill(0);
    const row = sy * sw * px;
    for (const [dx, sx, alpha] of xtab)
      for (let c = 0; c < cn; c++) buf[dx * cn + c] = f32(buf[dx * cn + c] + f32(data[row + sx * px + c] * alpha));
    if (dy !== prev) { flush(prev); for (let i = 0; i < sum.length; i++) sum[i] = f32(beta * buf[i]); prev = dy; }
    else for (let i = 0; i < sum.length; i++) sum[i] = f32(sum[i] + f32(beta * buf[i]));
  }
  flush(prev);
  return {width: dw, height: dh, px: cn, data: out};
}

function exactCoeffs(ssize, dsize) {    // INTER_LINEAR_EXACT's interpolationLinear: offsets, weights in 1/256, border range
  const scale = 1 / (dsize / ssize), ofs = new Int32Array(dsize), w1 = new Int32Array(dsize);
  let lo = 0, hi = dsize;
  for (let d = 0; d < dsize; d++) {
    const fval = scale * (d + 0.5) - 0.5, ival = Math.floor(fval);
    if (ival >= 0 && ssize > 1) {
      if (ival < ssize - 1) { ofs[d] = ival; w1[d] = cvRound((fval - ival) * 256); }
      else { ofs[d] = ssize - 1; hi = Math.min(hi, d); }
    } else lo = Math.max(lo, d + 1);
  }
  return {ofs, w1, lo, hi};
}

export function resizeLinearExact(image, dw, dh) {   // resize(INTER_LINEAR_EXACT) of a gray image
  const {width: sw, height: sh, data} = image, out = new Uint8Array(dw * dh);
  const x = exactCoeffs(sw, dw), y = exactCoeffs(sh, dh), line = new Int32Array(dw), a = new Int32Array(dw), b = new Int32Array(dw);
  const hline = (sy, dst) => {          // one source row, horizontally: 8.8 fixed point
    const row = sy * sw;
    for (let d = 0; d < dw; d++) {
      if (d < x.lo) dst[d] = data[row] << 8;
      else if (d < x.hi) dst[d] = data[row + x.ofs[d]] * (256 - x.w1[d]) + data[row + x.ofs[d] + 1] * x.w1[d];
      else dst[d] = data[row + x.ofs[dw - 1]] << 8;
    }
  };
  for (let dy = 0; dy < dh; dy++) {
    const o = dy * dw;
    if (dy < y.lo || dy >= y.hi) {
      hline(dy < y.lo ? 0 : sh - 1, line);
      for (let d = 0; d < dw; d++) out[o + d] = (line[d] + 128) >> 8;
    } else {
      hline(y.ofs[dy], a); hline(y.ofs[dy] + 1, b);
      const w1 = y.w1[dy], w0 = 256 - w1;
      for (let d = 0; d < dw; d++) out[o + d] = Math.min(255, (a[d] * w0 + b[d] * w1 + 32768) >>> 16);
    }
  }
  return {width: dw, height: dh, px: 1, data: out};
}

function linearCoeffs(ssize, dsize, scale, clamp) {   // INTER_LINEAR's offsets and weights in 1/2048
  const ofs = new Int32Array(dsize), w0 = new Int32Array(dsize), w1 = new Int32Array(dsize);
  for (let d = 0; d < dsize; d++) {
    let fx = f32((d + 0.5) * scale - 0.5), sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (clamp && sx < 0) { fx = 0; sx = 0; }            // columns are clamped; rows past an edge read the edge row twice
    if (clamp && sx >= ssize - 1) { fx = 0; sx = ssize - 1; }
    ofs[d] = sx; w0[d] = cvRound(f32(1 - fx) * 2048); w1[d] = cvRound(fx * 2048);
  }
  return {ofs, w0, w1};
}

export function resizeLinear(image, dw, dh) {   // resize(INTER_LINEAR) of a gray image, as its vectorised 8-bit path rounds
  const {width: sw, height: sh, data} = image, out = new Uint8Array(dw * dh);
  const x = linearCoeffs(sw, dw, 1 / (dw / sw), true), y = linearCoeffs(sh, dh, 1 / (dh / sh), false);
  const row = sy => Math.min(Math.max(sy, 0), sh - 1);
  const hline = sy => Int32Array.from({length: dw}, (_, d) => {
    const s = Math.min(x.ofs[d] + 1, sw - 1);
    return data[sy * sw + x.ofs[d]] * x.w0[d] + data[sy * sw + s] * x.w1[d];
  });
  for (let dy = 0; dy < dh; dy++) {
    const a = hline(row(y.ofs[dy])), b = hline(row(y.ofs[dy] + 1));
    for (let d = 0; d < dw; d++)
      out[dy * dw + d] = u8((((a[d] >> 4) * y.w0[dy] >> 16) + ((b[d] >> 4) * y.w1[dy] >> 16) + 2) >> 2);
  }
  return {width: dw, height: dh, px: 1, data: out};
}

export function equalizeHist(image) {
  const {data} = image, hist = new Int32Array(256), lut = new Uint8Array(256);
  for (const v of data) hist[v]++;
  let i = 0;
  while (!hist[i]) i++;
  if (hist[i] === data.length) return {...image, data: new Uint8Array(data.length).fill(i)};
  const scale = f32(255 / (data.length - hist[i]));
  let sum = 0;
  for (lut[i++] = 0; i < 256; i++) { sum += hist[i]; lut[i] = u8(cvRound(f32(sum * scale))); }
  return {...image, data: data.map(v => lut[v])};
}

// The cascade, as build.py writes it from OpenCV's XML: {window: [w, h], features: [[[x, y, w, h, weight], ...]],
// stages: [{threshold, stumps: [[feature, threshold, left, right], ...]}]}, every number a float32 value.
function integrals(image) {             // integral(sum, sqsum) in 32-bit integers, one row and column of zeros first
  const {width: w, height: h, data} = image, W = w + 1;
  const sum = new Int32Array(W * (h + 1)), sq = new Int32Array(W * (h + 1));
  for (let y = 0; y < h; y++) {
    let s = 0, q = 0;
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x];
      s += v; q = (q + v * v) | 0;
      sum[(y + 1) * W + x + 1] = sum[y * W + x + 1] + s;
      sq[(y + 1) * W + x + 1] = (sq[y * W + x + 1] + q) | 0;
    }
  }
  return {sum, sq, W};
}

function prepared(cascade) {            // float32 numbers once; stage thresholds less THRESHOLD_EPS, as OpenCV loads them
  if (cascade.ready) return cascade;
  const stumps = cascade.stages.flatMap(s => s.stumps);
  cascade.ready = {
    stages: cascade.stages.map(s => [s.stumps.length, f32(f32(s.threshold) - f32(1e-5))]),
    feature: Int32Array.from(stumps, s => s[0]), threshold: Float32Array.from(stumps, s => s[1]),
    left: Float32Array.from(stumps, s => s[2]), right: Float32Array.from(stumps, s => s[3]),
    weights: Float32Array.from(cascade.features.flatMap(rs => [0, 1, 2].map(k => rs[k] ? rs[k][4] : 0))),
  };
  return cascade;
}

function offsets(cascade, W) {          // each feature's rectangles as four corners in an integral image of row length W
  const ofs = new Int32Array(cascade.features.length * 12);
  cascade.features.forEach((rs, f) => rs.forEach(([x, y, w, h], k) =>
    ofs.set([y * W + x, y * W + x + w, (y + h) * W + x, (y + h) * W + x + w], f * 12 + k * 4)));
  return ofs;
}

function windows(cascade, image, factor, found) {   // the windows of one scale that pass every stage (CascadeClassifierInvoker)
  const {sum, sq, W} = integrals(image), [ww, wh] = cascade.window, {stages, feature, threshold, left, right, weights} = cascade.ready;
  const ofs = offsets(cascade, W), step = factor >= 2 ? 1 : 2, area = (ww - 2) * (wh - 2);
  const n0 = W + 1, n1 = W + ww - 1, n2 = (wh - 1) * W + 1, n3 = (wh - 1) * W + ww - 1;   // the normalisation rectangle (1, 1, ww-2, wh-2)
  const side = [cvRound(f32(ww * factor)), cvRound(f32(wh * factor))];
  for (let y = 0; y < image.height + 1 - wh; y += step) {
    for (let x = 0; x < image.width + 1 - ww; x += step) {
      const at = y * W + x;
      const valsum = sum[at + n0] - sum[at + n1] - sum[at + n2] + sum[at + n3];
      const valsq = (sq[at + n0] - sq[at + n1] - sq[at + n2] + sq[at + n3]) >>> 0;
      const nf = area * valsq - valsum * valsum;
      if (!(nf > 0)) continue;          // a flat window: OpenCV's setWindow refuses it
      const norm = f32(1 / Math.sqrt(nf));
      if (!(area * norm < 1e-1)) continue;
      let result = 1, i = 0;
      for (let s = 0; s < stages.length; s++) {
        const [count, stageThreshold] = stages[s];
        let total = 0;
        for (const end = i + count; i < end; i++) {
          const f = feature[i], o = f * 12, w = f * 3, p = at;
          let v = f32(weights[w] * (sum[p + ofs[o]] - sum[p + ofs[o + 1]] - sum[p + ofs[o + 2]] + sum[p + ofs[o + 3]]));
          v = f32(v + f32(weights[w + 1] * (sum[p + ofs[o + 4]] - sum[p + ofs[o + 5]] - sum[p + ofs[o + 6]] + sum[p + ofs[o + 7]])));
          if (weights[w + 2] !== 0) v = f32(v + f32(weights[w + 2] * (sum[p + ofs[o + 8]] - sum[p + ofs[o + 9]] - sum[p + ofs[o + 10]] + sum[p + ofs[o + 11]])));
          total += f32(v * norm) < threshold[i] ? left[i] : right[i];
        }
        if (total < stageThreshold) { result = -s; break; }
      }
      if (result > 0) found.push([cvRound(f32(x * factor)), cvRound(f32(y * factor)), side[0], side[1]]);
      if (result === 0) x += step;      // rejected by the first stage: OpenCV skips the next window
    }
  }
}

export function groupRectangles(rects, threshold, eps = 0.2) {
  const n = rects.length, parent = Int32Array.from({length: n}, (_, i) => i);
  const root = i => { while (parent[i] !== i) i = parent[i] = parent[parent[i]]; return i; };
  const similar = (a, b) => {
    const delta = eps * (Math.min(a[2], b[2]) + Math.min(a[3], b[3])) * 0.5;
    return Math.abs(a[0] - b[0]) <= delta && Math.abs(a[1] - b[1]) <= delta &&
           Math.abs(a[0] + a[2] - b[0] - b[2]) <= delta && Math.abs(a[1] + a[3] - b[1] - b[3]) <= delta;
  };
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (similar(rects[i], rects[j])) parent[root(i)] = root(j);
  const classes = new Map();
  rects.forEach((r, i) => {
    const k = root(i), c = classes.get(k) || {sum: [0, 0, 0, 0], n: 0};
    r.forEach((v, j) => c.sum[j] += v); c.n++; classes.set(k, c);
  });
  const groups = [...classes.values()].map(c => { const s = f32(1 / c.n); return {r: c.sum.map(v => cvRound(f32(v * s))), n: c.n}; });
  return groups.filter((g, i) => g.n > threshold && !groups.some((h, j) => {
    if (j === i || h.n <= threshold) return false;
    const dx = cvRound(h.r[2] * eps), dy = cvRound(h.r[3] * eps);
    return g.r[0] >= h.r[0] - dx && g.r[1] >= h.r[1] - dy && g.r[0] + g.r[2] <= h.r[0] + h.r[2] + dx &&
           g.r[1] + g.r[3] <= h.r[1] + h.r[3] + dy && (h.n > Math.max(3, g.n) || g.n < 3);
  })).map(g => g.r);
}

export function detectMultiScale(cascade, image, scaleFactor, minNeighbors, minSize) {   // a gray image
  prepared(cascade);
  const [ww, wh] = cascade.window, found = [];
  if (image.width < ww || image.height < wh) return [];
  for (let factor = 1; ; factor *= scaleFactor) {
    const w = cvRound(ww * factor), h = cvRound(wh * factor);
    if (w > image.width || h > image.height) break;
    if (w < minSize || h < minSize) continue;
    const sc = f32(factor);
    const sw = cvRound(f32(image.width / sc)), sh = cvRound(f32(image.height / sc));
    windows(cascade, resizeLinearExact(image, sw, sh), sc, found);
  }
  return groupRectangles(found, minNeighbors);
}

// fermask.faces.FaceDetector.__call__ with HaarDetector.find: boxes [x, y, w, h] in the image, left to right.
export function detectFaces(cascade, image, {min_face, min_face_fraction, scale_factor, min_neighbors}) {
  const native = Math.max(...cascade.window), shorter = Math.min(image.width, image.height);
  const smallest = Math.max(min_face, min_face_fraction * shorter);
  if (shorter < smallest) return [];
  const scale = Math.min(1, native / smallest);
  let small = image;
  if (scale < 1) small = resizeArea(image, cvRound(image.width * scale), cvRound(image.height * scale), 1 / scale, 1 / scale);
  const boxes = detectMultiScale(cascade, equalizeHist(gray(small)), scale_factor, min_neighbors, native)
    .map(b => b.map(v => cvRound(v / scale)));
  return boxes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

// fermask.faces.face_crops: a square of (1 + margin) x the box's longer side around its centre, its border
// repeated where it leaves the image, gray, `size` x `size`. `grayImage` is gray(image).
export function faceCrop(grayImage, [x, y, w, h], margin, size = 48) {
  const {width, height, data} = grayImage;
  const side = Math.max(1, cvRound(Math.max(w, h) * (1 + margin)));
  const x0 = cvRound(x + w / 2 - side / 2), y0 = cvRound(y + h / 2 - side / 2);
  const square = new Uint8Array(side * side);
  for (let j = 0; j < side; j++) {
    const sy = Math.min(Math.max(y0 + j, 0), height - 1);
    for (let i = 0; i < side; i++) square[j * side + i] = data[sy * width + Math.min(Math.max(x0 + i, 0), width - 1)];
  }
  const img = {width: side, height: side, px: 1, data: square};
  return (side > size ? resizeArea(img, size, size, 1 / (size / side), 1 / (size / side)) : resizeLinear(img, size, size)).data;
}
