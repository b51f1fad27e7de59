// The screens as an explicit state machine: exactly one <section> is
// visible, and the current one is mirrored in <body data-screen="…">.
//
// Every change of screen also puts the address back to the site root and
// the title back to the neutral site name (STD1-CLI-5): the client never
// creates history entries, and nothing in the address or title tells which
// screen, number or room is open.

export const SCREENS = ['entry', 'new', 'pair', 'deriving', 'connecting', 'chat', 'locked', 'expired'];

/** Which screens may follow which. A transition outside this table is a bug, and is refused loudly. */
const NEXT = {
  entry: ['new', 'pair', 'connecting', 'entry'],
  new: ['entry', 'connecting', 'deriving', 'chat', 'locked', 'new', 'expired'],
  pair: ['entry', 'connecting', 'pair'],
  connecting: ['entry', 'new', 'pair', 'deriving', 'chat', 'locked', 'expired'],
  deriving: ['entry', 'chat', 'locked', 'expired'],
  chat: ['locked', 'expired', 'entry', 'deriving', 'chat'],
  locked: ['connecting', 'entry', 'locked', 'deriving', 'chat', 'expired'],
  expired: ['entry'],
};

export const NEUTRAL_TITLE = 'sTELgano';

let current = 'entry';
const listeners = [];

export function currentScreen() {
  return current;
}

/** Called with (next, previous) after every change. */
export function onScreenChange(listener) {
  listeners.push(listener);
}

/** Resets the address and title (STD1-CLI-5, STD1-CLI-6). */
export function scrubAddress() {
  if (location.pathname !== '/' || location.search || location.hash) history.replaceState(null, '', '/');
  document.title = NEUTRAL_TITLE;
}

/**
 * Shows one screen and hides the others; moves focus to the screen's
 * heading (or `focus`, an element id) so keyboard and screen-reader users
 * land on the new content.
 */
export function show(next, { focus } = {}) {
  if (!SCREENS.includes(next)) throw new Error(`unknown screen ${next}`);
  if (next !== current && !NEXT[current].includes(next)) {
    // Every transition is listed in NEXT; any other is a bug. Going to the
    // entry screen is always safe, so that is where a bug leads.
    console.error(`screen transition ${current} → ${next} is not allowed`);
    next = 'entry';
  }
  const previous = current;
  current = next;
  for (const name of SCREENS) {
    document.getElementById(`screen-${name}`).hidden = name !== next;
  }
  document.body.dataset.screen = next;
  scrubAddress();
  const target = document.getElementById(focus || `${next}-title`);
  if (target && previous !== next) target.focus();
  for (const listener of listeners) listener(next, previous);
}
