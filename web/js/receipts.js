// Read receipts by dwell time (STD1-CLI-19): a receipt goes out only after
// at least 80 % of the other party's message has been visible for 500 ms
// without interruption while the page is visible; leaving the view or
// hiding the page before then cancels it.

const VISIBLE_FRACTION = 0.8;
const DWELL_MS = 500;

/**
 * Watches `element`. `arm(id)` starts watching for message `id`,
 * `disarm()` stops; `onRead(id)` is called once per arming when the dwell
 * completes.
 */
export function createReadWatcher(element, onRead) {
  let ratio = 0;
  let armed = null;
  let timer = null;

  const cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  const eligible = () => armed !== null && ratio >= VISIBLE_FRACTION && document.visibilityState === 'visible';

  const evaluate = () => {
    if (!eligible()) {
      cancel();
      return;
    }
    if (timer !== null) return;
    const id = armed;
    timer = setTimeout(() => {
      timer = null;
      // Checked again at the end: the dwell must have been continuous.
      if (armed === id && eligible()) {
        armed = null;
        onRead(id);
      }
    }, DWELL_MS);
  };

  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) ratio = entry.isIntersecting ? entry.intersectionRatio : 0;
      evaluate();
    },
    { threshold: [0, 0.5, VISIBLE_FRACTION, 0.9, 1] },
  );
  observer.observe(element);
  document.addEventListener('visibilitychange', evaluate);

  return {
    arm(id) {
      if (armed === id) return;
      armed = id;
      cancel();
      evaluate();
    },
    disarm() {
      armed = null;
      cancel();
    },
  };
}
