// faces.js against OpenCV: `node test_faces.mjs FOLDER`, where check.py has written, for each case of
// FOLDER/cases.json, the image as RGBA bytes and the boxes and crops of fermask.faces. Prints one line per
// case that differs; exit status 1 if any does.
import fs from 'fs';
import path from 'path';
import {detectFaces, faceCrop, gray} from './faces.js';

const folder = process.argv[2];
const cascade = JSON.parse(fs.readFileSync(path.join(folder, 'cascade.json')));
const {margin, size, cases} = JSON.parse(fs.readFileSync(path.join(folder, 'cases.json')));
let failed = 0;
for (const c of cases) {
  const image = {width: c.width, height: c.height, px: 4, data: new Uint8Array(fs.readFileSync(path.join(folder, c.rgba)))};
  const boxes = detectFaces(cascade, image, c.settings);
  let problem = JSON.stringify(boxes) !== JSON.stringify(c.boxes) ? `boxes ${JSON.stringify(boxes)}, OpenCV ${JSON.stringify(c.boxes)}` : '';
  if (!problem) {
    const expected = new Uint8Array(fs.readFileSync(path.join(folder, c.crops))), g = gray(image);
    boxes.forEach((box, i) => {
      const crop = faceCrop(g, box, margin, size), want = expected.subarray(i * size * size, (i + 1) * size * size);
      const differ = crop.reduce((n, v, k) => n + (v !== want[k]), 0);
      if (differ) problem += `crop ${i}: ${differ} pixels differ `;
    });
  }
  if (problem) { failed++; console.log(`${c.name}: ${problem}`); }
}
console.log(`faces.js against OpenCV: ${cases.length - failed} of ${cases.length} cases identical (boxes and crops)`);
process.exit(failed ? 1 : 0);
