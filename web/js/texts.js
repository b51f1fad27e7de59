// Which text tells the user each answer of the server (§7.6 catalogue) and
// each local refusal. Kept in one place so that every screen words the same
// condition the same way; the words themselves are in texts/<language>.js.
// A result is a text key and its parameters, never a finished string, so
// that a switch of language re-renders it (STD1-CLI-32), and no parameter
// is ever a secret or message content (STD1-CLI-23).

import { countryName, formatNumber } from './i18n.js';

/** The text key of each PIN refusal of normalisePin (STD1-DRV-3). */
export const PIN_ERROR_KEYS = {
  pin_too_short: 'error.pin-too-short',
  pin_too_long: 'error.pin-too-long',
  pin_control_character: 'error.pin-control',
};

/** A list of lengths, `9 or 10`, `6 to 11`, in the current language's digits. */
function lengths(list) {
  if (list.length > 2) return `${formatNumber(list[0])}–${formatNumber(list[list.length - 1])}`;
  return list.map((n) => formatNumber(n)).join(' / ');
}

/** What is wrong with a number that phone.js refused (STD1-CLI-2). */
export function numberErrorText(result) {
  switch (result.error) {
    case 'empty':
      return { key: 'error.number-empty' };
    case 'no_country':
      return { key: 'error.number-no-country' };
    case 'too_short':
      return { key: 'error.number-too-short', params: { count: result.digits } };
    case 'too_long':
      return { key: 'error.number-too-long', params: { count: result.digits } };
    case 'unknown_calling_code':
      return { key: 'error.number-calling-code', params: { prefix: result.prefix } };
    case 'wrong_length':
      return {
        key: 'error.number-length',
        params: { country: countryName(result.iso), lengths: lengths(result.lengths), code: result.callingCode, got: result.got },
      };
    default:
      return { key: 'error.number-range', params: { country: countryName(result.iso), code: result.callingCode } };
  }
}

/** Minutes, rounded up, for `retry_after` seconds. */
function minutes(seconds) {
  return Math.max(1, Math.ceil(Number(seconds || 0) / 60));
}

/** The text for an error reply to `join` or `create`. */
export function joinErrorText(error, { withCode = false } = {}) {
  switch (error.reason) {
    case 'not_found':
      // STD1-CLI-12: never create on not_found, say so instead.
      return { key: 'error.not-found' };
    case 'unauthorized':
      return withCode
        ? { key: 'error.unauthorized-code', params: { count: error.attempts_remaining } }
        : { key: 'entry.wrong-pin', params: { count: error.attempts_remaining } };
    case 'pairing_invalid':
      return { key: 'error.pairing-invalid', params: { count: error.attempts_remaining } };
    case 'locked':
      // STD1-JOIN-22, STD1-SEC-9: a lock bars the networks that failed, so
      // another network may get in; the answer cannot say which case this is.
      return { key: 'error.locked', params: { count: minutes(error.retry_after) } };
    case 'sender_mismatch':
      return { key: 'error.sender-mismatch' };
    case 'room_exists':
      return { key: 'error.room-exists' };
    case 'rate_limited':
      return { key: 'error.rate-limited', params: { count: Math.max(1, Math.ceil(Number(error.retry_after || 1))) } };
    case 'internal_error':
      return { key: 'error.internal' };
    default:
      return { key: 'error.refused' };
  }
}
