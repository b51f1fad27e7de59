// What the user is told for each answer of the server (§7.6 catalogue) and
// each local refusal. Kept in one place so that every screen words the same
// condition the same way, and so that no message ever contains a secret or
// message content (STD1-CLI-23).

/** Minutes, rounded up, for `retry_after` seconds. */
function minutes(seconds) {
  const m = Math.ceil(Number(seconds || 0) / 60);
  return m <= 1 ? 'about a minute' : `about ${m} minutes`;
}

function seconds(s) {
  const n = Math.max(1, Math.ceil(Number(s || 1)));
  return n === 1 ? '1 second' : `${n} seconds`;
}

function attempts(n) {
  return n === 1 ? '1 more attempt' : `${n} more attempts`;
}

export const PIN_ERRORS = {
  pin_too_short: 'The PIN is too short: use at least 4 characters.',
  pin_too_long: 'The PIN is too long: use at most 64 characters.',
  pin_control_character: 'The PIN contains an invisible control character. Type it again.',
};

export const PAIRING_ERRORS = {
  wrong_length: 'A pairing code has 8 letters and digits (the hyphen does not count).',
  invalid_character:
    'A pairing code has only the digits 0–9 and the letters A–Z except I, L, O and U. Check for a stray character.',
};

/** Text for an error reply to `join` or `create`, or a generic one. */
export function joinError(error, { withCode = false } = {}) {
  switch (error.reason) {
    case 'not_found':
      // STD1-CLI-12: never create on not_found, say so instead.
      return 'No channel uses this number. Check the number, or start a new channel.';
    case 'unauthorized':
      return withCode
        ? `Wrong PIN, or this channel already has both its people. The server allows ${attempts(error.attempts_remaining)} before it locks the channel.`
        : `Wrong PIN. The server allows ${attempts(error.attempts_remaining)} before it locks the channel. If you are joining a channel someone else created for the first time, you need the pairing code they gave you.`;
    case 'pairing_invalid':
      return `That pairing code is not right. The server allows ${attempts(error.attempts_remaining)} before it locks the channel.`;
    case 'locked':
      // STD1-JOIN-22, STD1-SEC-9: a lock bars the networks that failed, so
      // another network may get in; the answer cannot say which case this is.
      return `This channel is locked after too many wrong PINs or codes. Try again in ${minutes(error.retry_after)}, or from another network (for example mobile data instead of Wi-Fi) if the wrong PINs were not yours.`;
    case 'sender_mismatch':
      return 'This PIN cannot be used in this channel. If you are joining for the first time, choose a PIN different from the other person’s.';
    case 'room_exists':
      return 'A channel with this number already exists. Choose another number.';
    case 'rate_limited':
      return `Too many attempts from this network. Try again in ${seconds(error.retry_after)}.`;
    case 'internal_error':
      return 'The server had a problem. Try again.';
    default:
      return 'The server refused the request. Try again.';
  }
}

export const NETWORK_ERROR = 'Could not reach the server. Check your connection and try again.';
