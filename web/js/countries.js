// Country numbering plans: validation (STD1-CLI-2), as-you-type formatting
// and the number generator (STD1-CLI-13), plus the vCard a user saves the
// generated number with.
//
// A steg number is invented, but it sits in a real contact card, so it has to
// look like a real number of some country: a number that no country could
// have is a tell. The table below is our own summary of the national plans
// (country code, national significant number lengths, leading digits of the
// mobile and fixed-line ranges), simplified to what such a check needs. It is
// a client feature, not protocol: another client may ship a different table
// (spec Appendix C, D-21).

import { foldDigits, normalisePhone } from './std1.js';

/**
 * One row per country. `cc`: country calling code. `len`: every accepted
 * length of the national significant number (the digits after the country
 * code). `mobile`/`fixed`: whole-number patterns of those ranges. `gen`:
 * mobile prefixes the generator starts from (`N` stands for a digit 2–9, as
 * North American exchanges require) and `genLen` the length it fills them to.
 * `groups`: how the national number is spaced for display.
 */
const PLANS = [
  { iso: 'AR', name: 'Argentina', cc: '54', len: [10, 11], mobile: /^9[1-9]\d{9}$/, fixed: /^[1-8]\d{9}$/, gen: '911 9351 9341 9261 9221', genLen: 11, groups: [1, 2, 4, 4] },
  { iso: 'AT', name: 'Austria', cc: '43', len: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13], mobile: /^6[5-9]\d{7,11}$/, fixed: /^[1-57]\d{3,12}$/, gen: '650 660 664 676 680 699', genLen: 10, groups: [3, 3, 4] },
  { iso: 'AU', name: 'Australia', cc: '61', len: [9], mobile: /^4\d{8}$/, fixed: /^[2378]\d{8}$/, gen: '40 41 42 43 45 47', genLen: 9, groups: [3, 3, 3] },
  { iso: 'BD', name: 'Bangladesh', cc: '880', len: [6, 7, 8, 9, 10], mobile: /^1[3-9]\d{8}$/, fixed: /^[2-9]\d{5,9}$/, gen: '13 14 15 16 17 18 19', genLen: 10, groups: [4, 6] },
  { iso: 'BE', name: 'Belgium', cc: '32', len: [8, 9], mobile: /^4[5-9]\d{7}$/, fixed: /^[1-9]\d{7}$/, gen: '47 48 49', genLen: 9, groups: [3, 2, 2, 2] },
  { iso: 'BR', name: 'Brazil', cc: '55', len: [10, 11], mobile: /^[1-9][1-9]9\d{8}$/, fixed: /^[1-9][1-9][2-5]\d{7}$/, gen: '119 219 319 419 519 619 719 819 859 919', genLen: 11, groups: [2, 5, 4] },
  { iso: 'CA', name: 'Canada', cc: '1', len: [10], mobile: /^[2-9]\d{2}[2-9]\d{6}$/, fixed: /^[2-9]\d{9}$/, gen: '204N 403N 416N 514N 604N 613N 780N 902N', genLen: 10, groups: [3, 3, 4] },
  { iso: 'CH', name: 'Switzerland', cc: '41', len: [9], mobile: /^7[5-9]\d{7}$/, fixed: /^[2-6]\d{8}$/, gen: '76 77 78 79', genLen: 9, groups: [2, 3, 2, 2] },
  { iso: 'CN', name: 'China', cc: '86', len: [9, 10, 11], mobile: /^1[3-9]\d{9}$/, fixed: /^[2-9]\d{8,10}$/, gen: '13 15 17 18 19', genLen: 11, groups: [3, 4, 4] },
  { iso: 'DE', name: 'Germany', cc: '49', len: [6, 7, 8, 9, 10, 11], mobile: /^1(?:5\d{9}|[67]\d{8,9})$/, fixed: /^[2-9]\d{5,10}$/, gen: '151 152 157 160 170 171 172 173 174 175 176 177 178 179', genLen: 11, groups: [3, 4, 4] },
  { iso: 'DK', name: 'Denmark', cc: '45', len: [8], mobile: /^[2-9]\d{7}$/, fixed: /^[2-9]\d{7}$/, gen: '20 30 31 40 42 50 51 52 53 60 61 71 81 91 93', genLen: 8, groups: [2, 2, 2, 2] },
  { iso: 'EG', name: 'Egypt', cc: '20', len: [8, 9, 10], mobile: /^1[0125]\d{8}$/, fixed: /^[2-9]\d{7,8}$/, gen: '10 11 12 15', genLen: 10, groups: [3, 3, 4] },
  { iso: 'ES', name: 'Spain', cc: '34', len: [9], mobile: /^(?:6\d|7[1-4])\d{7}$/, fixed: /^[89]\d{8}$/, gen: '6 71 72', genLen: 9, groups: [3, 3, 3] },
  { iso: 'FR', name: 'France', cc: '33', len: [9], mobile: /^(?:6\d|7[3-9])\d{7}$/, fixed: /^[1-59]\d{8}$/, gen: '6 75 76 77 78', genLen: 9, groups: [1, 2, 2, 2, 2] },
  { iso: 'GB', name: 'United Kingdom', cc: '44', len: [9, 10], mobile: /^7[1-57-9]\d{8}$/, fixed: /^[12]\d{8,9}$/, gen: '71 73 74 75 77 78 79', genLen: 10, groups: [4, 6] },
  { iso: 'GH', name: 'Ghana', cc: '233', len: [9], mobile: /^[25]\d{8}$/, fixed: /^3\d{8}$/, gen: '20 24 26 27 50 54 55 59', genLen: 9, groups: [2, 3, 4] },
  { iso: 'ID', name: 'Indonesia', cc: '62', len: [7, 8, 9, 10, 11, 12], mobile: /^8\d{8,11}$/, fixed: /^[2-7]\d{6,10}$/, gen: '811 812 813 821 822 852 853 857', genLen: 11, groups: [3, 4, 4] },
  { iso: 'IE', name: 'Ireland', cc: '353', len: [7, 8, 9], mobile: /^8[35-9]\d{7}$/, fixed: /^[1-9]\d{6,8}$/, gen: '83 85 86 87 89', genLen: 9, groups: [2, 3, 4] },
  { iso: 'IN', name: 'India', cc: '91', len: [10], mobile: /^[6-9]\d{9}$/, fixed: /^[1-5]\d{9}$/, gen: '62 63 70 80 90 98 99', genLen: 10, groups: [5, 5] },
  { iso: 'IR', name: 'Iran', cc: '98', len: [10], mobile: /^9\d{9}$/, fixed: /^[1-8]\d{9}$/, gen: '901 912 919 930 935', genLen: 10, groups: [3, 3, 4] },
  { iso: 'IT', name: 'Italy', cc: '39', len: [6, 7, 8, 9, 10, 11], mobile: /^3\d{8,9}$/, fixed: /^0\d{5,10}$/, gen: '32 33 34 35 36 38 39', genLen: 10, groups: [3, 3, 4] },
  { iso: 'JP', name: 'Japan', cc: '81', len: [9, 10], mobile: /^[789]0\d{8}$/, fixed: /^[1-9]\d{8}$/, gen: '70 80 90', genLen: 10, groups: [2, 4, 4] },
  { iso: 'KE', name: 'Kenya', cc: '254', len: [8, 9], mobile: /^(?:7\d|1[01])\d{7}$/, fixed: /^[2-6]\d{7,8}$/, gen: '70 71 72 79 11', genLen: 9, groups: [3, 3, 3] },
  { iso: 'KR', name: 'South Korea', cc: '82', len: [8, 9, 10], mobile: /^10\d{8}$/, fixed: /^[2-6]\d{7,9}$/, gen: '10', genLen: 10, groups: [2, 4, 4] },
  { iso: 'MX', name: 'Mexico', cc: '52', len: [10], mobile: /^[1-9]\d{9}$/, fixed: /^[1-9]\d{9}$/, gen: '55 33 81 222 664', genLen: 10, groups: [2, 4, 4] },
  { iso: 'NG', name: 'Nigeria', cc: '234', len: [8, 9, 10], mobile: /^(?:70|8[01]|9[01])\d{8}$/, fixed: /^[1-9]\d{7,8}$/, gen: '703 706 803 806 810 813 816 903 906 916', genLen: 10, groups: [3, 3, 4] },
  { iso: 'NL', name: 'Netherlands', cc: '31', len: [9], mobile: /^6[1-5]\d{7}$/, fixed: /^[1-57]\d{8}$/, gen: '61 62 63 64 65', genLen: 9, groups: [1, 4, 4] },
  { iso: 'NO', name: 'Norway', cc: '47', len: [8], mobile: /^[49]\d{7}$/, fixed: /^[2-7]\d{7}$/, gen: '4 9', genLen: 8, groups: [3, 2, 3] },
  { iso: 'NZ', name: 'New Zealand', cc: '64', len: [8, 9, 10], mobile: /^2\d{7,9}$/, fixed: /^[3-9]\d{7}$/, gen: '21 22 27', genLen: 9, groups: [2, 3, 4] },
  { iso: 'PH', name: 'Philippines', cc: '63', len: [8, 9, 10], mobile: /^9\d{9}$/, fixed: /^[2-8]\d{7,9}$/, gen: '917 918 920 927 995', genLen: 10, groups: [3, 3, 4] },
  { iso: 'PK', name: 'Pakistan', cc: '92', len: [8, 9, 10], mobile: /^3\d{9}$/, fixed: /^[2-9]\d{7,9}$/, gen: '300 301 321 333 345', genLen: 10, groups: [3, 7] },
  { iso: 'PL', name: 'Poland', cc: '48', len: [9], mobile: /^(?:45|5\d|6\d|7[2389]|88)\d{7}$/, fixed: /^[1-9]\d{8}$/, gen: '50 51 53 60 66 69 72 78 79 88', genLen: 9, groups: [3, 3, 3] },
  { iso: 'PT', name: 'Portugal', cc: '351', len: [9], mobile: /^9[1236]\d{7}$/, fixed: /^2\d{8}$/, gen: '91 92 93 96', genLen: 9, groups: [3, 3, 3] },
  { iso: 'RU', name: 'Russia', cc: '7', len: [10], mobile: /^9\d{9}$/, fixed: /^[3-8]\d{9}$/, gen: '903 905 910 915 916 925 926 977 985', genLen: 10, groups: [3, 3, 2, 2] },
  { iso: 'SA', name: 'Saudi Arabia', cc: '966', len: [8, 9], mobile: /^5\d{8}$/, fixed: /^1\d{7,8}$/, gen: '50 53 54 55 56 59', genLen: 9, groups: [2, 3, 4] },
  { iso: 'SE', name: 'Sweden', cc: '46', len: [7, 8, 9], mobile: /^7[02369]\d{7}$/, fixed: /^[1-9]\d{6,8}$/, gen: '70 72 73 76 79', genLen: 9, groups: [2, 3, 2, 2] },
  { iso: 'SG', name: 'Singapore', cc: '65', len: [8], mobile: /^[89]\d{7}$/, fixed: /^6\d{7}$/, gen: '8 9', genLen: 8, groups: [4, 4] },
  { iso: 'TR', name: 'Turkey', cc: '90', len: [10], mobile: /^5\d{9}$/, fixed: /^[2-4]\d{9}$/, gen: '50 53 54 55', genLen: 10, groups: [3, 3, 4] },
  { iso: 'TZ', name: 'Tanzania', cc: '255', len: [9], mobile: /^[67]\d{8}$/, fixed: /^2\d{8}$/, gen: '65 68 71 74 75 76 78', genLen: 9, groups: [3, 3, 3] },
  { iso: 'UA', name: 'Ukraine', cc: '380', len: [9], mobile: /^(?:39|50|6[3678]|73|9[1-9])\d{7}$/, fixed: /^[3-6]\d{8}$/, gen: '50 63 66 67 68 73 93 95 96 97 98 99', genLen: 9, groups: [2, 3, 2, 2] },
  { iso: 'UG', name: 'Uganda', cc: '256', len: [9], mobile: /^7\d{8}$/, fixed: /^[2-4]\d{8}$/, gen: '70 71 72 75 77 78', genLen: 9, groups: [3, 6] },
  { iso: 'US', name: 'United States', cc: '1', len: [10], mobile: /^[2-9]\d{2}[2-9]\d{6}$/, fixed: /^[2-9]\d{9}$/, gen: '206N 212N 213N 305N 312N 415N 503N 617N 702N 713N', genLen: 10, groups: [3, 3, 4] },
  { iso: 'ZA', name: 'South Africa', cc: '27', len: [9], mobile: /^(?:6[0-4]|7[1-46-9]|8[1-4])\d{7}$/, fixed: /^[1-5]\d{8}$/, gen: '60 61 71 72 73 74 76 79 82 83 84', genLen: 9, groups: [2, 3, 4] },
];

/** Every country of the table, sorted by name, for the country picker. */
export const COUNTRIES = PLANS.map(({ iso, name, cc }) => ({ iso, name, cc })).sort((a, b) =>
  a.name.localeCompare(b.name, 'en'),
);

/** The plans sharing a country code (NANP: US and Canada share +1). */
function plansFor(cc) {
  return PLANS.filter((p) => p.cc === cc);
}

/** Country codes are a prefix code (E.164), so at most one of the first 1–3 digits matches. */
function splitCountryCode(digits) {
  for (let n = 1; n <= 3; n += 1) {
    const cc = digits.slice(0, n);
    if (plansFor(cc).length > 0) return { cc, nsn: digits.slice(n) };
  }
  return null;
}

function regionName(plans) {
  return plans.map((p) => p.name).join(' or ');
}

function listOr(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Leading digits of the generator's mobile prefixes, to tell users what a mobile number there starts with. */
function mobileLeads(plans) {
  const leads = new Set();
  for (const plan of plans) for (const prefix of plan.gen.split(' ')) leads.add(prefix[0]);
  return [...leads].sort();
}

/** Digits of what the user typed, with a leading `00` international prefix read as `+` (STD1-DRV-2 leaves that to us). */
function typedDigits(input) {
  const folded = foldDigits(String(input)).trim();
  const { normalised } = normalisePhone(folded);
  if (!folded.startsWith('+') && normalised.startsWith('00')) return normalised.slice(2);
  return normalised;
}

/**
 * Validates a typed steg number (STD1-DRV-2 and STD1-CLI-2). Returns
 * `{ ok: true, normalised, iso }` or `{ ok: false, message }`, where the
 * message says what is wrong in words a user can act on.
 */
export function checkNumber(input) {
  const digits = typedDigits(input);
  const { error } = normalisePhone(digits);
  if (digits.length === 0) return { ok: false, message: 'Enter the number, starting with + and the country code.' };
  if (error === 'phone_no_country_code') {
    return {
      ok: false,
      message:
        'The number starts with 0, so it has no country code. Write it in international form: + then the country code, without the leading 0 of the national number (for example +44 7700 900123).',
    };
  }
  if (error === 'phone_too_short') {
    return { ok: false, message: `That number is too short: with its country code a phone number has at least 7 digits, and this one has ${digits.length}.` };
  }
  if (error === 'phone_too_long') {
    return { ok: false, message: `That number is too long: with its country code a phone number has at most 15 digits, and this one has ${digits.length}.` };
  }
  const split = splitCountryCode(digits);
  if (!split) {
    return {
      ok: false,
      message: `The number does not start with a country code this app checks numbers for (+${digits.slice(0, 3)}…). Start with + and the code of one of the countries listed under “New channel”.`,
    };
  }
  const plans = plansFor(split.cc);
  const where = `${regionName(plans)} (+${split.cc})`;
  const lengths = [...new Set(plans.flatMap((p) => p.len))].sort((a, b) => a - b);
  if (!lengths.includes(split.nsn.length)) {
    const allowed = lengths.length > 2 ? `${lengths[0]} to ${lengths[lengths.length - 1]}` : listOr(lengths.map(String));
    return {
      ok: false,
      message: `A number in ${where} has ${allowed} digits after +${split.cc}; this one has ${split.nsn.length}.`,
    };
  }
  const plan = plans.find((p) => p.mobile.test(split.nsn) || p.fixed.test(split.nsn));
  if (!plan) {
    const leads = mobileLeads(plans);
    if (leads.includes(split.nsn[0])) {
      const usual = [...new Set(plans.map((p) => p.genLen))].join(' or ');
      return {
        ok: false,
        message: `Mobile numbers in ${where} start with ${listOr(leads)} and usually have ${usual} digits after +${split.cc}; this one has ${split.nsn.length} digits and fits no landline range either.`,
      };
    }
    return {
      ok: false,
      message: `No mobile or landline number in ${where} starts like that. Mobile numbers there start with ${listOr(mobileLeads(plans))} after +${split.cc}.`,
    };
  }
  return { ok: true, normalised: digits, iso: plan.iso };
}

function group(nsn, groups) {
  const parts = [];
  let at = 0;
  for (let i = 0; i < groups.length && at < nsn.length; i += 1) {
    // The last group takes whatever is left, so long numbers stay readable.
    const size = i === groups.length - 1 ? nsn.length - at : groups[i];
    parts.push(nsn.slice(at, at + size));
    at += size;
  }
  return parts.join(' ');
}

/**
 * International display form, `+cc` and spaced groups, of whatever digits are
 * there so far (as-you-type formatting). Text it cannot place is returned as
 * typed, so formatting never loses a keystroke.
 */
export function formatNumber(input) {
  const folded = foldDigits(String(input)).trim();
  if (folded === '' || folded === '+') return folded;
  const digits = typedDigits(folded);
  if (digits === '' || (digits.startsWith('0') && !folded.startsWith('+'))) return folded;
  const split = splitCountryCode(digits);
  if (!split) return `+${digits}`;
  const plan = plansFor(split.cc)[0];
  return split.nsn ? `+${split.cc} ${group(split.nsn, plan.groups)}` : `+${split.cc}`;
}

function randomDigit(min) {
  // Rejection sampling keeps each digit uniform over its range.
  const span = 10 - min;
  const buf = new Uint8Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    if (buf[0] < 256 - (256 % span)) return String(min + (buf[0] % span));
  }
}

function randomIndex(n) {
  const buf = new Uint32Array(1);
  const limit = 0x100000000 - (0x100000000 % n);
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    if (buf[0] < limit) return buf[0] % n;
  }
}

/**
 * A plausible mobile number of the country (STD1-CLI-13): one of its mobile
 * prefixes, filled with random digits to a mobile length. Returns the
 * display form.
 */
export function generateNumber(iso) {
  const plan = PLANS.find((p) => p.iso === iso);
  if (!plan) throw new RangeError(`no numbering plan for ${iso}`);
  const prefixes = plan.gen.split(' ');
  const prefix = prefixes[randomIndex(prefixes.length)];
  let nsn = '';
  for (const ch of prefix) nsn += ch === 'N' ? randomDigit(2) : ch;
  while (nsn.length < plan.genLen) nsn += randomDigit(0);
  return formatNumber(`+${plan.cc}${nsn}`);
}

/** The country of a normalised number, if the table has one (for the country picker). */
export function countryOf(normalised) {
  const split = splitCountryCode(normalised);
  return split ? plansFor(split.cc)[0].iso : null;
}

function vcardEscape(text) {
  return text.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');
}

/**
 * A vCard 3.0 with one mobile number, for saving the steg number to a
 * contact card before the room exists (STD1-CLI-13). Built in the page and
 * offered as a data: URL, so nothing about it reaches the server.
 */
export function vcard(name, displayNumber) {
  const fn = vcardEscape(name.trim() || 'New contact');
  const tel = `+${typedDigits(displayNumber)}`;
  return ['BEGIN:VCARD', 'VERSION:3.0', `N:${fn};;;;`, `FN:${fn}`, `TEL;TYPE=CELL:${tel}`, 'END:VCARD', ''].join('\r\n');
}
