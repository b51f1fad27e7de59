// sTELgano-std-1 client-side derivations, encryption and pairing codes.
//
// Pure functions, no DOM, Web Crypto only (STD1-CLI-1): the same module runs
// in the page, in the key-derivation worker, in Node for the vector check and
// in the browser test that replays spec/vectors/*.json. Everything that ends
// up hashed or encrypted is defined here so that no screen can feed slightly
// different bytes into a derivation than another one does.

/** Salts of §5 and Appendix A. Fixed by the protocol, never configurable (STD1-DRV-9). */
export const ROOM_SALT = 'stelegano-room-v1-2026';
export const ACCESS_SALT = 'stelegano-access-v1-2026';
export const SENDER_SALT = 'stelegano-sender-v1-2026';
export const ENC_SALT = 'stelegano-enc-v1-2026';

export const PBKDF2_ITERATIONS = 600000;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const MAX_CIPHERTEXT_BYTES = 8192;
/** 8192 minus the tag, so every message this client seals is accepted (STD1-ENC-6). */
export const MAX_PLAINTEXT_BYTES = MAX_CIPHERTEXT_BYTES - TAG_BYTES;
/** The composer's cap in characters (STD1-CLI-17); the byte cap above still applies. */
export const MAX_PLAINTEXT_CHARS = 4000;
export const MIN_PHONE_DIGITS = 7;
export const MAX_PHONE_DIGITS = 15;
export const MIN_PIN_CHARS = 4;
export const MAX_PIN_CHARS = 64;
export const PAIRING_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PAIRING_CODE_LEN = 8;

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

// ---------------------------------------------------------------------------
// Digit folding (STD1-DRV-1)

/**
 * First code point (digit zero) of each of the 77 decimal-digit runs of
 * Appendix B. The table is normative data: the runtime's own Unicode tables
 * (`\p{Nd}`) differ between engines and versions, so they are not used.
 */
const DIGIT_ZEROS = [
  0x0030, 0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66, 0x0be6, 0x0c66, 0x0ce6,
  0x0d66, 0x0de6, 0x0e50, 0x0ed0, 0x0f20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80,
  0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0,
  0xff10, 0x104a0, 0x10d30, 0x10d40, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450,
  0x114d0, 0x11650, 0x116c0, 0x116d0, 0x116da, 0x11730, 0x118e0, 0x11950, 0x11bf0, 0x11c50,
  0x11d50, 0x11da0, 0x11de0, 0x11f50, 0x16130, 0x16a60, 0x16ac0, 0x16b50, 0x16d70, 0x1ccf0,
  0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e4f0, 0x1e5f1, 0x1e950,
  0x1fbf0,
];

/** The ASCII digit a code point folds to, or null when it is not in Appendix B. */
function foldDigit(cp) {
  // Binary search for the last run starting at or before cp.
  let lo = 0;
  let hi = DIGIT_ZEROS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (DIGIT_ZEROS[mid] <= cp) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return null;
  const value = cp - DIGIT_ZEROS[lo - 1];
  return value < 10 ? String.fromCharCode(0x30 + value) : null;
}

/** Replaces every Appendix B digit by its ASCII digit, leaving everything else (STD1-DRV-1). */
export function foldDigits(text) {
  let out = '';
  for (const ch of text) {
    const folded = foldDigit(ch.codePointAt(0));
    out += folded === null ? ch : folded;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Normalisation (STD1-DRV-2, STD1-DRV-3)

/**
 * Digits-only steg number and its structural validity (STD1-DRV-2).
 * `normalised` is returned for invalid input too, because the vectors pin it
 * and the screens use it to explain what is wrong. Country numbering plans
 * (STD1-CLI-2) are checked separately, in phone.js.
 */
export function normalisePhone(input) {
  const normalised = [...foldDigits(String(input))].filter((c) => c >= '0' && c <= '9').join('');
  let error = null;
  if (normalised.length < MIN_PHONE_DIGITS) error = 'phone_too_short';
  else if (normalised.length > MAX_PHONE_DIGITS) error = 'phone_too_long';
  else if (normalised.startsWith('0')) error = 'phone_no_country_code';
  return { normalised, error };
}

/** The characters trimmed from both ends of a PIN, spelled out (STD1-DRV-3) rather than String#trim's. */
function isPinTrimChar(cp) {
  return (
    (cp >= 0x09 && cp <= 0x0d) ||
    cp === 0x20 ||
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000 ||
    cp === 0xfeff
  );
}

/** General_Category Cc is the fixed set U+0000–U+001F and U+007F–U+009F. */
function isControl(cp) {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

/**
 * Canonical PIN (NFC, digits folded, trimmed) and its validity (STD1-DRV-3).
 * Length counts Unicode scalar values, so an emoji is one character.
 */
export function normalisePin(input) {
  const chars = [...foldDigits(String(input).normalize('NFC'))];
  let start = 0;
  let end = chars.length;
  while (start < end && isPinTrimChar(chars[start].codePointAt(0))) start += 1;
  while (end > start && isPinTrimChar(chars[end - 1].codePointAt(0))) end -= 1;
  const kept = chars.slice(start, end);
  const normalised = kept.join('');
  let error = null;
  if (kept.length < MIN_PIN_CHARS) error = 'pin_too_short';
  else if (kept.length > MAX_PIN_CHARS) error = 'pin_too_long';
  else if (kept.some((c) => isControl(c.codePointAt(0)))) error = 'pin_control_character';
  return { normalised, error };
}

// ---------------------------------------------------------------------------
// Encodings

/** Lowercase hex, two characters per byte (STD1-DRV-8). */
export function toHex(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of an even-length hex string; throws on anything else. */
export function fromHex(hex) {
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw new TypeError('not a hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard padded base64 (RFC 4648 §4), the only spelling the wire accepts (STD1-WIRE-18). */
export function toBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  // Chunked so large messages do not overflow the argument limit of fromCharCode.
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict base64 decoding: `atob` alone tolerates whitespace, missing padding
 * and non-zero trailing bits, so the result is re-encoded and compared to
 * refuse every non-canonical spelling (STD1-WIRE-18).
 */
export function fromBase64(text) {
  if (typeof text !== 'string' || !BASE64_SHAPE.test(text)) throw new TypeError('not canonical base64');
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  if (toBase64(out) !== text) throw new TypeError('not canonical base64');
  return out;
}

async function sha256Hex(text) {
  return toHex(await subtle.digest('SHA-256', utf8.encode(text)));
}

// ---------------------------------------------------------------------------
// Identifiers (STD1-DRV-4 to STD1-DRV-6). Inputs are already normalised.

/** `room_hash = hex(SHA-256(phone ‖ ":" ‖ ROOM_SALT))` (STD1-DRV-4). */
export function roomHash(phone) {
  return sha256Hex(`${phone}:${ROOM_SALT}`);
}

/** `access_hash = hex(SHA-256(phone ‖ ":" ‖ pin ‖ ":" ‖ ACCESS_SALT))` (STD1-DRV-5). */
export function accessHash(phone, pin) {
  return sha256Hex(`${phone}:${pin}:${ACCESS_SALT}`);
}

/** `sender_hash = hex(SHA-256(phone ‖ ":" ‖ access_hash ‖ ":" ‖ room_hash ‖ ":" ‖ SENDER_SALT))` (STD1-DRV-6). */
export function senderHash(phone, accessHashHex, roomHashHex) {
  return sha256Hex(`${phone}:${accessHashHex}:${roomHashHex}:${SENDER_SALT}`);
}

// ---------------------------------------------------------------------------
// The message key (STD1-DRV-7, STD1-DRV-10, STD1-DRV-11)

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function pbkdf2Params(roomId) {
  // The salt is the canonical lowercase room_id followed by ENC_SALT with no
  // separator; anything else would silently derive a different key.
  if (typeof roomId !== 'string' || !UUID_SHAPE.test(roomId)) throw new TypeError('room_id is not a canonical UUID');
  return {
    name: 'PBKDF2',
    hash: 'SHA-256',
    salt: utf8.encode(roomId + ENC_SALT),
    iterations: PBKDF2_ITERATIONS,
  };
}

function phoneKeyMaterial(phone) {
  return subtle.importKey('raw', utf8.encode(phone), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
}

/** The 32 key bytes as hex. For the vectors only: the app never sees raw key bytes. */
export async function encKeyHex(phone, roomId) {
  const material = await phoneKeyMaterial(phone);
  return toHex(await subtle.deriveBits(pbkdf2Params(roomId), material, 256));
}

/**
 * The message key as a non-extractable AES-GCM key usable only to encrypt and
 * decrypt (STD1-DRV-11). Slow on purpose (600,000 iterations): the app runs
 * it in kdf-worker.js (STD1-DRV-12).
 */
export async function deriveKey(phone, roomId) {
  const material = await phoneKeyMaterial(phone);
  return subtle.deriveKey(pbkdf2Params(roomId), material, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

// ---------------------------------------------------------------------------
// Encryption (STD1-ENC-1 to STD1-ENC-6)

/** UTF-8 length of a message, the measure of STD1-ENC-6 and STD1-CLI-17. */
export function utf8Length(text) {
  return utf8.encode(text).length;
}

async function sealBytes(key, iv, plaintext) {
  const bytes = utf8.encode(plaintext);
  if (bytes.length > MAX_PLAINTEXT_BYTES) throw new RangeError('plaintext exceeds 8176 UTF-8 bytes');
  // No associated data, 128-bit tag appended by Web Crypto (STD1-ENC-1, STD1-ENC-3).
  return toBase64(await subtle.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, key, bytes));
}

async function openBytes(key, ivBase64, ciphertextBase64) {
  const iv = fromBase64(ivBase64);
  if (iv.length !== IV_BYTES) throw new TypeError('IV is not 12 bytes');
  const data = fromBase64(ciphertextBase64);
  if (data.length < TAG_BYTES) throw new TypeError('ciphertext shorter than its tag');
  // Web Crypto authenticates before it returns anything, and the fatal decoder
  // refuses invalid UTF-8, so no unauthenticated byte is ever shown (STD1-ENC-4).
  const plain = await subtle.decrypt({ name: 'AES-GCM', iv, tagLength: 128 }, key, data);
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plain);
}

function rawAesKey(keyHex, usage) {
  const raw = fromHex(keyHex);
  if (raw.length !== 32) throw new TypeError('key is not 32 bytes');
  return subtle.importKey('raw', raw, 'AES-GCM', false, [usage]);
}

/** Encrypts with a given raw key and IV. Vector API: fixed IVs are never used for messages (STD1-ENC-2). */
export async function encrypt(keyHex, ivBase64, plaintext) {
  const iv = fromBase64(ivBase64);
  if (iv.length !== IV_BYTES) throw new TypeError('IV is not 12 bytes');
  return sealBytes(await rawAesKey(keyHex, 'encrypt'), iv, plaintext);
}

/** Decrypts with a given raw key; throws when authentication or UTF-8 decoding fails. */
export async function decrypt(keyHex, ivBase64, ciphertextBase64) {
  return openBytes(await rawAesKey(keyHex, 'decrypt'), ivBase64, ciphertextBase64);
}

/** Encrypts a message under a fresh random 12-byte IV (STD1-ENC-2, STD1-MSG-13). */
export async function seal(cryptoKey, plaintext) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await sealBytes(cryptoKey, iv, plaintext);
  return { ciphertext, iv: toBase64(iv) };
}

/** Decrypts a message; throws on any failure (STD1-ENC-4). */
export function open(cryptoKey, ciphertext, iv) {
  return openBytes(cryptoKey, iv, ciphertext);
}

// ---------------------------------------------------------------------------
// Pairing codes (STD1-JOIN-10 to STD1-JOIN-13)

/** Display form: two groups of four joined by a hyphen (STD1-JOIN-13). */
function displayCode(code) {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * The code eight random bytes give: the low five bits of each byte pick a
 * symbol, which is uniform because 256 is a multiple of 32 (STD1-JOIN-10).
 */
export function pairingCodeFromBytes(bytes) {
  if (!bytes || bytes.length !== PAIRING_CODE_LEN) throw new TypeError('a pairing code takes 8 bytes');
  let code = '';
  for (let i = 0; i < PAIRING_CODE_LEN; i += 1) code += PAIRING_ALPHABET[bytes[i] & 31];
  return { code, display: displayCode(code) };
}

/** A fresh code from the browser's CSPRNG (STD1-JOIN-10). */
export function generatePairingCode() {
  return pairingCodeFromBytes(globalThis.crypto.getRandomValues(new Uint8Array(PAIRING_CODE_LEN)));
}

/** Separators dropped from typed codes: hyphen-minus, U+2010–U+2015, minus, space, tab, no-break space. */
function isPairingSeparator(cp) {
  return cp === 0x2d || (cp >= 0x2010 && cp <= 0x2015) || cp === 0x2212 || cp === 0x20 || cp === 0x09 || cp === 0xa0;
}

/**
 * Canonicalises a typed pairing code (STD1-JOIN-12): ASCII case folded (no
 * locale mapping), separators dropped, I/L read as 1, O as 0, U as V, and
 * anything else outside the alphabet refused rather than dropped, so a typo
 * is caught here instead of burning one of the room's attempts.
 */
export function parsePairingCode(input) {
  let code = '';
  for (const ch of String(input)) {
    const cp = ch.codePointAt(0);
    if (isPairingSeparator(cp)) continue;
    let symbol = cp >= 0x61 && cp <= 0x7a ? String.fromCharCode(cp - 0x20) : ch;
    if (symbol === 'I' || symbol === 'L') symbol = '1';
    else if (symbol === 'O') symbol = '0';
    else if (symbol === 'U') symbol = 'V';
    if (symbol.length !== 1 || !PAIRING_ALPHABET.includes(symbol)) {
      return { code: null, error: 'invalid_character' };
    }
    code += symbol;
  }
  if (code.length !== PAIRING_CODE_LEN) return { code: null, error: 'wrong_length' };
  return { code, error: null };
}

/** `pairing_hash = hex(SHA-256(code))` of the canonical code; only the hash is sent (STD1-JOIN-11). */
export function pairingHash(code) {
  return sha256Hex(code);
}

/** Display form of a canonical code, for screens. */
export function formatPairingCode(code) {
  return displayCode(code);
}
