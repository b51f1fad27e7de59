// Automatic locking (STD1-CLI-10): when the page is hidden, and after five
// minutes without user input. What "locking" means is the caller's
// (session.js): close the connection, drop the key and the access hash.

const IDLE_MS = 5 * 60 * 1000;
const INPUT_EVENTS = ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart'];

/** `onLock(cause)` is called with 'hidden' or 'idle'; `isActive()` says whether there is anything to lock. */
export function startAutoLock({ onLock, isActive }) {
  let timer = null;
  const restart = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (isActive()) onLock('idle');
    }, IDLE_MS);
  };
  for (const type of INPUT_EVENTS) document.addEventListener(type, restart, { capture: true, passive: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && isActive()) onLock('hidden');
    if (document.visibilityState === 'visible') restart();
  });
  restart();
  return { restart };
}
