// Entry point: wires the screens (entry, new, code, pair, deriving, chat,
// locked, expired) to the session flows. The chat screen itself lives in
// chat.js, the protocol state in session.js, the screen switching in
// screens.js, the texts in i18n.js and texts/*.js.
//
// Joining, creating and unlocking happen in place: the form shows
// "Opening…" and the chat follows; the key screen appears only when the
// key derivation takes longer than about 0.7 s.

import * as session from './session.js';
import * as chat from './chat.js';
import { startAutoLock } from './autolock.js';
import { createCountryPicker, localeCountry } from './country-picker.js';
import { LANGUAGES, applyTexts, formatDateTime, onLanguageChange, preferredLanguage, setLanguage, setText, t } from './i18n.js';
import { estimateDeriveMs } from './kdf.js';
import { checkNumber, formatAsYouType, formatInternational, generateMobile } from './phone.js';
import { currentScreen, onScreenChange, scrubAddress, show } from './screens.js';
import { canShare, copyText, passNumberOn, shareText, vcardUrl } from './share.js';
import { generatePairingCode, normalisePin, pairingHash, parsePairingCode } from './std1.js';
import { joinErrorText, numberErrorText, PIN_ERROR_KEYS } from './texts.js';

const $ = (id) => document.getElementById(id);

/** Fields that hold a PIN: emptied on every lock and when a page holding one is hidden. */
const PIN_FIELDS = ['entry-pin', 'new-pin', 'new-pin-confirm', 'pair-pin', 'pair-pin-confirm', 'lock-pin', 'chat-reopen-pin'];
/** Every error element, by the field it belongs to (or the form). */
const ERRORS = [
  'entry-number-error', 'entry-pin-error', 'entry-error',
  'new-number-error', 'new-pin-error', 'new-pin-confirm-error', 'new-error',
  'pair-number-error', 'pair-code-error', 'pair-pin-error', 'pair-pin-confirm-error', 'pair-error',
  'lock-error', 'chat-reopen-error',
];
/** How long the key may take before the key screen is shown instead of "Opening…". */
const KEY_SCREEN_AFTER_MS = 700;

let picker = null;

// ---------------------------------------------------------------------------
// Small helpers

function clearPins() {
  for (const id of PIN_FIELDS) $(id).value = '';
}

function clearErrors() {
  for (const id of ERRORS) setText($(id), null);
  setText($('entry-first-hint'), null);
}

/** An error under a field (or the form), by text key; focuses the field. */
function fieldError(fieldId, key, params) {
  setText($(`${fieldId}-error`), key, params);
  const field = $(fieldId);
  if (field && typeof field.focus === 'function' && field.tagName !== 'FORM') field.focus();
}

/** An error under a field, from a ready-made text key and parameters pair. */
function fieldErrorOf(fieldId, text) {
  fieldError(fieldId, text.key, text.params);
}

/** An error of a whole form (`entry-error`, …), by text key or key and parameters pair. */
function formError(id, key, params) {
  if (typeof key === 'object') setText($(id), key.key, key.params);
  else setText($(id), key, params);
}

/** Empties every field and message that could tell what was typed or shown. */
function clearAllFields() {
  clearPins();
  for (const id of ['entry-number', 'new-number', 'new-contact-name', 'pair-number', 'pair-code', 'new-country-search']) $(id).value = '';
  clearErrors();
  for (const id of ['new-cleared', 'pair-cleared']) $(id).hidden = true;
  for (const id of ['entry-number', 'pair-number']) setMasked(id, true);
  resetCodeScreen();
  endBusy();
  chat.clear();
}

/** Masks or shows a number field or text, with its toggle (STD1-CLI-7, STD1-CLI-29). */
function setMasked(id, masked) {
  const element = $(id);
  const toggle = $(`${id}-show`);
  if (element.tagName === 'INPUT') element.classList.toggle('masked', masked);
  else element.dataset.masked = masked ? 'true' : 'false';
  toggle.setAttribute('aria-pressed', masked ? 'false' : 'true');
  setText(toggle, masked ? 'action.show' : 'action.hide');
}

function wireMaskToggle(id) {
  $(`${id}-show`).addEventListener('click', () => {
    const masked = $(id).tagName === 'INPUT' ? $(id).classList.contains('masked') : $(id).dataset.masked === 'true';
    setMasked(id, !masked);
  });
}

// ---------------------------------------------------------------------------
// "Opening…": a form busy in place

let busyForm = null;

function startBusy(formId, key) {
  endBusy();
  busyForm = formId;
  const form = $(formId);
  form.setAttribute('aria-busy', 'true');
  for (const control of form.querySelectorAll('input, button, select')) {
    if (control.id !== 'entry-cancel') control.disabled = true;
  }
  const prefix = formId.replace(/-form$/, '');
  setText($(`${prefix}-busy`), key);
  if (formId === 'entry-form') $('entry-cancel').hidden = false;
}

function endBusy() {
  if (!busyForm) return;
  const form = $(busyForm);
  form.removeAttribute('aria-busy');
  for (const control of form.querySelectorAll('input, button, select')) control.disabled = false;
  setText($(`${busyForm.replace(/-form$/, '')}-busy`), null);
  $('entry-cancel').hidden = true;
  busyForm = null;
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
}

// ---------------------------------------------------------------------------
// The key, then the chat (STD1-DRV-10, STD1-DRV-12)

let derivingTimer = null;

function stopDerivingProgress() {
  if (derivingTimer !== null) clearInterval(derivingTimer);
  derivingTimer = null;
}

/** The key screen, with progress against this device's measured speed. */
async function showDeriving(startedAt) {
  show('deriving', { focus: 'deriving-title' });
  const estimate = await estimateDeriveMs();
  const tick = () => {
    const elapsed = Date.now() - startedAt;
    const bar = $('deriving-progress');
    bar.value = Math.min(99, Math.round((elapsed / estimate) * 100));
    const left = Math.ceil((estimate - elapsed) / 1000);
    if (left >= 1) setText($('deriving-estimate'), 'deriving.estimate', { count: left });
    else setText($('deriving-estimate'), 'deriving.almost');
  };
  tick();
  stopDerivingProgress();
  derivingTimer = setInterval(tick, 250);
}

/** Derives the key if needed, showing the key screen only if it takes long, then opens the chat. */
async function openChat() {
  const s = session.current();
  if (!s) return;
  const started = Date.now();
  let slow = null;
  if (!s.key) slow = setTimeout(() => showDeriving(started), KEY_SCREEN_AFTER_MS);
  const ready = await session.ensureKey();
  if (slow !== null) clearTimeout(slow);
  stopDerivingProgress();
  const now = session.current();
  if (!ready || !now || now.locked) {
    // Locked or left meanwhile (their screens are shown by doLock and
    // leave), or the key could not be made: never stay "Opening…".
    endBusy();
    return;
  }
  endBusy();
  clearPins();
  show('chat', { focus: 'chat-title' });
  chat.render();
}

// ---------------------------------------------------------------------------
// Reading the forms (STD1-CLI-2, STD1-CLI-25, STD1-DRV-3)

/** The country national forms are read in: the picker's choice, else the locale's. */
function defaultCountry() {
  return picker ? picker.value() : localeCountry();
}

function readNumber(fieldId) {
  const number = checkNumber($(fieldId).value, defaultCountry());
  if (!number.ok) {
    fieldErrorOf(fieldId, numberErrorText(number));
    return null;
  }
  return number;
}

function readPin(fieldId) {
  const pin = normalisePin($(fieldId).value);
  if (pin.error) {
    fieldError(fieldId, PIN_ERROR_KEYS[pin.error]);
    return null;
  }
  return pin;
}

/** The PIN typed twice (STD1-CLI-12, STD1-CLI-26). */
function readPinTwice(firstId, secondId) {
  const pin = readPin(firstId);
  if (!pin) return null;
  if (normalisePin($(secondId).value).normalised !== pin.normalised) {
    $(secondId).value = '';
    fieldError(secondId, 'error.pins-differ');
    return null;
  }
  return pin;
}

// ---------------------------------------------------------------------------
// Entry: a returning party (STD1-CLI-15)

async function onEntry(event) {
  event.preventDefault();
  clearErrors();
  const number = readNumber('entry-number');
  if (!number) return;
  const pin = readPin('entry-pin');
  if (!pin) return;
  $('entry-number').value = formatAsYouType($('entry-number').value, defaultCountry());
  startBusy('entry-form', 'entry.opening');
  await session.prepare(number.normalised, pin.normalised);
  const result = await session.join(null);
  if (result.aborted) return;
  if (result.network) {
    endBusy();
    formError('entry-error', 'error.network');
    return;
  }
  if (result.error) {
    endBusy();
    session.erase(false);
    const { reason } = result.error;
    if (reason === 'unauthorized') {
      // STD1-CLI-15: a wrong PIN, in neutral words; the number stays, the
      // PIN is emptied and focused; the pairing code is the secondary action.
      $('entry-pin').value = '';
      setText($('entry-first-hint'), 'entry.wrong-pin-first');
      fieldError('entry-pin', 'entry.wrong-pin', { count: result.error.attempts_remaining });
      return;
    }
    if (reason === 'not_found') {
      // STD1-CLI-12: never create on not_found.
      fieldErrorOf('entry-number', joinErrorText(result.error));
      return;
    }
    $('entry-pin').value = '';
    formError('entry-error', joinErrorText(result.error));
    return;
  }
  await openChat();
}

function cancelOpening() {
  session.erase(false);
  endBusy();
  clearPins();
  show('entry', { focus: 'entry-pin' });
}

// ---------------------------------------------------------------------------
// Joining with a pairing code (STD1-CLI-16, STD1-CLI-26, STD1-JOIN-12)

function openPairScreen() {
  clearErrors();
  $('pair-cleared').hidden = true;
  if (!$('pair-number').value && $('entry-number').value) $('pair-number').value = $('entry-number').value;
  clearPins();
  show('pair');
  $(($('pair-number').value ? 'pair-code' : 'pair-number')).focus();
}

async function onPair(event) {
  event.preventDefault();
  clearErrors();
  const number = readNumber('pair-number');
  if (!number) return;
  const parsed = parsePairingCode($('pair-code').value);
  if (parsed.error) {
    // Refused here, before anything is sent, so a typo costs no attempt (STD1-JOIN-12).
    fieldError('pair-code', parsed.error === 'wrong_length' ? 'error.code-length' : 'error.code-character');
    return;
  }
  const pin = readPinTwice('pair-pin', 'pair-pin-confirm');
  if (!pin) return;
  $('pair-number').value = formatAsYouType($('pair-number').value, defaultCountry());
  startBusy('pair-form', 'pair.joining');
  await session.prepare(number.normalised, pin.normalised);
  const result = await session.join(await pairingHash(parsed.code));
  if (result.aborted) return;
  // Busy until the chat opens, as the start screen is (in place).
  if (!result.ok) endBusy();
  if (result.network) {
    formError('pair-error', 'error.network');
    return;
  }
  if (result.samePin) {
    // STD1-CLI-16: the creator's PIN; ask for another one.
    session.erase(false);
    $('pair-pin').value = '';
    $('pair-pin-confirm').value = '';
    fieldError('pair-pin', 'entry.same-pin');
    return;
  }
  if (result.error) {
    session.erase(false);
    const { reason } = result.error;
    const text = joinErrorText(result.error, { withCode: true });
    if (reason === 'pairing_invalid') fieldErrorOf('pair-code', text);
    else if (reason === 'not_found') fieldErrorOf('pair-number', text);
    else formError('pair-error', text);
    return;
  }
  $('pair-code').value = '';
  await openChat();
}

// ---------------------------------------------------------------------------
// New channel (STD1-CLI-12, STD1-CLI-13, STD1-CLI-21, STD1-CLI-25)

/** The last number the generator wrote, so that a typed one is never replaced. */
let generated = '';

function updateVcard() {
  const link = $('new-vcard');
  const number = checkNumber($('new-number').value, defaultCountry());
  if (!number.ok) {
    link.hidden = true;
    link.setAttribute('href', '#');
    return;
  }
  // A data: URL built in the page: the number never leaves it (STD1-CLI-1).
  link.setAttribute('href', vcardUrl($('new-contact-name').value, number.normalised, number.display));
  link.hidden = false;
}

function generateInto() {
  generated = generateMobile(defaultCountry());
  $('new-number').value = generated;
  setText($('new-number-error'), null);
  updateVcard();
}

function openNewScreen() {
  clearErrors();
  $('new-cleared').hidden = true;
  if (!$('new-number').value) generateInto();
  else updateVcard();
  show('new');
}

async function onCreate(event) {
  event.preventDefault();
  clearErrors();
  const number = readNumber('new-number');
  if (!number) return;
  const pin = readPinTwice('new-pin', 'new-pin-confirm');
  if (!pin) return;
  startBusy('new-form', 'new.creating');
  await session.prepare(number.normalised, pin.normalised);
  const code = generatePairingCode();
  const result = await session.create(await pairingHash(code.code));
  if (result.aborted) return;
  endBusy();
  if (!result.ok) {
    session.erase(false);
    if (result.error && result.error.reason === 'room_exists') {
      // STD1-CLI-13: choose a new number rather than join someone's room.
      generateInto();
      formError('new-error', 'new.exists');
      $('new-number').focus();
    } else if (result.network) {
      formError('new-error', 'error.network');
    } else {
      formError('new-error', joinErrorText(result.error));
    }
    return;
  }
  clearPins();
  $('new-cleared').hidden = true;
  showCode('create', code);
  // The key is derived while the creator passes the code on.
  session.ensureKey();
}

// ---------------------------------------------------------------------------
// The code screen: a pairing code, shown once (STD1-CLI-14, STD1-CLI-29)

/** What the code screen shows: the code, why, and whether a lock waits (STD1-CLI-10). */
let codeShown = null;

function resetCodeScreen() {
  codeShown = null;
  $('new-pairing-code').textContent = '';
  for (const id of ['code-copy-status', 'code-number-status', 'code-deferred', 'code-lifetime', 'code-intro']) setText($(id), null);
  $('code-number').textContent = '';
  $('code-deferred').hidden = true;
  setMasked('code-number', true);
}

/** The room's lifetime, said when it is created (STD1-CLI-21), in the largest unit that is at least 2. */
function renderLifetimeLine(element) {
  const s = session.current();
  if (!s || !s.ttl) {
    setText(element, null);
    return;
  }
  const ends = new Date(s.ttl);
  const total = Math.max(0, ends.getTime() - Date.now());
  const hours = total / 3600000;
  let duration;
  if (hours >= 48) duration = t('duration.days', { count: Math.round(hours / 24) });
  else if (hours >= 2) duration = t('duration.hours', { count: Math.round(hours) });
  else duration = t('duration.minutes', { count: Math.max(1, Math.round(total / 60000)) });
  setText(element, 'lifetime.created', { date: formatDateTime(ends), duration });
}

function showCode(mode, code) {
  const s = session.current();
  resetCodeScreen();
  codeShown = { mode, code: code.code, display: code.display, lockPending: false };
  $('new-pairing-code').textContent = code.display;
  setText($('code-title'), mode === 'reopen' ? 'code.title-reopen' : 'code.title');
  setText($('code-intro'), mode === 'reopen' ? 'code.intro-reopen' : 'code.intro');
  $('code-share').hidden = !canShare();
  $('code-number-share').hidden = !canShare();
  if (s) {
    const display = formatInternational(s.phone);
    $('code-number').textContent = display;
    $('code-number-vcard').setAttribute('href', vcardUrl('', s.phone, display));
  }
  if (mode === 'create') renderLifetimeLine($('code-lifetime'));
  show('code', { focus: 'code-title' });
}

/** Leaves the code screen: the lock the page owed if it was hidden meanwhile, or the chat. */
async function onContinue() {
  const pending = codeShown && codeShown.lockPending;
  resetCodeScreen();
  if (pending) {
    doLock('hidden');
    return;
  }
  if (currentScreen() === 'code') await openChat();
}

async function copyInto(statusId, text, doneKey) {
  setText($(statusId), (await copyText(text)) ? doneKey : 'share.copy-failed');
}

async function shareNumberFrom(statusId) {
  const s = session.current();
  if (!s) return;
  const said = await passNumberOn(s.phone, formatInternational(s.phone));
  if (said) setText($(statusId), said);
}

// ---------------------------------------------------------------------------
// Locking (STD1-CLI-9, STD1-CLI-10, STD1-CLI-28)

function isDeferring() {
  return currentScreen() === 'code' && codeShown !== null && session.isActive();
}

function deferLock() {
  if (!codeShown) return;
  codeShown.lockPending = true;
  setText($('code-deferred'), 'code.deferred');
  $('code-deferred').hidden = false;
}

/** `cause`: 'hand', 'hidden' or 'idle'. */
function doLock(cause) {
  const screen = currentScreen();
  const result = session.lock();
  clearPins();
  if (result === 'locked') {
    chat.clear();
    resetCodeScreen();
    endBusy();
    stopDerivingProgress();
    setText($('lock-error'), null);
    setText($('lock-reason'), { hand: 'locked.by-hand', hidden: 'locked.hidden', idle: 'locked.idle' }[cause] || 'locked.by-hand');
    show('locked', { focus: 'lock-pin' });
    return;
  }
  if (screen === 'new' || screen === 'pair') {
    // A form with no session yet: its PINs are emptied, and it says so;
    // the number and the name stay (STD1-CLI-28).
    if (result === 'erased') endBusy();
    $(`${screen}-cleared`).hidden = false;
    setText($(`${screen}-cleared`), `${screen}.cleared`);
    return;
  }
  if (result === 'erased' || screen === 'deriving') {
    session.erase(false);
    endBusy();
    show('entry');
    formError('entry-error', 'entry.was-locked');
  }
}

async function onUnlock(event) {
  event.preventDefault();
  setText($('lock-error'), null);
  const pin = normalisePin($('lock-pin').value);
  $('lock-pin').value = '';
  if (pin.error) {
    setText($('lock-error'), PIN_ERROR_KEYS[pin.error]);
    $('lock-pin').focus();
    return;
  }
  if (!session.current()) {
    show('entry');
    return;
  }
  startBusy('lock-form', 'locked.unlocking');
  const result = await session.unlock(pin.normalised);
  if (result.aborted || result.expiredRoom) {
    endBusy();
    return;
  }
  if (result.erased) {
    // STD1-CLI-11: the fifth failure forgets the session.
    clearAllFields();
    show('entry');
    formError('entry-error', 'locked.forgot');
    return;
  }
  if (result.ok) {
    await openChat();
    return;
  }
  endBusy();
  if (result.network) setText($('lock-error'), 'error.network');
  else if (result.error.reason === 'unauthorized') setText($('lock-error'), 'locked.wrong', { count: session.unlockAttemptsLeft() });
  else {
    const text = joinErrorText(result.error);
    setText($('lock-error'), text.key, text.params);
  }
  $('lock-pin').focus();
}

function leave() {
  session.erase(false);
  clearAllFields();
  show('entry');
}

// ---------------------------------------------------------------------------
// The end of a channel (STD1-LIFE-9, STD1-LIFE-11, STD1-CLI-36)

function showEnded(kind) {
  clearAllFields();
  const texts = {
    party: ['expired.title', 'expired.by-party', 'expired.next'],
    self: ['expired.title', 'expired.by-you', 'expired.next'],
    ttl: ['expired.title', 'expired.by-time', 'expired.next'],
    replaced: ['expired.replaced-title', 'expired.replaced', 'expired.replaced-next'],
  }[kind] || ['expired.title', 'expired.by-party', 'expired.next'];
  setText($('expired-title'), texts[0]);
  setText($('expired-text'), texts[1]);
  setText($('expired-next'), texts[2]);
  document.body.dataset.ended = kind;
  show('expired');
}

// ---------------------------------------------------------------------------
// Wiring

function fillLanguages() {
  const select = $('language');
  for (const { code, name } of LANGUAGES) {
    const option = document.createElement('option');
    option.value = code;
    option.lang = code;
    option.textContent = name;
    select.append(option);
  }
  select.value = preferredLanguage();
  // STD1-CLI-32: switched in place, never stored.
  select.addEventListener('change', () => setLanguage(select.value));
}

function wireNumberField(id) {
  const input = $(id);
  input.addEventListener('input', (event) => {
    if (!event.inputType || !event.inputType.startsWith('insert')) return;
    if (input.selectionStart !== input.value.length) return;
    // As-you-type spacing, never over what the user typed (STD1-CLI-25).
    input.value = formatAsYouType(input.value, defaultCountry());
  });
}

/** Clears a field's error (and its form's) as soon as the user edits it. */
function wireErrorClearing() {
  for (const id of ERRORS) {
    const field = $(id.replace(/-error$/, ''));
    if (!field || field.tagName === 'FORM' || field.tagName === 'SECTION') continue;
    field.addEventListener('input', () => {
      setText($(id), null);
      const form = field.closest('form');
      const general = form && $(`${form.id.replace(/-form$/, '')}-error`);
      if (general) setText(general, null);
    });
  }
}

function init() {
  startUp();
  setLanguage(preferredLanguage());
  fillLanguages();
  picker = createCountryPicker({
    search: $('new-country-search'),
    select: $('new-country'),
    onChange: () => {
      // A generated number follows the country; a typed one is the user's.
      if (!$('new-number').value || $('new-number').value === generated) generateInto();
      else updateVcard();
    },
  });
  onLanguageChange(() => {
    picker.relabel();
    chat.render();
    if (codeShown && codeShown.mode === 'create') renderLifetimeLine($('code-lifetime'));
  });
  clearAllFields();
  chat.init({ onCode: (mode, code) => showCode(mode, code) });
  $('main').hidden = false;
  estimateDeriveMs();

  for (const id of ['entry-number', 'pair-number', 'code-number', 'chat-number']) wireMaskToggle(id);
  wireErrorClearing();

  $('entry-form').addEventListener('submit', onEntry);
  $('entry-cancel').addEventListener('click', cancelOpening);
  $('entry-pair').addEventListener('click', openPairScreen);
  $('entry-new').addEventListener('click', openNewScreen);
  wireNumberField('entry-number');

  $('pair-form').addEventListener('submit', onPair);
  $('pair-back').addEventListener('click', () => {
    session.erase(false);
    endBusy();
    clearPins();
    clearErrors();
    show('entry');
  });
  wireNumberField('pair-number');

  $('new-generate').addEventListener('click', generateInto);
  wireNumberField('new-number');
  $('new-number').addEventListener('input', updateVcard);
  $('new-contact-name').addEventListener('input', updateVcard);
  $('new-form').addEventListener('submit', onCreate);
  $('new-back').addEventListener('click', () => {
    clearPins();
    clearErrors();
    show('entry');
  });

  $('code-copy').addEventListener('click', () => codeShown && copyInto('code-copy-status', codeShown.display, 'code.copied'));
  $('code-share').addEventListener('click', async () => {
    if (!codeShown) return;
    const outcome = await shareText(t('code.share-text', { code: codeShown.display }));
    if (outcome === 'shared') setText($('code-copy-status'), 'share.shared');
    else if (outcome === 'unsupported') await copyInto('code-copy-status', codeShown.display, 'code.copied');
  });
  $('code-number-copy').addEventListener('click', () => {
    const s = session.current();
    if (s) copyInto('code-number-status', formatInternational(s.phone), 'share.copied-number');
  });
  $('code-number-share').addEventListener('click', () => shareNumberFrom('code-number-status'));
  $('new-continue').addEventListener('click', onContinue);

  $('chat-lock').addEventListener('click', () => doLock('hand'));
  $('lock-form').addEventListener('submit', onUnlock);
  $('lock-leave').addEventListener('click', leave);
  $('expired-home').addEventListener('click', () => {
    clearAllFields();
    delete document.body.dataset.ended;
    show('entry');
  });

  session.subscribe((kind, detail) => {
    // STD1-LIFE-9: nothing of the conversation stays in the page.
    if (kind === 'expired') showEnded(detail);
    if (kind === 'replaced') showEnded('replaced');
  });

  // STD1-CLI-10: lock when hidden and after 5 minutes without input. A PIN
  // typed into a field counts as something to protect too; the code screen
  // defers a hidden page's lock (D-48).
  startAutoLock({
    onLock: doLock,
    isActive: () => session.isActive() || PIN_FIELDS.some((id) => $(id).value !== ''),
    isDeferring,
    onDefer: deferLock,
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
  applyTexts(document);
}

init();
