// Automatic locking (STD1-CLI-10): when the page is hidden, and after five
// minutes without user input. What "locking" means is the caller's
// (session.js): close the connection, drop the key and the access hash.
//
// One exception: while a freshly made pairing code is on screen, hiding
// the page defers the lock instead of taking the code away (the user is
// switching apps to send it); `isDeferring()` says when, and the caller
// locks once the user leaves that screen (STD1-CLI-10, D-48).

const IDLE_MS = 5 * 60 * 1000;
const INPUT_EVENTS = ['pointerdown', 'keydown', 'input', 'wheel', 'touchstart'];

/**
 * `onLock(cause)` is called with 'hidden' or 'idle'; `isActive()` says
 * whether there is anything to lock; `isDeferring()` whether a hidden
 * page should only note the lock (`onDefer()` is then called instead).
 */
export function startAutoLock({ onLock, isActive, isDeferring = () => false, onDefer = () => {} }) {
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
    if (document.visibilityState === 'hidden' && isActive()) {
      if (isDeferring()) onDefer();
      else onLock('hidden');
    }
    if (document.visibilityState === 'visible') restart();
  });
  restart();
  return { restart };
}
