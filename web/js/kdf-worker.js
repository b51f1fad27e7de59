// Dedicated module worker that runs the 600,000-iteration PBKDF2 of the
// message key off the main thread (STD1-DRV-12), so the page stays
// responsive and can show that it is working while the key is derived.
//
// The key is created non-extractable here and handed back as a CryptoKey
// (structured clone keeps it non-extractable), so the raw key bytes never
// exist in either thread (STD1-DRV-11). The worker keeps nothing between
// requests: the phone and room_id it receives die with the message event.

import { deriveKey } from './std1.js';

self.addEventListener('message', async (event) => {
  const { id, phone, roomId } = event.data;
  try {
    const key = await deriveKey(phone, roomId);
    self.postMessage({ id, key });
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message ? error.message : error) });
  }
});
