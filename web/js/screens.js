// The screens as an explicit state machine: exactly one <section> is
// visible, and the current one is mirrored in <body data-screen="…">.
//
// Every change of screen also puts the address back to the site root and
// the title back to the neutral site name (STD1-CLI-5): the client never
// creates history entries, and nothing in the address or title tells which
// screen, number or room is open.

export const SCREENS = ['entry', 'new', 'code', 'pair', 'deriving', 'chat', 'locked', 'expired'];

/**
 * Which screens may follow which. A transition outside this table is a bug,
 * and is refused loudly. Joining, creating and unlocking happen in place on
 * their own screens ("Opening…"); the key screen appears only when the key
 * takes long (`deriving`).
 */
const NEXT = {
  entry: ['entry', 'new', 'pair', 'deriving', 'chat', 'expired'],
  new: ['entry', 'new', 'code', 'expired'],
  code: ['entry', 'code', 'deriving', 'chat', 'locked', 'expired'],
  pair: ['entry', 'pair', 'deriving', 'chat', 'expired'],
  deriving: ['entry', 'chat', 'locked', 'expired'],
  chat: ['entry', 'chat', 'code', 'deriving', 'locked', 'expired'],
  locked: ['entry', 'locked', 'deriving', 'chat', 'expired'],
  expired: ['entry', 'expired'],
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
