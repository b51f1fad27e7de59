// The chat screen: the one current message, the composer with turn-taking,
// edit and delete of one's own unread message, read receipts, the typing
// indicator, the TTL warning, expiry with confirmation, and the polite live
// region. Renders from session.js state; never stores anything.

import * as session from './session.js';
import { ConnectionLost } from './connection.js';
import { createReadWatcher } from './receipts.js';
import { MAX_PLAINTEXT_BYTES, MAX_PLAINTEXT_CHARS, generatePairingCode, pairingHash, utf8Length } from './std1.js';

const $ = (id) => document.getElementById(id);

const TYPING_SHOWN_MS = 3000;
const TTL_WARNING_MS = 24 * 60 * 60 * 1000;

let editingId = null;
let typingTimer = null;
let sending = false;
let watcher = null;
let ttlTimer = null;

/** Announces through the polite live region, never with secrets or message text (STD1-CLI-23). */
export function announce(text) {
  const live = $('chat-live');
  live.textContent = '';
  // A fresh text node after a tick makes screen readers announce repeats too.
  setTimeout(() => {
    live.textContent = text;
  }, 50);
}

function setError(text) {
  $('chat-error').textContent = text || '';
}

function timeOf(stamp) {
  if (!stamp) return '';
  const date = new Date(stamp);
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
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
  $('chat-send').textContent = 'Send';
  $('chat-input-label').textContent = 'Your message';
  $('chat-cancel-edit').hidden = true;
}

function updateCounter() {
  const text = $('chat-input').value;
  const chars = [...text].length;
  const over = utf8Length(text) > MAX_PLAINTEXT_BYTES;
  $('chat-counter').textContent = over
    ? `${chars} / ${MAX_PLAINTEXT_CHARS} — too long to encrypt, shorten it`
    : `${chars} / ${MAX_PLAINTEXT_CHARS}`;
}

/** Renders the whole chat screen from the session state. */
export function render() {
  const s = session.current();
  if (!s || s.locked) return;
  const m = s.message;
  const mine = session.isMine(m);
  const bubble = $('chat-bubble');
  const text = $('chat-message');

  // Status line: pairing and connection.
  let status;
  if (!s.connected) {
    status = s.reconnectTimer !== null ? 'Connection lost. Reconnecting…' : 'Connecting…';
  } else if (s.awaitingParty) {
    status = 'Waiting for the other person to join with the pairing code.';
  } else {
    status = 'Both of you are in this channel.';
  }
  if (s.connected && !s.key) status += ' Preparing the key…';
  $('chat-status').textContent = status;
  $('chat-pairing').hidden = !(s.connected && s.awaitingParty);

  // The one current message.
  if (!m) {
    bubble.hidden = true;
    text.textContent = '';
    for (const name of ['side', 'read', 'edited']) delete text.dataset[name];
    $('chat-empty').hidden = false;
    if (watcher) watcher.disarm();
  } else {
    $('chat-empty').hidden = true;
    bubble.hidden = false;
    const side = mine ? 'sent' : 'received';
    bubble.className = `bubble ${side}`;
    text.dataset.side = side;
    text.dataset.read = m.read_at ? 'true' : 'false';
    text.dataset.edited = m.edited ? 'true' : 'false';
    text.classList.toggle('placeholder', !m.decrypted || m.plain === null);
    if (!m.decrypted) {
      text.textContent = s.key ? 'Decrypting…' : 'Preparing the key…';
    } else if (m.plain === null) {
      // STD1-ENC-4: nothing of a message that fails to authenticate is shown.
      text.textContent = 'This message could not be decrypted.';
    } else {
      text.textContent = m.plain;
    }
    const who = mine ? 'You' : 'They';
    const parts = [`${who} · ${timeOf(m.sent_at)}`];
    if (m.edited) parts.push('edited');
    if (mine) parts.push(m.read_at ? `read ${timeOf(m.read_at)}` : 'not read yet');
    $('chat-meta').textContent = parts.join(' · ');
    $('chat-own-actions').hidden = !(mine && !m.read_at && s.connected);
    $('chat-edit').hidden = !(m.decrypted && m.plain !== null);
    if (watcher) {
      // Only the other party's unread message earns a receipt (STD1-MSG-11, STD1-CLI-19).
      if (!mine && !m.read_at && !s.receiptsSent.has(m.id) && s.connected) watcher.arm(m.id);
      else watcher.disarm();
    }
  }

  // If the message being edited is gone or read, the edit is over.
  if (editingId && (!m || m.id !== editingId || m.read_at || !mine)) leaveEditMode();

  // Turn-taking: no sending while the current message is ours (STD1-CLI-18).
  let reason = '';
  if (!s.connected) reason = 'Sending is paused until the connection is back.';
  else if (!s.key) reason = 'Sending is possible once the key is ready.';
  else if (mine && !editingId) reason = 'You sent the current message. You can write again after the other person replies.';
  const canWrite = reason === '';
  $('chat-turn').textContent = reason;
  $('chat-turn').hidden = canWrite;
  $('chat-input').disabled = !canWrite && !(editingId && s.connected && s.key);
  $('chat-send').disabled = sending || $('chat-input').disabled;
  updateCounter();
  renderTtl();
}

/** Warns when less than 24 hours are left (STD1-CLI-21). */
function renderTtl() {
  const s = session.current();
  const el = $('chat-ttl');
  if (!s || !s.ttl) {
    el.hidden = true;
    return;
  }
  const left = Date.parse(s.ttl) - Date.now();
  if (left >= TTL_WARNING_MS) {
    el.hidden = true;
    return;
  }
  const hours = Math.max(0, Math.floor(left / 3600000));
  const mins = Math.max(0, Math.ceil((left % 3600000) / 60000));
  el.textContent =
    hours > 0
      ? `This channel ends in about ${hours} h ${mins} min, and everything in it is deleted.`
      : `This channel ends in about ${mins} min, and everything in it is deleted.`;
  el.hidden = false;
}

async function onSubmit(event) {
  event.preventDefault();
  const s = session.current();
  if (!s || sending) return;
  const input = $('chat-input');
  const text = input.value;
  if (text.trim() === '') {
    setError('Write something first.');
    return;
  }
  // STD1-CLI-17 / STD1-ENC-6: refuse what would not fit, before encrypting.
  if (utf8Length(text) > MAX_PLAINTEXT_BYTES || [...text].length > MAX_PLAINTEXT_CHARS) {
    setError('The message is too long. Shorten it and send again.');
    return;
  }
  setError('');
  sending = true;
  render();
  const editing = editingId;
  try {
    const reply = editing ? await session.editMessage(editing, text) : await session.sendMessage(text);
    if (reply.ok) {
      if (input.value === text) input.value = '';
      if (editing) leaveEditMode();
      announce(editing ? 'Your message was changed.' : 'Your message was sent.');
    } else {
      handleSendError(reply.error, Boolean(editing));
    }
  } catch (error) {
    if (error instanceof ConnectionLost) {
      setError('The connection dropped before the server answered, so your message may not have been sent. Your text is still here; check once reconnected.');
    } else {
      setError('The message could not be encrypted.');
    }
  } finally {
    sending = false;
    render();
  }
}

function handleSendError(error, editing) {
  switch (error.reason) {
    case 'conflict':
    case 'not_your_turn':
      // STD1-CLI-20: keep the text, show the new state, let the user decide.
      setError('The conversation changed before your message went out; the current message is shown above. Your text is still here: send it again if you still want to.');
      break;
    case 'not_editable':
      leaveEditMode();
      setError('The other person read the message before your change arrived, so it can no longer be edited.');
      break;
    case 'not_found':
    case 'not_author':
      if (editing) leaveEditMode();
      setError('That message is no longer the current one.');
      break;
    case 'rate_limited':
      setError(`Too fast. Try again in ${Math.max(1, error.retry_after || 1)} s.`);
      break;
    case 'room_expired':
      break;
    case 'internal_error':
      setError('The server had a problem; reconnecting. Check whether your message arrived before sending again.');
      break;
    default:
      setError('The server refused the message.');
  }
  announce('Your message was not sent.');
}

function onEdit() {
  const s = session.current();
  const m = s && s.message;
  if (!m || !session.isMine(m) || m.read_at || !m.decrypted || m.plain === null) return;
  editingId = m.id;
  $('chat-input').value = m.plain;
  $('chat-send').textContent = 'Save';
  $('chat-input-label').textContent = 'Edit your message';
  $('chat-cancel-edit').hidden = false;
  setError('');
  render();
  $('chat-input').focus();
}

function onCancelEdit() {
  leaveEditMode();
  $('chat-input').value = '';
  render();
  $('chat-input').focus();
}

async function onDelete() {
  const s = session.current();
  const m = s && s.message;
  if (!m || !session.isMine(m) || m.read_at) return;
  try {
    const reply = await session.deleteMessage(m.id);
    if (reply.ok) announce('Your message was deleted. Either of you can write now.');
    else if (reply.error.reason === 'not_deletable') setError('The other person already read it, so it can no longer be deleted.');
    else if (reply.error.reason !== 'room_expired') setError('The message could not be deleted.');
  } catch {
    setError('The connection dropped; the message may not have been deleted.');
  }
}

async function onNewCode() {
  const code = generatePairingCode();
  try {
    const reply = await session.resetPairing(await pairingHash(code.code));
    if (reply.ok) {
      $('chat-new-code-value').textContent = code.display;
      $('chat-new-code-value').hidden = false;
      announce('A new pairing code is shown.');
    } else if (reply.error.reason === 'already_paired') {
      setError('The other person has already joined.');
    } else {
      setError('No new code could be made. Try again.');
    }
  } catch {
    setError('The connection dropped; no new code was made.');
  }
}

function onBroadcast({ event, data }) {
  const s = session.current();
  switch (event) {
    case 'new_message':
      hideTyping();
      if (s && data.sender_hash !== s.senderHash) {
        // Content only reaches the live region through the focused chat itself.
        announce('New message. It is your turn.');
      }
      break;
    case 'message_read':
      if (s && s.message && session.isMine(s.message)) announce('Your message was read.');
      break;
    case 'message_edited':
      if (s && s.message && !session.isMine(s.message)) announce('The message was edited.');
      break;
    case 'message_deleted':
      announce('The message was deleted. Either of you can write now.');
      break;
    case 'party_paired':
      $('chat-new-code-value').hidden = true;
      $('chat-new-code-value').textContent = '';
      announce('The other person joined the channel.');
      break;
    case 'counterparty_typing':
      showTyping();
      break;
    default:
  }
}

/** Empties every element that may hold conversation data (lock, expiry, leave). */
export function clear() {
  leaveEditMode();
  hideTyping();
  sending = false;
  if (watcher) watcher.disarm();
  for (const id of ['chat-message', 'chat-meta', 'chat-status', 'chat-error', 'chat-live', 'chat-ttl', 'chat-new-code-value']) {
    $(id).textContent = '';
  }
  $('chat-new-code-value').hidden = true;
  $('chat-bubble').hidden = true;
  $('chat-expire-panel').hidden = true;
  const text = $('chat-message');
  for (const name of ['side', 'read', 'edited']) delete text.dataset[name];
  $('chat-input').value = '';
  updateCounter();
}

export function init() {
  watcher = createReadWatcher($('chat-message'), (id) => session.sendReadReceipt(id).then(render));
  $('chat-form').addEventListener('submit', onSubmit);
  $('chat-input').addEventListener('input', () => {
    updateCounter();
    if (!editingId && $('chat-input').value !== '') session.sendTyping();
  });
  $('chat-input').addEventListener('keydown', (event) => {
    // Ctrl/Cmd+Enter sends; plain Enter makes a new line.
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) $('chat-form').requestSubmit();
  });
  $('chat-edit').addEventListener('click', onEdit);
  $('chat-cancel-edit').addEventListener('click', onCancelEdit);
  $('chat-delete').addEventListener('click', onDelete);
  $('chat-new-code').addEventListener('click', onNewCode);
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
      if (reply.error && reply.error.reason !== 'room_expired') setError('The channel could not be ended. Try again.');
    } catch {
      // The room_expired broadcast and close usually beat this; if not, the
      // reconnect's join tells whether the room is gone.
    }
  });
  session.subscribe((kind, detail) => {
    if (kind === 'broadcast') onBroadcast(detail);
    if (kind === 'reconnected') announce('Connection restored.');
    if (kind === 'change' || kind === 'broadcast' || kind === 'reconnected') render();
  });
  ttlTimer = setInterval(() => {
    if (session.isActive()) render();
  }, 30000);
  return ttlTimer;
}
