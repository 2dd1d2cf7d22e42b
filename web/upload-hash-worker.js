/* Vigil web map — hashes one File off the main thread (a dedicated Worker per file).
 *
 * In:  { file: File or Blob, slice: bytes per read (default 4 MiB; any size works) }
 * Out: { type: 'progress', done: bytes } after each slice,
 *      { type: 'done', sha256: '64 hex digits' } or { type: 'error', message }.
 * Stop it with worker.terminate().
 */
/* global importScripts, FileReaderSync, VigilSha256 */
'use strict';

importScripts('sha256.js');

self.onmessage = (ev) => {
  const { file, slice } = ev.data || {};
  try {
    const step = Number(slice) >= 1 ? Math.floor(Number(slice)) : 4 * 1024 * 1024;
    const reader = new FileReaderSync();
    const h = new VigilSha256.Sha256();
    for (let off = 0; off < file.size; off += step) {
      const end = Math.min(file.size, off + step);
      h.update(reader.readAsArrayBuffer(file.slice(off, end)));
      self.postMessage({ type: 'progress', done: end });
    }
    self.postMessage({ type: 'done', sha256: h.hex() });
  } catch (e) {
    self.postMessage({ type: 'error', message: (e && (e.message || e.name)) || String(e) });
  }
};
