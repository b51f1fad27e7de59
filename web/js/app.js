// Entry point: wires the screens (entry, new, pair, connecting, deriving,
// chat, locked, expired) to the session flows. The chat screen itself lives
// in chat.js, the protocol state in session.js, the screen switching in
// screens.js.

import * as session from './session.js';
import * as chat from './chat.js';
import { startAutoLock } from './autolock.js';
import { COUNTRIES, checkNumber, formatNumber, generateNumber, vcard } from './countries.js';
import { currentScreen, onScreenChange, scrubAddress, show } from './screens.js';
import { generatePairingCode, normalisePin, pairingHash, parsePairingCode } from './std1.js';
import { NETWORK_ERROR, PAIRING_ERRORS, PIN_ERRORS, joinError } from './texts.js';

const $ = (id) => document.getElementById(id);

const PIN_FIELDS = ['entry-pin', 'new-pin', 'new-pin-confirm', 'lock-pin'];

function setText(id, text) {
  $(id).textContent = text || '';
}

function clearPins() {
  for (const id of PIN_FIELDS) $(id).value = '';
}

/** Empties every field and message that could tell what was typed or shown. */
function clearAllFields() {
  clearPins();
  for (const id of ['entry-number', 'new-number', 'new-contact-name', 'pair-code']) $(id).value = '';
  for (const id of ['entry-error', 'new-error', 'pair-error', 'lock-error', 'new-pairing-code', 'new-copy-status']) setText(id, '');
  resetNewScreen();
  chat.clear();
}

// ---------------------------------------------------------------------------
// Start-up: the passcode test (STD1-SEC-3, STD1-CLI-5, STD1-CLI-6)

function startUp() {
  if (new URLSearchParams(location.search).get('p') === '1') {
    // The panic route lands here (STD1-CLI-6): clear what an older or
    // non-conforming client may have left. This client never writes there.
    try {
      sessionStorage.clear();
    } catch {
      /* storage may be disabled; nothing to clear then */
    }
    try {
      localStorage.clear();
    } catch {
      /* as above */
    }
  }
  scrubAddress();
  clearAllFields();
}

// ---------------------------------------------------------------------------
// Joining (entry and pair screens)

let derivingTimer = null;

function startElapsed() {
  const started = Date.now();
  setText('deriving-elapsed', '');
  if (derivingTimer !== null) clearInterval(derivingTimer);
  derivingTimer = setInterval(() => {
    if (currentScreen() !== 'deriving') {
      clearInterval(derivingTimer);
      derivingTimer = null;
      return;
    }
    setText('deriving-elapsed', `(${Math.round((Date.now() - started) / 1000)} s so far)`);
  }, 1000);
}

/** Derives the key if needed, on the deriving screen, then opens the chat (STD1-DRV-10, STD1-DRV-12). */
async function deriveThenChat() {
  const s = session.current();
  if (!s) return;
  if (!s.key) {
    show('deriving');
    startElapsed();
  }
  const ready = await session.ensureKey();
  const now = session.current();
  if (!ready || !now || now.locked) return;
  show('chat', { focus: 'chat-title' });
  chat.render();
}

function backTo(screen, errorId, message) {
  show(screen);
  setText(errorId, message);
}

/**
 * Sends `join` for the prepared session and routes the outcome. `from` is
 * the screen the user acted on, where errors are shown.
 */
async function joinAndOpen(pairingHashHex, from) {
  show('connecting');
  const result = await session.join(pairingHashHex);
  if (result.aborted) return;
  if (result.network) {
    backTo(from, `${from}-error`, NETWORK_ERROR);
    return;
  }
  if (result.samePin) {
    // STD1-CLI-16: the creator's PIN; ask for another one.
    session.erase(false);
    clearPins();
    $('pair-code').value = '';
    backTo(
      'entry',
      'entry-error',
      'That PIN is the one the person who created the channel chose. Pick a different PIN of your own, then enter the pairing code again.',
    );
    return;
  }
  if (result.error) {
    const { reason } = result.error;
    if (reason === 'unauthorized' && !pairingHashHex) {
      // STD1-CLI-15: wrong PIN, or a first join that needs the pairing code.
      backTo('pair', 'pair-error', joinError(result.error));
      $('pair-code').focus();
      return;
    }
    if (from === 'pair' && (reason === 'pairing_invalid' || reason === 'rate_limited' || reason === 'internal_error')) {
      backTo('pair', 'pair-error', joinError(result.error, { withCode: true }));
      return;
    }
    // not_found (never answered by creating, STD1-CLI-12), locked, and the rest.
    session.erase(false);
    $('entry-pin').value = from === 'entry' && reason === 'not_found' ? $('entry-pin').value : '';
    backTo('entry', 'entry-error', joinError(result.error, { withCode: Boolean(pairingHashHex) }));
    return;
  }
  // In: the PIN and code have done their job and leave the page (STD1-CLI-3).
  clearPins();
  $('pair-code').value = '';
  setText('entry-error', '');
  setText('pair-error', '');
  await deriveThenChat();
}

/**
 * Reads and checks the number and PIN fields of a form (STD1-CLI-2); on a
 * problem, says what is wrong in `errorId`, focuses the field and returns
 * null.
 */
function readCredentials(numberId, pinId, errorId) {
  setText(errorId, '');
  const number = checkNumber($(numberId).value);
  if (!number.ok) {
    setText(errorId, number.message);
    $(numberId).focus();
    return null;
  }
  const pin = normalisePin($(pinId).value);
  if (pin.error) {
    setText(errorId, PIN_ERRORS[pin.error]);
    $(pinId).focus();
    return null;
  }
  return { number, pin };
}

async function onEntry(event, withCode) {
  if (event) event.preventDefault();
  const read = readCredentials('entry-number', 'entry-pin', 'entry-error');
  if (!read) return;
  const { number, pin } = read;
  $('entry-number').value = formatNumber($('entry-number').value);
  await session.prepare(number.normalised, pin.normalised);
  if (withCode) {
    setText('pair-error', '');
    show('pair', { focus: 'pair-code' });
    return;
  }
  await joinAndOpen(null, 'entry');
}

async function onPair(event) {
  event.preventDefault();
  setText('pair-error', '');
  if (!session.current()) {
    backTo('entry', 'entry-error', 'Enter the number and your PIN again.');
    return;
  }
  const parsed = parsePairingCode($('pair-code').value);
  if (parsed.error) {
    // Refused here, before anything is sent, so a typo costs no attempt (STD1-JOIN-12).
    setText('pair-error', PAIRING_ERRORS[parsed.error]);
    $('pair-code').focus();
    return;
  }
  await joinAndOpen(await pairingHash(parsed.code), 'pair');
}

/** As-you-type formatting of a number field, only while typing at its end so the caret never jumps (STD1-CLI-2). */
function formatAsYouType(input) {
  input.addEventListener('input', (event) => {
    if (!event.inputType || !event.inputType.startsWith('insert')) return;
    if (input.selectionStart !== input.value.length) return;
    input.value = formatNumber(input.value);
  });
}

// ---------------------------------------------------------------------------
// New channel (STD1-CLI-12, STD1-CLI-13, STD1-CLI-14)

let shownCode = null;

function resetNewScreen() {
  $('new-setup').hidden = false;
  $('new-done').hidden = true;
  setText('new-pairing-code', '');
  setText('new-copy-status', '');
  shownCode = null;
}

function updateVcard() {
  const link = $('new-vcard');
  const number = checkNumber($('new-number').value);
  if (!number.ok) {
    link.hidden = true;
    link.setAttribute('href', '#');
    return;
  }
  // A data: URL built in the page: the number never leaves it (STD1-CLI-1).
  const card = vcard($('new-contact-name').value, $('new-number').value);
  link.setAttribute('href', `data:text/vcard;charset=utf-8,${encodeURIComponent(card)}`);
  link.hidden = false;
}

function generateInto() {
  $('new-number').value = generateNumber($('new-country').value);
  updateVcard();
}

function openNewScreen() {
  resetNewScreen();
  setText('new-error', '');
  if (!$('new-number').value) generateInto();
  else updateVcard();
  show('new');
}

async function onCreate(event) {
  event.preventDefault();
  const read = readCredentials('new-number', 'new-pin', 'new-error');
  if (!read) return;
  const { number, pin } = read;
  // STD1-CLI-12: the PIN is confirmed by typing it twice.
  if (normalisePin($('new-pin-confirm').value).normalised !== pin.normalised) {
    setText('new-error', 'The two PINs are different. Type the same PIN in both fields.');
    $('new-pin-confirm').focus();
    return;
  }
  await session.prepare(number.normalised, pin.normalised);
  const code = generatePairingCode();
  show('connecting');
  const result = await session.create(await pairingHash(code.code));
  if (result.aborted) return;
  if (!result.ok) {
    session.erase(false);
    show('new');
    if (result.error && result.error.reason === 'room_exists') {
      // STD1-CLI-13: choose a new number rather than join someone's room.
      generateInto();
      setText(
        'new-error',
        'A channel with that number already exists, so a new number was generated above. Save it to the contact card again, then create the channel.',
      );
    } else {
      setText('new-error', result.network ? NETWORK_ERROR : joinError(result.error));
    }
    return;
  }
  clearPins();
  // STD1-CLI-14: the code is shown once and never stored.
  shownCode = code.code;
  $('new-setup').hidden = true;
  $('new-done').hidden = false;
  setText('new-pairing-code', code.display);
  show('new', { focus: 'new-done-title' });
  // The key is derived while the creator reads the code.
  session.ensureKey();
}

async function onContinue() {
  shownCode = null;
  setText('new-pairing-code', '');
  $('new-number').value = '';
  $('new-contact-name').value = '';
  resetNewScreen();
  await deriveThenChat();
}

async function onCopy() {
  if (!shownCode) return;
  try {
    await navigator.clipboard.writeText(shownCode);
    setText('new-copy-status', 'Copied. Clear the clipboard once you have passed the code on.');
  } catch {
    setText('new-copy-status', 'Copying is not allowed here; select the code and copy it by hand.');
  }
}

// ---------------------------------------------------------------------------
// Lock screen (STD1-CLI-9 to STD1-CLI-11)

function doLock() {
  const screen = currentScreen();
  clearPins();
  const result = session.lock();
  if (result === 'locked') {
    chat.clear();
    resetNewScreen();
    setText('lock-error', '');
    show('locked', { focus: 'lock-pin' });
  } else if (result === 'erased' || screen === 'pair' || screen === 'connecting' || screen === 'deriving') {
    session.erase(false);
    $('pair-code').value = '';
    backTo('entry', 'entry-error', 'The page was locked. Enter your PIN again.');
  }
}

async function onUnlock(event) {
  event.preventDefault();
  setText('lock-error', '');
  const pin = normalisePin($('lock-pin').value);
  $('lock-pin').value = '';
  if (pin.error) {
    setText('lock-error', PIN_ERRORS[pin.error]);
    $('lock-pin').focus();
    return;
  }
  if (!session.current()) {
    backTo('entry', 'entry-error', '');
    return;
  }
  show('connecting');
  const result = await session.unlock(pin.normalised);
  if (result.aborted || result.expiredRoom) return;
  if (result.erased) {
    // STD1-CLI-11: the fifth failure forgets the session.
    clearAllFields();
    backTo('entry', 'entry-error', 'Too many wrong PINs: this page forgot the channel. Start again from the number.');
    return;
  }
  if (result.ok) {
    await deriveThenChat();
    return;
  }
  show('locked', { focus: 'lock-pin' });
  if (result.network) {
    setText('lock-error', NETWORK_ERROR);
  } else if (result.error.reason === 'unauthorized') {
    const left = session.unlockAttemptsLeft();
    setText('lock-error', `Wrong PIN. ${left === 1 ? '1 more try' : `${left} more tries`} on this device before it forgets the channel.`);
  } else {
    setText('lock-error', joinError(result.error));
  }
  $('lock-pin').focus();
}

function leave() {
  session.erase(false);
  clearAllFields();
  show('entry');
}

// ---------------------------------------------------------------------------
// Wiring

function fillCountries() {
  const select = $('new-country');
  for (const { iso, name, cc } of COUNTRIES) {
    const option = document.createElement('option');
    option.value = iso;
    option.textContent = `${name} (+${cc})`;
    select.append(option);
  }
  // Preselect the country of the browser's language region, if we know it.
  const region = (navigator.language || '').split('-')[1];
  select.value = COUNTRIES.some((c) => c.iso === region) ? region : 'US';
}

function init() {
  startUp();
  fillCountries();
  chat.init();

  $('entry-form').addEventListener('submit', (event) => onEntry(event, false));
  $('entry-pair').addEventListener('click', () => onEntry(null, true));
  $('entry-new').addEventListener('click', openNewScreen);
  formatAsYouType($('entry-number'));

  $('pair-form').addEventListener('submit', onPair);
  $('pair-back').addEventListener('click', () => {
    session.erase(false);
    $('pair-code').value = '';
    setText('pair-error', '');
    show('entry');
  });

  $('new-country').addEventListener('change', generateInto);
  $('new-generate').addEventListener('click', generateInto);
  formatAsYouType($('new-number'));
  $('new-number').addEventListener('input', updateVcard);
  $('new-contact-name').addEventListener('input', updateVcard);
  $('new-form').addEventListener('submit', onCreate);
  $('new-back').addEventListener('click', () => {
    clearPins();
    setText('new-error', '');
    show('entry');
  });
  $('new-copy').addEventListener('click', onCopy);
  $('new-continue').addEventListener('click', onContinue);

  $('connecting-cancel').addEventListener('click', leave);

  $('chat-lock').addEventListener('click', doLock);
  $('lock-form').addEventListener('submit', onUnlock);
  $('lock-leave').addEventListener('click', leave);
  $('expired-home').addEventListener('click', () => {
    clearAllFields();
    show('entry');
  });

  session.subscribe((kind) => {
    if (kind === 'expired') {
      // STD1-LIFE-9: nothing of the conversation stays in the page.
      clearAllFields();
      show('expired');
    }
  });

  // STD1-CLI-10: lock when hidden and after 5 minutes without input. A PIN
  // typed into a field counts as something to protect too.
  startAutoLock({
    onLock: doLock,
    isActive: () => session.isActive() || PIN_FIELDS.some((id) => $(id).value !== ''),
  });

  // Leaving the page forgets everything; a page restored from the
  // back/forward cache starts at the entry screen (STD1-SEC-3).
  window.addEventListener('pagehide', () => {
    session.erase(false);
    clearAllFields();
  });
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      clearAllFields();
      show('entry');
    }
  });
  onScreenChange(() => scrubAddress());
}

init();
