// The chat screen: the one current message, the composer, the waiting card
// with edit and delete of one's own unread message, read receipts, the
// typing indicator, the room's lifetime, the number to share while the
// other person has not joined, the lock notice, re-opening the other
// person's slot, expiry with confirmation, and the polite live region.
// Renders from session.js state; never stores anything.

import * as session from './session.js';
import { ConnectionLost } from './connection.js';
import { formatDateTime, formatNumber, formatTime, setText, t } from './i18n.js';
import { formatInternational } from './phone.js';
import { createReadWatcher } from './receipts.js';
import { canShare, copyText, passNumberOn } from './share.js';
import { MAX_PLAINTEXT_BYTES, generatePairingCode, normalisePin, pairingHash, utf8Length } from './std1.js';

const $ = (id) => document.getElementById(id);

const TYPING_SHOWN_MS = 3000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Under this, the lifetime is shown emphasised, in hours (STD1-CLI-21). */
const URGENT_MS = 48 * HOUR_MS;

let editingId = null;
let typingTimer = null;
let sending = false;
let watcher = null;
/** A message the user asked to send while the connection was down (STD1-CLI-30). */
let queued = null;
/** The composer's text before the last input, to undo what does not fit. */
let lastValue = '';
let onCode = () => {};

/** Announces through the polite live region, never with secrets or message text (STD1-CLI-23). */
export function announce(key, params) {
  const live = $('chat-live');
  setText(live, null);
  // A fresh text after a tick makes screen readers announce repeats too.
  setTimeout(() => setText(live, key, params), 50);
}

function setError(key, params) {
  setText($('chat-error'), key, params);
  if (key) setText($('chat-note'), null);
}

/** A status of the composer that is not an error (a message waiting to go out). */
function setNote(key) {
  setText($('chat-note'), key);
  if (key) setText($('chat-error'), null);
}

function hideTyping() {
  if (typingTimer !== null) clearTimeout(typingTimer);
  typingTimer = null;
  $('chat-typing').hidden = true;
}

/** Shows the indicator for 3 s after each counterparty_typing (STD1-MSG-18). */
function showTyping() {
  $('chat-typing').hidden = false;
  if (typingTimer !== null) clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function leaveEditMode() {
  editingId = null;
  $('chat-cancel-edit').hidden = true;
}

// ---------------------------------------------------------------------------
// The composer's one limit (STD1-CLI-17): the bytes the encryption takes

/** The longest prefix of `text` that fits in `bytes` UTF-8 bytes, cut between code points. */
function fitting(text, bytes) {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const size = utf8Length(ch);
    if (used + size > bytes) break;
    used += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * Keeps the composer within what can be sent: of an insertion that does
 * not fit, only the part that does is kept (a paste is cut, a keystroke
 * refused), so the box never holds text the encryption would refuse and
 * never refuses text that fits.
 */
function enforceLimit() {
  const input = $('chat-input');
  const value = input.value;
  if (utf8Length(value) <= MAX_PLAINTEXT_BYTES) {
    lastValue = value;
    return false;
  }
  // What was inserted: the part between the common prefix and suffix with the previous text.
  let start = 0;
  while (start < lastValue.length && start < value.length && lastValue[start] === value[start]) start += 1;
  let endOld = lastValue.length;
  let endNew = value.length;
  while (endOld > start && endNew > start && lastValue[endOld - 1] === value[endNew - 1]) {
    endOld -= 1;
    endNew -= 1;
  }
  const before = value.slice(0, start);
  const after = value.slice(endNew);
  const room = MAX_PLAINTEXT_BYTES - utf8Length(before) - utf8Length(after);
  const kept = room > 0 ? fitting(value.slice(start, endNew), room) : '';
  const next = before + kept + after;
  input.value = utf8Length(next) <= MAX_PLAINTEXT_BYTES ? next : fitting(next, MAX_PLAINTEXT_BYTES);
  const caret = before.length + kept.length;
  input.setSelectionRange(caret, caret);
  lastValue = input.value;
  setError(kept.length > 0 ? 'chat.truncated' : 'chat.full');
  return true;
}

function updateCounter() {
  const text = $('chat-input').value;
  const used = utf8Length(text);
  const meter = $('chat-meter');
  meter.value = Math.min(used, MAX_PLAINTEXT_BYTES);
  if (used > MAX_PLAINTEXT_BYTES) {
    // Only reachable by a value set from outside the input events.
    const chars = [...text];
    const perChar = used / Math.max(1, chars.length);
    setText($('chat-counter'), 'chat.too-long', { count: Math.ceil((used - MAX_PLAINTEXT_BYTES) / perChar) });
    return;
  }
  const left = (MAX_PLAINTEXT_BYTES - used) / MAX_PLAINTEXT_BYTES;
  setText($('chat-counter'), 'chat.room-left', { percent: formatNumber(Math.floor(left * 100) / 100, { style: 'percent' }) });
}

// ---------------------------------------------------------------------------
// Rendering

/** The room's time left, in days, then hours, then minutes, rounded down (STD1-CLI-21). */
function renderLifetime(s) {
  const badge = $('chat-lifetime');
  if (!s.ttl) {
    setText(badge, null);
    return;
  }
  const ends = Date.parse(s.ttl);
  const left = Math.max(0, ends - Date.now());
  if (left >= URGENT_MS) setText(badge, 'lifetime.days', { count: Math.floor(left / DAY_MS) });
  else if (left >= HOUR_MS) setText(badge, 'lifetime.hours', { count: Math.floor(left / HOUR_MS) });
  else setText(badge, 'lifetime.minutes', { count: Math.floor(left / 60000) });
  badge.classList.toggle('urgent', left < URGENT_MS);
  badge.title = t('lifetime.ends', { date: formatDateTime(new Date(ends)) });
  badge.dataset.msLeft = String(left);
}

function renderStatus(s) {
  const connection = $('chat-connection');
  if (!s.connected) {
    // Connection loss stands apart from the status line (a warning box).
    setText(connection, s.reconnectTimer !== null ? 'chat.offline' : 'chat.connecting');
    connection.hidden = false;
  } else {
    setText(connection, null);
    connection.hidden = true;
  }
  let status = s.awaitingParty ? 'chat.unpaired' : 'chat.paired';
  if (s.connected && !s.key) status = 'chat.key';
  setText($('chat-status'), status);
}

function renderPairing(s) {
  // STD1-CLI-29: the number, masked, to pass on until the other person joined.
  $('chat-pairing').hidden = !s.awaitingParty;
  if (s.awaitingParty) $('chat-number').textContent = formatInternational(s.phone);
  $('chat-number-share').hidden = !canShare();
  $('chat-new-code').disabled = !s.connected;
  // Re-opening the other slot needs the other person to exist (STD1-JOIN-24).
  $('chat-trouble').hidden = s.awaitingParty;
  $('chat-reopen').disabled = !s.connected;
}

function renderLockNotice(s) {
  const notice = s.lockNotice;
  $('chat-locked-notice').hidden = !notice;
  if (notice) {
    setText($('chat-locked-text'), 'chat.locked-notice', {
      time: formatTime(new Date(notice.at)),
      until: formatTime(new Date(notice.until)),
    });
  }
}

function renderMessage(s, m, mine) {
  const bubble = $('chat-bubble');
  const text = $('chat-message');
  if (!m) {
    bubble.hidden = true;
    text.textContent = '';
    for (const name of ['side', 'read', 'edited']) delete text.dataset[name];
    $('chat-empty').hidden = false;
    // STD1-CLI-34: a deletion is said, not shown as an empty room.
    const empty = { own: 'chat.deleted-own', other: 'chat.deleted-other' }[s.lastDeleted] || 'chat.empty';
    setText($('chat-empty'), empty);
    if (watcher) watcher.disarm();
    return;
  }
  $('chat-empty').hidden = true;
  bubble.hidden = false;
  const side = mine ? 'sent' : 'received';
  bubble.className = `bubble ${side}`;
  text.dataset.side = side;
  text.dataset.read = m.read_at ? 'true' : 'false';
  text.dataset.edited = m.edited ? 'true' : 'false';
  text.classList.toggle('placeholder', !m.decrypted || m.plain === null);
  if (!m.decrypted) {
    setText(text, s.key ? 'chat.decrypting' : 'chat.key');
  } else if (m.plain === null) {
    // STD1-ENC-4: nothing of a message that fails to authenticate is shown.
    setText(text, 'chat.undecryptable');
  } else {
    setText(text, null);
    text.textContent = m.plain;
  }
  const parts = [`${t(mine ? 'chat.you' : 'chat.they')} · ${formatTime(new Date(m.sent_at))}`];
  if (m.edited) parts.push(t('chat.edited'));
  if (mine) parts.push(m.read_at ? t('chat.read-at', { time: formatTime(new Date(m.read_at)) }) : t('chat.unread'));
  $('chat-meta').textContent = parts.join(' · ');
  if (watcher) {
    // Only the other party's unread message earns a receipt (STD1-MSG-11, STD1-CLI-19).
    if (!mine && !m.read_at && !s.receiptsSent.has(m.id) && s.connected) watcher.arm(m.id);
    else watcher.disarm();
  }
}

/**
 * The waiting card takes the composer's place while the current message
 * is the user's own (STD1-CLI-18), with edit and delete while it is
 * unread; editing brings the composer back.
 */
function renderTurn(s, m, mine) {
  const waiting = mine && !editingId;
  $('chat-waiting').hidden = !waiting;
  $('chat-form').hidden = waiting;
  if (waiting) {
    setText($('chat-waiting-title'), 'chat.waiting-reply');
    const editable = !m.read_at && s.connected && m.decrypted && m.plain !== null;
    setText($('chat-turn'), !s.connected ? 'chat.waiting-offline' : m.read_at ? 'chat.waiting-read' : 'chat.waiting-unread');
    $('chat-own-actions').hidden = !editable;
    if (!editable) $('chat-delete-panel').hidden = true;
  } else {
    $('chat-delete-panel').hidden = true;
  }
  setText($('chat-input-label'), editingId ? 'chat.edit-message' : 'chat.your-message');
  let sendKey = editingId ? 'chat.save' : 'chat.send';
  if (!s.connected && !editingId) sendKey = 'chat.send-offline';
  setText($('chat-send'), sendKey);
  // STD1-CLI-30: the draft stays editable offline; only sending waits.
  $('chat-input').disabled = false;
  $('chat-send').disabled = sending || (editingId !== null && !s.connected) || (s.connected && !s.key) || queued !== null;
}

/** Renders the whole chat screen from the session state. */
export function render() {
  const s = session.current();
  if (!s || s.locked) return;
  const m = s.message;
  const mine = session.isMine(m);
  // If the message being edited is gone or read, the edit is over.
  if (editingId && (!m || m.id !== editingId || m.read_at || !mine)) leaveEditMode();
  renderStatus(s);
  renderLifetime(s);
  renderLockNotice(s);
  renderPairing(s);
  renderMessage(s, m, mine);
  renderTurn(s, m, mine);
  updateCounter();
}

// ---------------------------------------------------------------------------
// Sending

async function deliver(text, editing) {
  const input = $('chat-input');
  sending = true;
  render();
  try {
    const reply = editing ? await session.editMessage(editing, text) : await session.sendMessage(text);
    if (reply.ok) {
      if (input.value === text) {
        input.value = '';
        lastValue = '';
      }
      if (editing) leaveEditMode();
      setError(null);
      announce(editing ? 'chat.changed' : 'chat.sent');
    } else {
      handleSendError(reply.error, Boolean(editing));
    }
  } catch (error) {
    if (error instanceof ConnectionLost) setError('chat.lost-send');
    else setError('chat.encrypt-failed');
  } finally {
    sending = false;
    render();
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const s = session.current();
  if (!s || sending) return;
  const text = $('chat-input').value;
  if (text.trim() === '') {
    setError('chat.write-first');
    return;
  }
  // STD1-CLI-17 / STD1-ENC-6: refuse what would not fit, before encrypting.
  if (utf8Length(text) > MAX_PLAINTEXT_BYTES) {
    setError('chat.too-long', { count: 1 });
    return;
  }
  if (!s.connected && !editingId) {
    // STD1-CLI-30: sent once back, if still the user's turn and unanswered.
    queued = { text, replaces: s.message ? s.message.id : null };
    setNote('chat.queued');
    render();
    return;
  }
  await deliver(text, editingId);
}

/** The queued draft, once the session is back (STD1-CLI-30, STD1-MSG-6). */
async function sendQueued() {
  const s = session.current();
  if (!queued || !s || !s.connected || !s.key) return;
  const draft = queued;
  queued = null;
  setNote(null);
  const current = s.message ? s.message.id : null;
  if (current !== draft.replaces || session.isMine(s.message) || $('chat-input').value !== draft.text) {
    setError('chat.queue-stale');
    render();
    return;
  }
  await deliver(draft.text, null);
}

function handleSendError(error, editing) {
  switch (error.reason) {
    case 'conflict':
    case 'not_your_turn':
      // STD1-CLI-20: keep the text, show the new state, let the user decide.
      setError('chat.conflict');
      break;
    case 'not_editable':
      leaveEditMode();
      setError('chat.not-editable');
      break;
    case 'not_found':
    case 'not_author':
      if (editing) leaveEditMode();
      setError('chat.not-current');
      break;
    case 'rate_limited':
      setError('chat.too-fast', { count: Math.max(1, error.retry_after || 1) });
      break;
    case 'room_expired':
    case 'not_joined':
      break;
    case 'internal_error':
      setError('chat.server-problem');
      break;
    default:
      setError('chat.refused');
  }
  announce('chat.not-sent');
}

function onEdit() {
  const s = session.current();
  const m = s && s.message;
  if (!m || !session.isMine(m) || m.read_at || !m.decrypted || m.plain === null) return;
  editingId = m.id;
  $('chat-input').value = m.plain;
  lastValue = m.plain;
  $('chat-cancel-edit').hidden = false;
  setError(null);
  render();
  $('chat-input').focus();
}

function onCancelEdit() {
  leaveEditMode();
  $('chat-input').value = '';
  lastValue = '';
  render();
}

/** STD1-CLI-34: delete asks first. */
function onDeleteAsk() {
  $('chat-delete-panel').hidden = false;
  $('chat-delete-confirm').focus();
}

async function onDelete() {
  const s = session.current();
  const m = s && s.message;
  $('chat-delete-panel').hidden = true;
  if (!m || !session.isMine(m) || m.read_at) return;
  try {
    const reply = await session.deleteMessage(m.id);
    if (reply.ok) announce('chat.deleted');
    else if (reply.error.reason === 'not_deletable') setError('chat.delete-read');
    else if (reply.error.reason !== 'room_expired') setError('chat.delete-failed');
  } catch {
    setError('chat.delete-lost');
  }
}

// ---------------------------------------------------------------------------
// Pairing codes: a new one for an unpaired room, a re-opened slot

async function onNewCode() {
  const code = generatePairingCode();
  try {
    const reply = await session.resetPairing(await pairingHash(code.code));
    if (reply.ok) {
      announce('chat.live-code');
      onCode('reset', code);
    } else if (reply.error.reason === 'already_paired') {
      setError('chat.already-paired');
    } else {
      setError('chat.code-failed');
    }
  } catch {
    setError('chat.code-lost');
  }
}

/** STD1-CLI-27: the user's own PIN, typed again, then a fresh session, then `reopen_pairing`. */
async function onReopen(event) {
  event.preventDefault();
  const field = $('chat-reopen-pin');
  const pin = normalisePin(field.value);
  field.value = '';
  setText($('chat-reopen-error'), null);
  if (pin.error) {
    setText($('chat-reopen-error'), 'chat.reopen-wrong');
    field.focus();
    return;
  }
  const code = generatePairingCode();
  $('chat-reopen').disabled = true;
  const result = await session.reopenWithPin(pin.normalised, await pairingHash(code.code));
  $('chat-reopen').disabled = false;
  if (result.ok) {
    $('chat-trouble').open = false;
    onCode('reopen', code);
    return;
  }
  if (result.aborted) return;
  setText($('chat-reopen-error'), result.wrongPin ? 'chat.reopen-wrong' : 'chat.reopen-failed');
  field.focus();
}

// ---------------------------------------------------------------------------
// Broadcasts

function onBroadcast({ event, data }) {
  const s = session.current();
  switch (event) {
    case 'new_message':
      hideTyping();
      if (s && data.sender_hash !== s.senderHash) {
        // Content only reaches the live region through the focused chat itself.
        announce('chat.live-new');
      }
      break;
    case 'message_read':
      if (s && s.message && session.isMine(s.message)) announce('chat.live-read');
      break;
    case 'message_edited':
      if (s && s.message && !session.isMine(s.message)) announce('chat.live-edited');
      break;
    case 'message_deleted':
      announce('chat.live-deleted');
      break;
    case 'party_paired':
      announce('chat.live-paired');
      break;
    case 'room_locked':
      announce('chat.live-locked');
      break;
    case 'counterparty_typing':
      showTyping();
      break;
    default:
  }
}

async function shareOwnNumber() {
  const s = session.current();
  if (!s) return;
  const said = await passNumberOn(s.phone, formatInternational(s.phone));
  if (said) setText($('chat-number-status'), said);
}

async function copyNumber() {
  const s = session.current();
  if (!s) return;
  setText($('chat-number-status'), (await copyText(formatInternational(s.phone))) ? 'share.copied-number' : 'share.copy-failed');
}

/** Empties every element that may hold conversation data (lock, expiry, leave). */
export function clear() {
  leaveEditMode();
  hideTyping();
  sending = false;
  queued = null;
  if (watcher) watcher.disarm();
  for (const id of ['chat-message', 'chat-meta', 'chat-status', 'chat-error', 'chat-note', 'chat-live', 'chat-lifetime', 'chat-connection', 'chat-locked-text', 'chat-number-status', 'chat-reopen-error', 'chat-turn', 'chat-empty']) {
    setText($(id), null);
  }
  $('chat-number').textContent = '';
  $('chat-number').dataset.masked = 'true';
  $('chat-bubble').hidden = true;
  $('chat-expire-panel').hidden = true;
  $('chat-delete-panel').hidden = true;
  $('chat-locked-notice').hidden = true;
  $('chat-trouble').open = false;
  const text = $('chat-message');
  for (const name of ['side', 'read', 'edited']) delete text.dataset[name];
  $('chat-input').value = '';
  lastValue = '';
  updateCounter();
}

/** `onCode(mode, code)` shows a new pairing code ('reset' or 'reopen'). */
export function init(options = {}) {
  onCode = options.onCode || onCode;
  watcher = createReadWatcher($('chat-message'), (id) => session.sendReadReceipt(id).then(render));
  $('chat-form').addEventListener('submit', onSubmit);
  $('chat-input').addEventListener('input', () => {
    if (queued) {
      // Changing a queued draft takes it back: it is sent when the user says so.
      queued = null;
      setNote(null);
      render();
    }
    enforceLimit();
    updateCounter();
    if (!editingId && $('chat-input').value !== '') session.sendTyping();
  });
  $('chat-input').addEventListener('keydown', (event) => {
    // Ctrl/Cmd+Enter sends; plain Enter makes a new line.
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) $('chat-form').requestSubmit();
  });
  $('chat-edit').addEventListener('click', onEdit);
  $('chat-cancel-edit').addEventListener('click', onCancelEdit);
  $('chat-delete').addEventListener('click', onDeleteAsk);
  $('chat-delete-confirm').addEventListener('click', onDelete);
  $('chat-delete-cancel').addEventListener('click', () => {
    $('chat-delete-panel').hidden = true;
    $('chat-delete').focus();
  });
  $('chat-new-code').addEventListener('click', onNewCode);
  $('chat-number-copy').addEventListener('click', copyNumber);
  $('chat-number-share').addEventListener('click', shareOwnNumber);
  $('chat-reopen-form').addEventListener('submit', onReopen);
  $('chat-locked-dismiss').addEventListener('click', () => {
    session.dismissLockNotice();
    render();
  });
  // STD1-LIFE-10: expiry asks first, because it cannot be undone.
  $('chat-expire').addEventListener('click', () => {
    $('chat-expire-panel').hidden = false;
    $('chat-expire-confirm').focus();
  });
  $('chat-expire-cancel').addEventListener('click', () => {
    $('chat-expire-panel').hidden = true;
    $('chat-expire').focus();
  });
  $('chat-expire-confirm').addEventListener('click', async () => {
    try {
      const reply = await session.expireRoom();
      if (reply.error && reply.error.reason !== 'room_expired') setError('chat.end-failed');
    } catch {
      // The room_expired broadcast and close usually beat this; if not, the
      // reconnect's join tells whether the room is gone.
    }
  });
  session.subscribe((kind, detail) => {
    if (kind === 'broadcast') onBroadcast(detail);
    if (kind === 'reconnected') {
      announce('chat.live-restored');
      sendQueued();
    }
    if (kind === 'change' || kind === 'broadcast' || kind === 'reconnected') render();
  });
  // The lifetime counts down while the chat is open.
  setInterval(() => {
    if (session.isActive()) render();
  }, 30000);
}
