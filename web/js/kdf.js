// Derives the message key (STD1-DRV-7) in a Web Worker when one can be
// started, and on the main thread otherwise (STD1-DRV-12). Web Crypto
// reports no progress, so callers show an indeterminate indicator.

import { PBKDF2_ITERATIONS, deriveKey } from './std1.js';

let worker = null;
let workerBroken = false;
let nextId = 1;
const pending = new Map();

function failAll(reason) {
  for (const { reject } of pending.values()) reject(new Error(reason));
  pending.clear();
}

function startWorker() {
  if (worker || workerBroken || typeof Worker === 'undefined') return worker;
  try {
    worker = new Worker(new URL('./kdf-worker.js', import.meta.url), { type: 'module', name: 'kdf' });
  } catch {
    workerBroken = true;
    return null;
  }
  worker.addEventListener('message', (event) => {
    const { id, key, error } = event.data;
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    if (error) entry.reject(new Error(error));
    else entry.resolve(key);
  });
  worker.addEventListener('error', () => {
    // A worker that cannot load (an old engine without module workers, a
    // blocked script) is given up for the page's life; its requests are
    // re-run on the main thread by deriveMessageKey.
    workerBroken = true;
    worker = null;
    failAll('worker failed');
  });
  return worker;
}

function viaWorker(phone, roomId) {
  const w = startWorker();
  if (!w) return Promise.reject(new Error('no worker'));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, phone, roomId });
  });
}

/** The non-extractable AES-GCM message key for this room (STD1-DRV-10, STD1-DRV-11). */
export async function deriveMessageKey(phone, roomId) {
  if (!workerBroken) {
    try {
      return await viaWorker(phone, roomId);
    } catch {
      // fall through to the main thread
    }
  }
  return deriveKey(phone, roomId);
}

/** Iterations of the calibration run: about 1/20 of the real derivation. */
const CALIBRATION_ITERATIONS = 30000;
let estimate = null;

/**
 * How long the 600,000-iteration derivation takes on this device, in ms,
 * extrapolated from a short PBKDF2 run timed once per page. The key screen
 * shows progress against it: an estimate measured here, not a guess
 * (STD1-DRV-12). The run derives nothing anyone uses.
 */
export function estimateDeriveMs() {
  if (!estimate) {
    estimate = (async () => {
      const subtle = globalThis.crypto.subtle;
      const material = await subtle.importKey('raw', new TextEncoder().encode('calibration'), 'PBKDF2', false, ['deriveBits']);
      const started = performance.now();
      await subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: CALIBRATION_ITERATIONS },
        material,
        256,
      );
      const ms = (performance.now() - started) * (PBKDF2_ITERATIONS / CALIBRATION_ITERATIONS);
      return Math.max(200, ms);
    })().catch(() => 3000);
  }
  return estimate;
}
