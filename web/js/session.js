// The session: everything the client knows about the open room, in page
// memory only (STD1-CLI-4), and the protocol flows that change it: create,
// join, the broadcasts of §7.7, locking, unlocking, reconnecting and
// erasing. Screens are not touched here; app.js and chat.js listen to the
// events this module emits and decide what to show.
//
// Nothing in this module is ever written to any storage: no cookie, no Web
// Storage, no IndexedDB (STD1-SEC-4). A reload loses the session, by design.

import { Connection, ConnectionLost, RECORD_REPLACED } from './connection.js';
import { accessHash, open, roomHash, seal, senderHash } from './std1.js';
import { deriveMessageKey } from './kdf.js';

/** Local unlock attempts before the session is erased (STD1-CLI-11). */
export const LOCAL_UNLOCK_ATTEMPTS = 5;
const RECONNECT_FIRST_MS = 1000;
const RECONNECT_CAP_MS = 30000;

let s = null;
/**
 * Bumped by every lock, leave and expiry. Each asynchronous flow remembers
 * the value it started with and gives up when it changed, so that a reply or
 * a key arriving after the user locked can never bring state back.
 */
let generation = 0;
const listeners = new Set();

/**
 * `listener(kind, detail)`; kinds: change, broadcast, expired (detail: its
 * cause, 'party', 'self' or 'ttl'), replaced, erased, reconnected.
 */
export function subscribe(listener) {
  listeners.add(listener);
}

function emit(kind, detail) {
  for (const listener of listeners) listener(kind, detail);
}

/** The session object (read-only for callers), or null. */
export function current() {
  return s;
}

export function isMine(message) {
  return Boolean(s && message && s.senderHash && message.sender_hash === s.senderHash);
}

/** Whether there is anything that locking would protect. */
export function isActive() {
  return Boolean(s && !s.locked);
}

/**
 * Starts a session from a validated number and PIN. The PIN is used for the
 * access hash here and not kept (STD1-CLI-3).
 */
export async function prepare(phone, pin) {
  erase(false);
  const room = await roomHash(phone);
  const access = await accessHash(phone, pin);
  const sender = await senderHash(phone, access, room);
  s = {
    phone,
    roomHash: room,
    accessHash: access,
    senderHash: sender,
    roomId: null,
    ttl: null,
    awaitingParty: false,
    message: null,
    key: null,
    keyJob: null,
    conn: null,
    connected: false,
    established: false,
    locked: false,
    unlockFailures: 0,
    lockNotice: null,
    lastDeleted: null,
    endingByMe: false,
    receiptsSent: new Set(),
    reconnectAttempt: 0,
    reconnectTimer: null,
    reconnectAt: 0,
  };
  return s;
}

function dropConnection() {
  if (!s) return;
  if (s.reconnectTimer !== null) clearTimeout(s.reconnectTimer);
  s.reconnectTimer = null;
  if (s.conn) s.conn.close();
  s.conn = null;
  s.connected = false;
}

/**
 * Forgets everything: the connection, the key, the hashes, the number and
 * the message (STD1-CLI-4, STD1-LIFE-9).
 */
export function erase(notify = true) {
  generation += 1;
  if (s) dropConnection();
  s = null;
  if (notify) emit('erased');
}

async function openConnection(gen) {
  const conn = new Connection({
    onBroadcast: (event, data) => {
      if (s && s.conn === conn) onBroadcast(event, data);
    },
    onClose: (code, reason) => {
      if (s && s.conn === conn) onClose(code, reason);
    },
  });
  await conn.open();
  if (gen !== generation) {
    conn.close();
    throw new Error('aborted');
  }
  return conn;
}

/**
 * Opens a connection and sends `create` or `join`. Returns one of
 * `{ok}`, `{error}`, `{network: true}`, `{aborted: true}` or
 * `{samePin: true}` (STD1-CLI-16).
 */
async function enter(event, pairingHashHex) {
  const gen = generation;
  const me = s;
  let conn;
  try {
    conn = await openConnection(gen);
  } catch {
    return gen === generation ? { network: true } : { aborted: true };
  }
  const data = { room_hash: me.roomHash, access_hash: me.accessHash, sender_hash: me.senderHash };
  if (pairingHashHex) data.pairing_hash = pairingHashHex;
  // Broadcasts are routed by connection, so bind it before the reply comes.
  me.conn = conn;
  let reply;
  try {
    reply = await conn.request(event, data);
  } catch {
    if (me.conn === conn) me.conn = null;
    return gen === generation ? { network: true } : { aborted: true };
  }
  if (gen !== generation || s !== me) {
    conn.close();
    return { aborted: true };
  }
  if (reply.error) {
    conn.close();
    me.conn = null;
    return { error: reply.error };
  }
  if (event === 'join' && pairingHashHex && reply.ok.awaiting_party) {
    // The join matched record 1: this PIN is the creator's. Two people on one
    // record cannot take turns, so leave without sending anything (STD1-CLI-16).
    conn.close();
    me.conn = null;
    return { samePin: true };
  }
  me.connected = true;
  me.established = true;
  me.locked = false;
  adoptJoined(reply.ok);
  return { ok: reply.ok };
}

/** `join` (STD1-JOIN-5), with the pairing code's hash when claiming slot 2. */
export function join(pairingHashHex) {
  return enter('join', pairingHashHex);
}

/** `create` after an explicit "new channel" action (STD1-CLI-12). country_iso is not sent: the server does not need it. */
export function create(pairingHashHex) {
  return enter('create', pairingHashHex);
}

/** Replaces the view with a `Joined` reply (STD1-JOIN-8, STD1-CLI-22). */
function adoptJoined(ok) {
  if (s.roomId !== ok.room_id) {
    // A different room_id means a different room and key (STD1-DRV-10).
    s.key = null;
    s.keyJob = null;
  }
  s.roomId = ok.room_id;
  s.ttl = ok.ttl_expires_at;
  s.awaitingParty = ok.awaiting_party;
  s.message = ok.current_message ? { ...ok.current_message, decrypted: false, plain: null } : null;
  if (s.message) s.lastDeleted = null;
  s.receiptsSent.clear();
  decryptCurrent();
  emit('change');
}

/**
 * Derives the key for the current room_id once (STD1-DRV-10), after the
 * server accepted the join; resolves true when the key is in place.
 */
export async function ensureKey() {
  if (!s) return false;
  if (s.key) return true;
  const gen = generation;
  const me = s;
  const roomId = s.roomId;
  if (!s.keyJob || s.keyJob.roomId !== roomId) {
    s.keyJob = { roomId, promise: deriveMessageKey(s.phone, roomId) };
  }
  let key;
  try {
    key = await s.keyJob.promise;
  } catch {
    return false;
  }
  if (gen !== generation || s !== me || me.roomId !== roomId) return false;
  me.key = key;
  decryptCurrent();
  emit('change');
  return true;
}

/** Decrypts the current message; failures show a placeholder, never bytes (STD1-ENC-4). */
async function decryptCurrent() {
  const me = s;
  const message = me && me.message;
  if (!message || !me.key) return;
  const { ciphertext, iv } = message;
  let plain = null;
  try {
    plain = await open(me.key, ciphertext, iv);
  } catch {
    plain = null;
  }
  if (s === me && me.message === message && message.ciphertext === ciphertext) {
    message.plain = plain;
    message.decrypted = true;
    emit('change');
  }
}

function onBroadcast(event, data) {
  const m = s.message;
  switch (event) {
    case 'new_message':
      s.lastDeleted = null;
      s.message = { ...data, decrypted: false, plain: null };
      decryptCurrent();
      break;
    case 'message_read':
      if (m && m.id === data.message_id) m.read_at = data.read_at;
      break;
    case 'message_edited':
      if (m && m.id === data.message_id) {
        m.ciphertext = data.ciphertext;
        m.iv = data.iv;
        m.edited = true;
        m.decrypted = false;
        m.plain = null;
        decryptCurrent();
      }
      break;
    case 'message_deleted':
      if (m && m.id === data.message_id) {
        s.lastDeleted = isMine(m) ? 'own' : 'other';
        s.message = null;
      }
      break;
    case 'party_paired':
      s.awaitingParty = false;
      break;
    case 'counterparty_typing':
      break;
    case 'room_locked':
      // STD1-JOIN-26, STD1-CLI-35: shown until the user dismisses it.
      s.lockNotice = { at: new Date().toISOString(), until: data.locked_until };
      break;
    case 'room_expired':
      expired(data && data.cause);
      return;
    default:
      // Unknown broadcasts are ignored (STD1-WIRE-31).
      return;
  }
  emit('broadcast', { event, data });
  emit('change');
}

function onClose(code, reason) {
  if (code === 1000 && reason === 'room_expired') {
    expired();
    return;
  }
  if (code === 1008 && reason === RECORD_REPLACED) {
    // STD1-CLI-36: our record was replaced; a rejoin with this PIN would
    // only count failures against the room.
    erase(false);
    emit('replaced');
    return;
  }
  // Any other close ends the session on that connection (STD1-WIRE-5): rejoin.
  s.conn = null;
  s.connected = false;
  scheduleReconnect();
}

/**
 * The room is gone: drop everything and say so (STD1-LIFE-9), with what
 * ended it (STD1-LIFE-11): the broadcast's cause when there was one;
 * otherwise the lifetime if it has passed, and a party if not.
 */
function expired(cause) {
  let why = cause;
  if (!why) why = s && s.ttl && Date.parse(s.ttl) <= Date.now() ? 'ttl' : 'party';
  if (why === 'party' && s && s.endingByMe) why = 'self';
  erase(false);
  emit('expired', why);
}

/** Exponential back-off from about 1 s to about 30 s, with jitter (STD1-CLI-22). */
function scheduleReconnect(afterMs) {
  if (!s || !s.established || s.locked) return;
  if (s.reconnectTimer !== null) clearTimeout(s.reconnectTimer);
  const step = Math.min(RECONNECT_CAP_MS, RECONNECT_FIRST_MS * 2 ** s.reconnectAttempt);
  s.reconnectAttempt += 1;
  const delay = afterMs !== undefined ? afterMs : step / 2 + Math.random() * (step / 2);
  s.reconnectAt = Date.now() + delay;
  s.reconnectTimer = setTimeout(reconnect, delay);
  emit('change');
}

async function reconnect() {
  if (!s) return;
  s.reconnectTimer = null;
  // Only a session holding its access hash can rejoin; a locked one waits for the PIN.
  if (s.locked || !s.accessHash) return;
  const gen = generation;
  const result = await join();
  if (gen !== generation || !s) return;
  if (result.ok) {
    s.reconnectAttempt = 0;
    await ensureKey();
    emit('reconnected');
    return;
  }
  if (result.network || result.aborted) {
    scheduleReconnect();
    return;
  }
  const { reason, retry_after: retryAfter } = result.error;
  if (reason === 'locked' || reason === 'rate_limited') scheduleReconnect(Math.max(1, retryAfter || 1) * 1000);
  else if (reason === 'internal_error') scheduleReconnect();
  else if (reason === 'unauthorized' || reason === 'sender_mismatch') {
    // The PIN that opened this session no longer does: our record was
    // replaced while we were away (STD1-JOIN-25, STD1-CLI-36).
    erase(false);
    emit('replaced');
  } else expired(); // not_found: our room is gone.
}

/**
 * A request on the session's connection. Resolves `{ok}` or `{error}`;
 * rejects with ConnectionLost when the outcome is unknown. An
 * `internal_error` also ends the connection so the state is learnt again by
 * a fresh join before anything else is done (STD1-WIRE-23).
 */
export async function request(event, data) {
  const me = s;
  if (!me || !me.conn || !me.connected) throw new ConnectionLost();
  const conn = me.conn;
  const reply = await conn.request(event, data);
  if (reply.error && reply.error.reason === 'internal_error' && s === me && me.conn === conn) {
    conn.close();
    me.conn = null;
    me.connected = false;
    scheduleReconnect(0);
  }
  if (reply.error && reply.error.reason === 'room_expired' && s === me) expired();
  return reply;
}

/** Sends a new message replacing the displayed one (STD1-CLI-18). */
export async function sendMessage(text) {
  const { ciphertext, iv } = await seal(s.key, text);
  return request('send_message', { ciphertext, iv, replaces: s.message ? s.message.id : null });
}

/** Edits one's own unread message under a fresh IV (STD1-MSG-13). */
export async function editMessage(messageId, text) {
  const { ciphertext, iv } = await seal(s.key, text);
  return request('edit_message', { message_id: messageId, ciphertext, iv });
}

export function deleteMessage(messageId) {
  return request('delete_message', { message_id: messageId });
}

/**
 * At most one receipt per message per session, never for one's own message
 * (STD1-MSG-11); a refusal other than already_read allows a later retry.
 */
export async function sendReadReceipt(messageId) {
  if (!s || !s.message || s.message.id !== messageId || isMine(s.message) || s.message.read_at) return;
  if (s.receiptsSent.has(messageId)) return;
  const me = s;
  me.receiptsSent.add(messageId);
  try {
    const reply = await request('read_receipt', { message_id: messageId });
    if (reply.error && reply.error.reason === 'rate_limited') me.receiptsSent.delete(messageId);
  } catch {
    me.receiptsSent.delete(messageId);
  }
}

let lastTyping = 0;
/** `typing`, at most once a second (STD1-MSG-17). */
export function sendTyping() {
  if (!s || !s.connected || s.awaitingParty) return;
  const now = Date.now();
  if (now - lastTyping < 1000) return;
  lastTyping = now;
  request('typing', {}).catch(() => {});
}

export function expireRoom() {
  if (s) s.endingByMe = true;
  return request('expire_room', {}).catch((error) => {
    if (s) s.endingByMe = false;
    throw error;
  });
}

/** Forgets the room_locked notice once the user dismissed it. */
export function dismissLockNotice() {
  if (s) s.lockNotice = null;
}

/**
 * Re-opens the other party's slot for a new PIN (STD1-JOIN-24) after the
 * user typed their own PIN again (STD1-CLI-27): a PIN that does not give
 * this session's access hash is refused here, costing the room nothing;
 * a right one opens a fresh session on a new connection, and only that
 * session sends `reopen_pairing`. Resolves `{ok}`, `{wrongPin}`,
 * `{error}`, `{network}` or `{aborted}`.
 */
export async function reopenWithPin(pin, pairingHashHex) {
  const me = s;
  if (!me || !me.accessHash) return { aborted: true };
  const typed = await accessHash(me.phone, pin);
  if (s !== me) return { aborted: true };
  if (typed !== me.accessHash) return { wrongPin: true };
  if (me.reconnectTimer !== null) clearTimeout(me.reconnectTimer);
  me.reconnectTimer = null;
  if (me.conn) me.conn.close();
  me.conn = null;
  me.connected = false;
  const joined = await join();
  if (s !== me) return { aborted: true };
  if (!joined.ok) {
    scheduleReconnect();
    return joined;
  }
  try {
    const reply = await request('reopen_pairing', { pairing_hash: pairingHashHex });
    return reply.ok ? { ok: true } : { error: reply.error };
  } catch {
    return { network: true };
  }
}

export function resetPairing(pairingHashHex) {
  return request('reset_pairing', { pairing_hash: pairingHashHex });
}

/**
 * Locks (STD1-CLI-9): closes the connection and drops the key, the access
 * and sender hashes and the message. Keeps the number and room hash, which
 * the unlock needs and the lock screen never shows. Before a session is
 * established there is nothing to come back to, so the session is erased.
 */
export function lock() {
  if (!s || s.locked) return null;
  if (!s.established) {
    erase();
    return 'erased';
  }
  generation += 1;
  dropConnection();
  s.locked = true;
  s.key = null;
  s.keyJob = null;
  s.accessHash = null;
  s.senderHash = null;
  s.message = null;
  emit('change');
  return 'locked';
}

/**
 * Unlocks by a fresh join with a re-derived access hash (STD1-CLI-11); a
 * wrong PIN is learnt from the server only. Returns the result of the join,
 * plus `erased: true` when the fifth failure erased the session.
 */
export async function unlock(pin) {
  const me = s;
  me.accessHash = await accessHash(me.phone, pin);
  me.senderHash = await senderHash(me.phone, me.accessHash, me.roomHash);
  me.locked = false;
  const result = await join();
  if (s !== me) return { aborted: true };
  if (!result.ok) {
    // A close during the attempt may have scheduled a rejoin; a locked session must not.
    dropConnection();
    me.locked = true;
    me.accessHash = null;
    me.senderHash = null;
    if (result.error && result.error.reason === 'unauthorized') {
      me.unlockFailures += 1;
      if (me.unlockFailures >= LOCAL_UNLOCK_ATTEMPTS) {
        erase(false);
        return { ...result, erased: true };
      }
    }
    if (result.error && result.error.reason === 'not_found') {
      // STD1-LIFE-11: no broadcast told us why; the lifetime tells.
      expired();
      return { ...result, expiredRoom: true };
    }
  } else {
    me.reconnectAttempt = 0;
  }
  return result;
}

/** Local unlock attempts left before the session is erased. */
export function unlockAttemptsLeft() {
  return s ? LOCAL_UNLOCK_ATTEMPTS - s.unlockFailures : 0;
}
