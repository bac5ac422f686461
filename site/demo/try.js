// The "Try it" page: the bundled model and its four masks on the reader's photo or camera, in the page.
// Faces are found and cropped by faces.js as `fermask predict --detector haar` finds and crops them; the
// model (model.onnx, written by build.py) runs in ONNX Runtime Web's WebAssembly, one thread. Nothing
// leaves the page. Each result is also written, as JSON, in the root element's `data-result` (a photo)
// or `data-frames` (the camera), for check.py.
import * as ort from './ort.wasm.bundle.min.mjs';
import {gray, detectFaces, faceCrop} from './faces.js';

const root = document.getElementById('try-it');
const $ = id => document.getElementById(id);
const here = name => new URL(name, import.meta.url);
const MAX_PIXELS = 40e6;              // larger photos are refused: a canvas of them needs more memory than many devices give a page
const MAX_BYTES = 60e6;

function say(text, kind = 'info') {   // one line for the reader; never an empty page
  $('try-status').textContent = text;
  $('try-status').dataset.kind = kind;
  root.dataset.state = kind;
}
window.addEventListener('error', e => say(`Something went wrong: ${e.message}`, 'error'));
window.addEventListener('unhandledrejection', e => say(`Something went wrong: ${e.reason?.message || e.reason}`, 'error'));

async function fetched(name, what) {
  const response = await fetch(here(name));
  if (!response.ok) throw new Error(`${what} (${name}) could not be loaded: HTTP ${response.status}`);
  return response;
}

async function inflated(name) {       // a gzipped file, inflated by the browser
  const response = await fetched(name, 'ONNX Runtime');
  return new Uint8Array(await new Response(response.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
}

const ready = (async () => {
  const start = performance.now(), times = {};
  const [settings, cascade, model, wasm] = await Promise.all([
    fetched('settings.json', 'The settings').then(r => r.json()),
    fetched('haarcascade_frontalface_default.json', 'The face detector').then(r => r.json()),
    fetched('model.onnx', 'The model').then(r => r.arrayBuffer()),
    inflated('ort-wasm-simd-threaded.wasm.gz')]);
  times.downloaded = performance.now() - start;
  ort.env.wasm.wasmBinary = wasm;
  ort.env.wasm.numThreads = 1;        // threads need cross-origin isolation, which a static host does not give
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(model, {executionProviders: ['wasm'], graphOptimizationLevel: 'all'});
  times.ready = performance.now() - start;
  root.dataset.loading = JSON.stringify(times);   // milliseconds from the page's start: files downloaded, model ready
  return {settings, cascade, session};
})();

let loaded = null;                    // what `ready` gave, once it has
ready.then(r => { loaded = r; say('Ready: choose a photo, drop one here, try a sample or turn on your camera.', 'ready'); root.dataset.ready = '1'; },
           e => say(`The model could not be loaded: ${e.message}`, 'error'));

async function classify(image, detector) {   // faces of an RGBA image: boxes, probabilities, masks
  const {settings, session, cascade} = await ready;
  const boxes = detectFaces(cascade, image, settings[detector]);
  if (!boxes.length) return [];
  const g = gray(image), size = settings.crop_size, crops = new Uint8Array(boxes.length * size * size);
  boxes.forEach((box, i) => crops.set(faceCrop(g, box, settings.margin, size), i * size * size));
  const out = await session.run({faces: new ort.Tensor('uint8', crops, [boxes.length, 1, size, size])});
  const masks = ['mask1', 'mask2', 'mask3', 'mask4'].map(name => out[name].data);
  return boxes.map((box, i) => {
    const p = Array.from(out.probabilities.data.slice(i * 7, i * 7 + 7)), best = p.indexOf(Math.max(...p));
    return {box, label: settings.labels[best], probability: p[best], probabilities: Object.fromEntries(settings.labels.map((l, k) => [l, p[k]])),
            crop: crops.subarray(i * size * size, (i + 1) * size * size), masks: masks.map(m => m.subarray(i * size * size, (i + 1) * size * size))};
  });
}

// Drawing: the photo with its boxes and labels, then one card per face: bars, the crop, its four masks.
const MAGMA = [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 253, 191]];
function magma(v) {
  const x = Math.min(Math.max(v, 0), 1) * (MAGMA.length - 1), i = Math.min(Math.floor(x), MAGMA.length - 2), t = x - i;
  return MAGMA[i].map((c, k) => c + (MAGMA[i + 1][k] - c) * t);
}

function drawScene(source, width, height, faces) {
  const canvas = $('try-canvas'), scale = Math.min(960 / width, Math.max(1, 480 / height));   // small photos drawn larger
  canvas.width = Math.round(width * scale); canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  const line = Math.max(2, canvas.width / 300);
  ctx.lineWidth = line; ctx.font = `${Math.max(12, Math.round(canvas.width / 45))}px sans-serif`; ctx.textBaseline = 'top';
  faces.forEach((f, i) => {
    const [x, y, w, h] = f.box.map(v => v * scale), text = `${i + 1}: ${f.label} ${f.probability.toFixed(2)}`;
    ctx.strokeStyle = '#00dc00'; ctx.strokeRect(x, y, w, h);
    const tw = ctx.measureText(text).width + 2 * line, th = parseInt(ctx.font) + 2 * line, top = y - th >= 0 ? y - th : y + h;
    ctx.fillStyle = '#00dc00'; ctx.fillRect(x - line / 2, top, tw, th);
    ctx.fillStyle = '#000'; ctx.fillText(text, x + line, top + line);
  });
}

function faceCanvas(crop, mask, size) {   // the crop in gray, or a mask over it (scaled to its own range)
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d'), pixels = ctx.createImageData(size, size);
  let lo = Infinity, hi = -Infinity;
  if (mask) for (const v of mask) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (let i = 0; i < crop.length; i++) {
    const g = crop[i];
    const [r, gg, b] = mask ? magma((mask[i] - lo) / (hi - lo || 1)).map(c => 0.35 * g + 0.65 * c) : [g, g, g];
    pixels.data.set([r, gg, b, 255], i * 4);
  }
  ctx.putImageData(pixels, 0, 0);
  canvas.title = mask ? `mask values ${lo.toFixed(2)} to ${hi.toFixed(2)}` : 'the 48x48 crop the model sees';
  return canvas;
}

function drawFaces(faces) {
  const {settings} = loaded;
  const list = $('try-faces');
  list.replaceChildren(...faces.map((f, i) => {
    const card = document.createElement('figure');
    card.className = 'try-face';
    const bars = settings.labels.map(l => {
      const p = f.probabilities[l];
      return `<div class="try-bar${l === f.label ? ' try-best' : ''}"><span>${l}</span><span class="try-track"><span style="width:${(100 * p).toFixed(1)}%"></span></span><span>${p.toFixed(2)}</span></div>`;
    }).join('');
    card.innerHTML = `<figcaption>Face ${i + 1}: <strong>${f.label}</strong> ${f.probability.toFixed(2)}</figcaption><div class="try-bars">${bars}</div><div class="try-maps"></div>`;
    const maps = card.querySelector('.try-maps');
    [['crop', null], ...f.masks.map((m, k) => [`mask, stage ${k + 1}`, m])].forEach(([name, mask]) => {
      const cell = document.createElement('div');
      cell.append(faceCanvas(f.crop, mask, settings.crop_size), Object.assign(document.createElement('span'), {textContent: name}));
      maps.append(cell);
    });
    return card;
  }));
}
function summary(faces) {
  return faces.map(f => ({box: f.box, label: f.label, probabilities: f.probabilities}));
}

// A photo: from the file picker, a drop or a sample.
async function showPhoto(blob, name) {
  const start = performance.now();
  stopCamera();
  delete root.dataset.result;
  $('try-canvas').width = 0; $('try-faces').replaceChildren();   // the last photo's faces are not this one's
  say(`Reading ${name}…`, 'busy');
  if (blob.size > MAX_BYTES) return say(`${name} is ${(blob.size / 1e6).toFixed(0)} MB: too large for this page (at most ${MAX_BYTES / 1e6} MB). Try a smaller copy.`, 'error');
  let bitmap;
  try { bitmap = await createImageBitmap(blob, {colorSpaceConversion: 'none', premultiplyAlpha: 'none'}); }
  catch { return say(`${name} is not an image this browser can read (JPEG, PNG, WebP, GIF, BMP or AVIF).`, 'error'); }
  const {width, height} = bitmap;
  if (width * height > MAX_PIXELS)
    return say(`${name} is ${width}x${height} (${(width * height / 1e6).toFixed(0)} megapixels): too large for this page (at most ${MAX_PIXELS / 1e6}). Try a smaller copy.`, 'error');
  await ready;
  const canvas = new OffscreenCanvas(width, height), ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(bitmap, 0, 0);
  const image = {width, height, px: 4, data: ctx.getImageData(0, 0, width, height).data};
  const faces = await classify(image, 'photo');
  const ms = performance.now() - start;
  drawScene(bitmap, width, height, faces);
  drawFaces(faces);
  root.dataset.result = JSON.stringify({source: name, width, height, ms, faces: summary(faces)});
  const smallest = Math.round(Math.max(loaded.settings.photo.min_face, loaded.settings.photo.min_face_fraction * Math.min(width, height)));
  if (!faces.length) say(`No face found in ${name} (${width}x${height}); faces of at least ${smallest} pixels, seen from the front, are looked for.`, 'warning');
  else say(`${faces.length} face${faces.length > 1 ? 's' : ''} in ${name} (${width}x${height}), in ${ms.toFixed(0)} ms.`, 'done');
}

$('try-file').addEventListener('change', e => { const f = e.target.files[0]; if (f) showPhoto(f, f.name); e.target.value = ''; });
for (const button of root.querySelectorAll('[data-sample]'))
  button.addEventListener('click', async () => {
    const name = button.dataset.sample;
    try { showPhoto(await (await fetched(`samples/${name}`, 'The sample')).blob(), name); }
    catch (e) { say(e.message, 'error'); }
  });
const drop = $('try-drop');
for (const type of ['dragenter', 'dragover']) drop.addEventListener(type, e => { e.preventDefault(); drop.classList.add('try-over'); });
for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('try-over'));
drop.addEventListener('drop', e => {
  e.preventDefault();
  const f = e.dataTransfer.files[0];
  if (f) showPhoto(f, f.name); else say('Drop a photo file here (not a link or text).', 'error');
});

// The camera: every new frame, as fast as the model keeps up.
let camera = null;
function stopCamera() {
  if (!camera) return;
  camera.stream.getTracks().forEach(t => t.stop());
  camera = null;
  $('try-camera').textContent = 'Turn on the camera';
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) return say('This browser gives this page no camera (a camera needs a page served over https or from localhost).', 'error');
  let stream;
  say('Asking for the camera…', 'busy');
  try { stream = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false}); }
  catch (e) {
    if (e.name === 'NotAllowedError' || e.name === 'SecurityError') return say('The camera was refused: allow it in the browser\'s settings for this site, then try again.', 'error');
    if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') return say('No camera was found on this device.', 'error');
    if (e.name === 'NotReadableError') return say('The camera is in use by another program, or could not be started.', 'error');
    return say(`The camera could not be started: ${e.message || e.name}`, 'error');
  }
  await ready;
  delete root.dataset.result;
  const video = $('try-video');
  video.srcObject = stream;
  await video.play();
  const state = camera = {stream, frames: 0, start: performance.now(), recent: []};
  $('try-camera').textContent = 'Turn off the camera';
  const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight), ctx = canvas.getContext('2d', {willReadFrequently: true});
  // The newest frame, as soon as the last one is done: a frame that came while the model ran is not waited for again.
  let presented = 0, seen = -1, wake = null;
  const onFrame = (now, meta) => { presented = meta.presentedFrames; if (wake) wake(); if (camera === state) video.requestVideoFrameCallback(onFrame); };
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
  const next = () => video.requestVideoFrameCallback ? new Promise(resolve => { wake = () => { wake = null; resolve(); }; }) : new Promise(r => setTimeout(r, 0));
  while (camera === state) {
    if (presented === seen || !video.requestVideoFrameCallback) await next();
    if (camera !== state) break;
    seen = presented;
    const {videoWidth: width, videoHeight: height} = video;
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    ctx.drawImage(video, 0, 0);
    const faces = await classify({width, height, px: 4, data: ctx.getImageData(0, 0, width, height).data}, 'camera');
    drawScene(canvas, width, height, faces);
    const now = performance.now();
    if (faces.length && !(now - state.drawn < 250)) { drawFaces(faces); state.drawn = now; }   // the cards: 4 times a second
    state.frames++; state.recent.push(now);
    while (state.recent[0] < now - 1000) state.recent.shift();
    const fps = state.recent.length;
    root.dataset.frames = JSON.stringify({frames: state.frames, seconds: (now - state.start) / 1000, fps, width, height, faces: summary(faces)});
    say(`Camera: ${width}x${height}, ${fps} frames/s, ${faces.length ? faces.map(f => f.label).join(', ') : 'no face'} (faces of at least ${Math.round(100 * loaded.settings.camera.min_face_fraction)}% of the frame's shorter side are looked for).`, 'done');
  }
}
$('try-camera').addEventListener('click', () => camera ? (stopCamera(), say('Camera off.', 'ready')) : startCamera());
root.dataset.listening = '1';          // the controls answer from now on, the model loaded or not
