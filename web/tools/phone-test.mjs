#!/usr/bin/env node
// Tests of web/js/phone.js against its own promises and, as an oracle,
// against libphonenumber-js (used here only, never shipped).
//
//   npm ci --prefix web/tools && node web/tools/phone-test.mjs
//
// Plain node:assert, no framework. Prints the oracle's agreement figures and
// one summary line "phone: N passed, N failed"; exits 1 on any failure.
// SHOW_EXPLAINED=1 also prints every explained disagreement with the oracle.

import assert from 'node:assert/strict';
import {
  parsePhoneNumberFromString,
  isValidPhoneNumber,
  getCountries,
  getCountryCallingCode,
  Metadata,
} from 'libphonenumber-js/max';
import metadataJson from 'libphonenumber-js/metadata.max.json';
import examples from 'libphonenumber-js/examples.mobile.json';
import {
  countryCodes,
  callingCode,
  checkNumber,
  formatAsYouType,
  formatInternational,
  generateMobile,
  _internals,
} from '../js/phone.js';
import { CALLING_CODES, TERRITORIES } from '../js/phone-data.js';

let passed = 0;
let failed = 0;
const failures = [];

/** One named check; failures are collected, the first few printed in full. */
function test(name, fn) {
  try {
    fn();
    passed += 1;
  } catch (err) {
    failed += 1;
    failures.push(`${name}: ${err.message.split('\n').slice(0, 6).join(' | ')}`);
  }
}

const E164 = /^[1-9][0-9]{6,14}$/;
const ACCEPTED_TYPES = new Set(['MOBILE', 'FIXED_LINE', 'FIXED_LINE_OR_MOBILE']);
const isos = countryCodes();

/** Whether libphonenumber-js calls the text a valid mobile or fixed-line number. */
function oracle(text, iso) {
  if (!isValidPhoneNumber(text, iso)) return { ok: false };
  const parsed = parsePhoneNumberFromString(text, iso);
  if (!ACCEPTED_TYPES.has(parsed.getType())) return { ok: false, type: parsed.getType() };
  return { ok: true, normalised: parsed.number.slice(1), iso: parsed.country };
}

/** The checks every accepted result must pass. */
function assertAccepted(result, expected, label) {
  assert.equal(result.ok, true, `${label}: ${JSON.stringify(result)}`);
  if (expected.normalised) assert.equal(result.normalised, expected.normalised, label);
  if (expected.iso) assert.equal(result.iso, expected.iso, label);
  assert.match(result.normalised, E164, label);
  assert.equal(formatInternational(result.normalised), result.display, `${label}: display`);
}

// ---------------------------------------------------------------------------
// The territory list

test('countryCodes: every geographic territory of libphonenumber, sorted', () => {
  const expected = getCountries().filter((c) => c !== '001').sort();
  assert.deepEqual(isos, expected);
  assert.deepEqual([...isos].sort(), isos);
  assert.equal(new Set(isos).size, isos.length);
});

test('callingCode matches libphonenumber for every territory', () => {
  for (const iso of isos) assert.equal(callingCode(iso), getCountryCallingCode(iso), iso);
  assert.equal(callingCode('DE'), '49');
  assert.equal(callingCode('XX'), null);
  assert.equal(callingCode(undefined), null);
});

test('CALLING_CODES lists every territory once, main territory as libphonenumber has it', () => {
  const meta = new Metadata(metadataJson);
  const seen = [];
  for (const [cc, list] of Object.entries(CALLING_CODES)) {
    assert.equal(list[0], meta.getCountryCodesForCallingCode(cc)[0], cc);
    for (const iso of list) assert.equal(TERRITORIES[iso].c, cc, iso);
    seen.push(...list);
  }
  assert.deepEqual(seen.sort(), isos);
});

test('every pattern of the data is in the subset the pattern reader knows', () => {
  for (const iso of isos) {
    const t = TERRITORIES[iso];
    const sources = [t.n, t.d, t.m?.[0], t.f?.[0], ...(t.o ?? []).map((o) => o[0]), ...(t.F ?? []).map((f) => f[1])];
    for (const source of sources.filter(Boolean)) _internals.parsePattern(source);
  }
});

test('pattern reader: counts and samples agree with RegExp', () => {
  const sources = ['1(?:6[023]|7\\d)\\d{7,8}', '[2-9]\\d{2}[2-9]\\d{6}', '(?:3[1-9]|4[0-2])?\\d{3}', '9(?:0[1-3]|[19])\\d{6}|5\\d?'];
  for (const source of sources) {
    const tree = _internals.parsePattern(source);
    const re = new RegExp(`^(?:${source})$`);
    const counts = _internals.counts(tree);
    for (let len = 1; len <= 12; len += 1) {
      if (counts[len] === 0n) continue;
      for (let i = 0; i < 50; i += 1) {
        const s = _internals.sample(tree, len);
        assert.equal(s.length, len, source);
        assert.ok(re.test(s), `${source} sampled ${s}`);
      }
    }
  }
  // Exact counts of a small pattern: 1 ∪ [5-7]x (x any digit) ∪ 2[0-1]?
  const tree = _internals.parsePattern('1|[5-7]\\d|2[01]?');
  const c = _internals.counts(tree);
  assert.equal(c[1], 2n);
  assert.equal(c[2], 32n);
  assert.ok(_internals.canStartWith(_internals.parsePattern('1(?:11|[2-9])'), '1'));
  assert.ok(_internals.canStartWith(_internals.parsePattern('1(?:11|[2-9])'), '1245'));
  assert.ok(!_internals.canStartWith(_internals.parsePattern('1(?:11|[2-9])'), '10'));
});

// ---------------------------------------------------------------------------
// Generator: 25 numbers of every territory

for (const iso of isos) {
  test(`generateMobile ${iso}: 25 numbers valid, mobile, of ${iso}, round-trip`, () => {
    for (let i = 0; i < 25; i += 1) {
      const display = generateMobile(iso);
      const label = `${iso} ${display}`;
      const result = checkNumber(display, iso);
      assertAccepted(result, { iso }, label);
      assert.equal(result.display, display, label);
      assert.notEqual(result.type, 'fixed_line', `${label}: not a mobile range`);
      if (!TERRITORIES[iso].m) assert.equal(result.type, 'fixed_line_or_mobile', label);
      assert.ok(result.normalised.length >= 7 && result.normalised.length <= 15, label);
      // Display and as-you-type forms parse back to the same number.
      const plain = `+${result.normalised}`;
      assert.equal(checkNumber(formatInternational(result.normalised)).normalised, result.normalised, label);
      const typed = formatAsYouType(plain, iso);
      assert.equal(typed.replace(/ /g, ''), plain, label);
      assert.equal(checkNumber(typed, iso).normalised, result.normalised, label);
      assert.equal(formatAsYouType(typed, iso), typed, `${label}: idempotent`);
      assert.equal(formatAsYouType(display, iso), display, `${label}: display kept`);
      // libphonenumber agrees that it is a valid number of this calling code.
      const lib = oracle(plain, iso);
      assert.equal(lib.ok, true, `${label}: libphonenumber-js`);
      assert.equal(lib.normalised, result.normalised, label);
    }
  });
}

test('generateMobile refuses an unknown territory', () => {
  assert.throws(() => generateMobile('XX'), RangeError);
  assert.throws(() => generateMobile(''), RangeError);
});

// ---------------------------------------------------------------------------
// libphonenumber's example mobile numbers, international and national form

for (const iso of isos) {
  test(`example mobile number of ${iso}`, () => {
    const nsn = examples[iso];
    assert.ok(nsn, `no example for ${iso}`);
    const cc = callingCode(iso);
    const normalised = cc + nsn;
    const lib = parsePhoneNumberFromString(`+${normalised}`);
    const international = checkNumber(`+${normalised}`, iso);
    assertAccepted(international, { normalised, iso }, `${iso} +${normalised}`);
    // Without a chosen territory it belongs where libphonenumber puts it.
    assert.equal(checkNumber(`+${normalised}`).iso, lib.country, `${iso} without hint`);
    assert.equal(checkNumber(lib.formatInternational(), iso).normalised, normalised, `${iso} ${lib.formatInternational()}`);
    // National form as libphonenumber writes it (trunk prefix included).
    const national = lib.formatNational();
    assertAccepted(checkNumber(national, iso), { normalised, iso }, `${iso} national ${national}`);
    // As-you-type of the national digits keeps them and parses back.
    const digits = national.replace(/[^0-9]/g, '');
    const typed = formatAsYouType(digits, iso);
    assert.equal(typed.replace(/ /g, ''), digits, `${iso} ${typed}`);
    assert.equal(formatAsYouType(typed, iso), typed, `${iso} idempotent ${typed}`);
    assert.equal(checkNumber(typed, iso).normalised, normalised, `${iso} typed ${typed}`);
    // Typing it one digit at a time ends in the same text.
    let field = '';
    for (const c of digits) field = formatAsYouType(field + c, iso);
    assert.equal(field, typed, `${iso} keystrokes`);
    field = '';
    for (const c of `+${normalised}`) field = formatAsYouType(field + c, iso);
    assert.equal(field, formatAsYouType(`+${normalised}`, iso), `${iso} keystrokes international`);
  });
}

// ---------------------------------------------------------------------------
// National forms named in the brief and elsewhere

const NATIONAL = [
  // [typed, iso, normalised]
  ['0151 23456789', 'DE', '4915123456789'],
  ['01512 3456789', 'DE', '4915123456789'],
  ['06 12 34 56 78', 'FR', '33612345678'],
  ['8 912 345-67-89', 'RU', '79123456789'],
  ['8 (912) 345-67-89', 'RU', '79123456789'],
  ['06 20 123 4567', 'HU', '36201234567'],
  ['(201) 555-0123', 'US', '12015550123'],
  ['1 201 555 0123', 'US', '12015550123'],
  ['201-555-0123', 'US', '12015550123'],
  ['312 345 6789', 'IT', '393123456789'],
  ['06 1234 5678', 'IT', '390612345678'],
  ['011 15-2345-6789', 'AR', '5491123456789'],
  ['0351 15-612-3456', 'AR', '5493516123456'],
  ['07400 123456', 'GB', '447400123456'],
  ['090-1234-5678', 'JP', '819012345678'],
  ['(11) 96123-4567', 'BR', '5511961234567'],
  ['011 96123-4567', 'BR', '5511961234567'],
  ['98765 43210', 'IN', '919876543210'],
  ['098765 43210', 'IN', '919876543210'],
  ['55 1234 5678', 'MX', '525512345678'],
  ['010 1234 5678', 'EG', '201012345678'],
  ['050 123 4567', 'SA', '966501234567'],
  ['0912 345 6789', 'IR', '989123456789'],
  ['661 234 567', 'LU', '352661234567'],
  ['611 1234', 'IS', '3546111234'],
  ['701 2345', 'FJ', '6797012345'],
  ['8 701 234 5678', 'KZ', '77012345678'],
  ['8811 2345', 'MN', '97688112345'],
  ['0412 345 678', 'AU', '61412345678'],
  ['07781 123456', 'GG', '447781123456'],
  ['0797 123 4567', 'JE', undefined],
  ['03 12 34 56 78', 'FR', '33312345678'],
];

for (const [typed, iso, normalised] of NATIONAL) {
  test(`national ${iso} ${typed}`, () => {
    const result = checkNumber(typed, iso);
    const lib = oracle(typed, iso);
    if (normalised === undefined) {
      // No fixed expectation: must agree with libphonenumber.
      assert.equal(result.ok, lib.ok, JSON.stringify(result));
      if (lib.ok) assert.equal(result.normalised, lib.normalised);
      return;
    }
    assertAccepted(result, { normalised }, `${iso} ${typed}`);
    assert.equal(lib.ok, true, `libphonenumber-js disagrees on ${typed}`);
    assert.equal(lib.normalised, normalised);
  });
}

test('LU, IS, FJ, KZ, MN, GG: territories the old table lacked are resolved to themselves', () => {
  assert.equal(checkNumber('8 701 234 5678', 'KZ').iso, 'KZ');
  assert.equal(checkNumber('+7 701 234 5678').iso, 'KZ');
  assert.equal(checkNumber('+7 912 345 6789').iso, 'RU');
  assert.equal(checkNumber('07781 123456', 'GB').iso, 'GG');
  assert.equal(checkNumber('+1 416 555 0123').iso, 'CA');
  assert.equal(checkNumber('+1 201 555 0123').iso, 'US');
  assert.equal(checkNumber('(416) 555-0123', 'US').iso, 'CA');
});

test('libphonenumber calls these invalid, and so do we', () => {
  // 0151 numbers have 8 subscriber digits; 07700 900xxx is Ofcom's range
  // reserved for drama, which libphonenumber does not accept.
  assert.deepEqual(checkNumber('0151 2345678', 'DE'), { ok: false, error: 'not_a_number', iso: 'DE', callingCode: '49' });
  assert.deepEqual(checkNumber('07700 900123', 'GB'), { ok: false, error: 'not_a_number', iso: 'GB', callingCode: '44' });
  assert.equal(oracle('0151 2345678', 'DE').ok, false);
  assert.equal(oracle('07700 900123', 'GB').ok, false);
});

test('Italy keeps its leading 0; Vatican City follows the chosen territory', () => {
  assert.equal(checkNumber('06 1234 5678', 'IT').normalised, '390612345678');
  assert.equal(checkNumber('+39 06 1234 5678').normalised, '390612345678');
  assert.equal(checkNumber('+39 06 698 12345').iso, 'VA');
  assert.equal(checkNumber('312 345 6789', 'VA').iso, 'VA');
  assert.equal(checkNumber('312 345 6789', 'IT').iso, 'IT');
  assert.equal(checkNumber('+39 312 345 6789').iso, 'IT');
});

test('calling code typed without +', () => {
  assertAccepted(checkNumber('33612345678', 'FR'), { normalised: '33612345678', iso: 'FR' }, 'FR');
  assertAccepted(checkNumber('44 7400 123456', 'GB'), { normalised: '447400123456', iso: 'GB' }, 'GB');
  assertAccepted(checkNumber('7 912 345 67 89', 'RU'), { normalised: '79123456789', iso: 'RU' }, 'RU');
  // The national reading wins where it is valid (libphonenumber does the
  // same): in Germany 491 5123456789 is a fixed-line number of area 0491.
  assert.equal(checkNumber('4915123456789', 'DE').normalised, '494915123456789');
  assert.equal(oracle('4915123456789', 'DE').normalised, '494915123456789');
});

test('digits of other scripts (STD1-DRV-1)', () => {
  assertAccepted(checkNumber('٠١٥١ ٢٣٤٥٦٧٨٩', 'DE'), { normalised: '4915123456789' }, 'Arabic-Indic');
  assertAccepted(checkNumber('+٤٩ ١٥١ ٢٣٤٥٦٧٨٩'), { normalised: '4915123456789' }, 'Arabic-Indic +');
  assertAccepted(checkNumber('۰۹۱۲ ۳۴۵ ۶۷۸۹', 'IR'), { normalised: '989123456789', iso: 'IR' }, 'Persian');
  assertAccepted(checkNumber('०९८७६५ ४३२१०', 'IN'), { normalised: '919876543210' }, 'Devanagari');
  assertAccepted(checkNumber('＋４９ １５１ ２３４５６７８９'), { normalised: '4915123456789' }, 'full-width');
  assert.equal(formatAsYouType('٠١٥١٢٣٤٥٦٧٨٩', 'DE'), '٠١٥١٢ ٣٤٥٦٧٨٩');
  assert.equal(formatAsYouType('+٤٩١٥١٢٣٤٥٦٧٨٩', 'DE'), '+٤٩ ١٥١٢ ٣٤٥٦٧٨٩');
});

test("'00' read as '+'", () => {
  for (const [typed, iso] of [
    ['0049 1512 3456789', undefined],
    ['0049 1512 3456789', 'DE'],
    ['0049 1512 3456789', 'US'],
    ['004915123456789', 'FR'],
    ['00 44 7400 123456', 'JP'],
  ]) {
    assertAccepted(checkNumber(typed, iso), { normalised: typed.startsWith('00 44') ? '447400123456' : '4915123456789' }, typed);
  }
  // The territory's own international prefix, as libphonenumber reads it.
  assertAccepted(checkNumber('011 49 1512 3456789', 'US'), { normalised: '4915123456789', iso: 'DE' }, '011');
  assertAccepted(checkNumber('8~10 49 1512 3456789', 'RU'), { normalised: '4915123456789' }, '810');
  assert.equal(formatAsYouType('004915123456789', 'DE'), '00 49 1512 3456789');
  assert.equal(formatAsYouType('0049', 'DE'), '00 49');
  assert.equal(formatAsYouType('00', 'DE'), '00');
});

test('trunk prefix typed after the calling code is dropped', () => {
  assertAccepted(checkNumber('+49 (0)1512 3456789'), { normalised: '4915123456789' }, '+49 (0)');
  assertAccepted(checkNumber('+44 07400 123456'), { normalised: '447400123456' }, '+44 0');
});

// ---------------------------------------------------------------------------
// Errors

test('error: empty', () => {
  for (const typed of ['', '   ', '+', 'abc', '-()', null, undefined]) {
    assert.deepEqual(checkNumber(typed, 'DE'), { ok: false, error: 'empty' }, String(typed));
  }
});

test('error: no_country', () => {
  assert.deepEqual(checkNumber('0151 23456789'), { ok: false, error: 'no_country' });
  assert.deepEqual(checkNumber('0151 23456789', 'XX'), { ok: false, error: 'no_country' });
  assert.deepEqual(checkNumber('15123456789', ''), { ok: false, error: 'no_country' });
});

test('error: too_short / too_long (STD1-DRV-2)', () => {
  assert.deepEqual(checkNumber('+49 151'), { ok: false, error: 'too_short', digits: 5 });
  assert.deepEqual(checkNumber('+49'), { ok: false, error: 'too_short', digits: 2 });
  assert.deepEqual(checkNumber('+999 12'), { ok: false, error: 'too_short', digits: 5 });
  assert.deepEqual(checkNumber('0151', 'DE'), { ok: false, error: 'too_short', digits: 6 });
  assert.deepEqual(checkNumber('+49 1512 3456 7890 1234'), { ok: false, error: 'too_long', digits: 18 });
  assert.deepEqual(checkNumber('+999 1234 5678 9012 3'), { ok: false, error: 'too_long', digits: 16 });
  // A number the plan has but STD1-DRV-2 refuses: a 14-digit German one.
  assert.equal(oracle('+49 5044 0213208684', 'DE').ok, true);
  assert.deepEqual(checkNumber('+49 5044 0213208684'), { ok: false, error: 'too_long', digits: 16 });
});

test('error: unknown_calling_code', () => {
  assert.deepEqual(checkNumber('+999 123456'), { ok: false, error: 'unknown_calling_code', prefix: '999' });
  assert.deepEqual(checkNumber('+800 1234 5678'), { ok: false, error: 'unknown_calling_code', prefix: '800' });
  assert.deepEqual(checkNumber('+0 123 456 789'), { ok: false, error: 'unknown_calling_code', prefix: '012' });
});

test('error: wrong_length', () => {
  assert.deepEqual(checkNumber('+33 6 12 34 56 7'), {
    ok: false,
    error: 'wrong_length',
    iso: 'FR',
    callingCode: '33',
    lengths: [9],
    got: 8,
  });
  assert.deepEqual(checkNumber('06 12 34 56 789', 'FR'), {
    ok: false,
    error: 'wrong_length',
    iso: 'FR',
    callingCode: '33',
    lengths: [9],
    got: 10,
  });
  const gb = checkNumber('+44 7400 1234');
  assert.equal(gb.error, 'wrong_length');
  assert.deepEqual(gb.lengths, [9, 10]);
});

test('error: not_a_number', () => {
  // +33 9… is a VoIP range: a real number, but neither mobile nor fixed line.
  assert.deepEqual(checkNumber('+33 9 12 34 56 78'), { ok: false, error: 'not_a_number', iso: 'FR', callingCode: '33' });
  assert.deepEqual(checkNumber('+1 555 555 0123'), { ok: false, error: 'not_a_number', iso: 'US', callingCode: '1' });
  assert.deepEqual(checkNumber('(555) 555-0123', 'CA'), { ok: false, error: 'not_a_number', iso: 'CA', callingCode: '1' });
});

// ---------------------------------------------------------------------------
// As-you-type

test('formatAsYouType keeps what the user spaced', () => {
  for (const [typed, iso] of [
    ['+44 7400 123 456', 'GB'],
    ['0151-2345-6789', 'DE'],
    ['(201) 555-0123', 'US'],
    ['+49.151.23456789', 'DE'],
    ['06/12/34/56/78', 'FR'],
    ['0151 23 45 67 89', 'DE'],
    [' +4915123456789', 'DE'],
    ['+49 151 23456789', 'DE'],
    ['tel:+4915123456789', 'DE'],
  ]) {
    assert.equal(formatAsYouType(typed, iso), typed, typed);
  }
});

test('formatAsYouType groups digits only, never reorders or drops', () => {
  assert.equal(formatAsYouType('', 'DE'), '');
  assert.equal(formatAsYouType('+', 'DE'), '+');
  assert.equal(formatAsYouType('+4', 'DE'), '+4');
  assert.equal(formatAsYouType('+49', 'DE'), '+49');
  assert.equal(formatAsYouType('+491', 'DE'), '+49 1');
  assert.equal(formatAsYouType('+4915123456789', 'DE'), '+49 1512 3456789');
  assert.equal(formatAsYouType('015123456789', 'DE'), '01512 3456789');
  assert.equal(formatAsYouType('0612345678', 'FR'), '06 12 34 56 78');
  assert.equal(formatAsYouType('89123456789', 'RU'), '8 912 345 67 89');
  assert.equal(formatAsYouType('06201234567', 'HU'), '06 20 123 4567');
  assert.equal(formatAsYouType('2015550123', 'US'), '201 555 0123');
  assert.equal(formatAsYouType('12015550123', 'US'), '1 201 555 0123');
  assert.equal(formatAsYouType('07400123456', 'GB'), '07400 123456');
  assert.equal(formatAsYouType('09012345678', 'JP'), '090 1234 5678');
  assert.equal(formatAsYouType('0111523456789', 'AR'), '011 15 2345 6789');
  assert.equal(formatAsYouType('11961234567', 'BR'), '11 96123 4567');
  assert.equal(formatAsYouType('80294911911', 'BY'), '8 029 491 19 11');
  assert.equal(formatAsYouType('8121234567', 'RU'), '812 123 45 67');
  assert.equal(formatAsYouType('015123456789', undefined), '015123456789');
  // Keystrokes with a backspace at the end.
  assert.equal(formatAsYouType('+49 1512 345678', 'DE'), '+49 1512 345678');
  assert.equal(formatAsYouType('+49 1512 3', 'DE'), '+49 1512 3');
});

test('formatAsYouType: idempotent and lossless on random digit strings', () => {
  const some = ['DE', 'US', 'GB', 'FR', 'AR', 'BR', 'RU', 'IT', 'JP', 'IN', 'CN', 'AT', 'HU', 'MX', 'KZ', 'VA', 'GG', 'NG', 'ID'];
  for (const iso of some) {
    for (let i = 0; i < 300; i += 1) {
      const lead = ['', '+', '00', '0', callingCode(iso)][i % 5];
      const digits = lead + randomDigits(1 + (i % 15));
      const once = formatAsYouType(digits, iso);
      assert.equal(once.replace(/ /g, ''), digits, `${iso} ${digits}`);
      assert.ok(!/ {2}|^ | $/.test(once), `${iso} ${digits}: ${once}`);
      assert.equal(formatAsYouType(once, iso), once, `${iso} ${digits} idempotent`);
      let field = '';
      for (const c of digits) field = formatAsYouType(field + c, iso);
      assert.equal(field, once, `${iso} ${digits} keystrokes`);
    }
  }
});

// ---------------------------------------------------------------------------
// Oracle: checkNumber(...).ok against libphonenumber-js on random input

function randomDigits(n) {
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += String(b % 10);
  return out;
}

function randomInt(n) {
  return Math.floor(Math.random() * n);
}

/** Random strings around a territory's numbers: random, prefixed, and mutated valid ones. */
function candidates(iso, count) {
  const t = TERRITORIES[iso];
  const cc = t.c;
  const min = t.l[0];
  const max = t.l[t.l.length - 1];
  const out = [];
  const valid = [];
  for (let i = 0; i < 20; i += 1) valid.push(checkNumber(generateMobile(iso), iso).normalised.slice(cc.length));
  const ex = examples[iso];
  const fixed = ex ? [ex] : [];
  for (let i = 0; i < count; i += 1) {
    const shape = i % 8;
    const len = Math.max(1, min - 1 + randomInt(max - min + 3));
    let nsn;
    if (shape <= 1) {
      nsn = randomDigits(len);
    } else {
      // A valid number with one digit changed, added or removed, or its head kept.
      const base = [...valid, ...fixed][randomInt(valid.length + fixed.length)];
      const at = randomInt(base.length);
      const op = randomInt(4);
      if (op === 0) nsn = base.slice(0, at) + randomDigits(1) + base.slice(at + 1);
      else if (op === 1) nsn = base.slice(0, at) + randomDigits(1) + base.slice(at);
      else if (op === 2) nsn = base.slice(0, at) + base.slice(at + 1);
      else nsn = base.slice(0, Math.max(1, at)) + randomDigits(Math.max(0, len - at));
    }
    const form = randomInt(4);
    if (form === 0) out.push(`+${cc}${nsn}`);
    else if (form === 1 && t.p) out.push(t.p + nsn);
    else if (form === 2) out.push(cc + nsn);
    else out.push(nsn);
  }
  return out;
}

/** Territories of which the oracle takes many more strings. */
const DEEP = new Set(['DE', 'GB', 'US', 'CA', 'FR', 'AR', 'BR', 'RU', 'KZ', 'IT', 'VA', 'IN', 'MX', 'CN', 'JP', 'AT', 'AU', 'GG', 'JE', 'IM', 'NO', 'SJ', 'FI', 'AX', 'HU', 'BY', 'CO', 'NZ']);

const stats = { total: 0, agree: 0, valid: 0, isoDiffers: 0, explained: {}, unexplained: [] };

function explain(kind, text, iso) {
  stats.explained[kind] = (stats.explained[kind] ?? 0) + 1;
  if (process.env.SHOW_EXPLAINED) console.log('explained', kind, iso, text, JSON.stringify(checkNumber(text, iso)), JSON.stringify(oracle(text, iso)));
}

function compare(text, iso) {
  stats.total += 1;
  const ours = checkNumber(text, iso);
  const lib = oracle(text, iso);
  if (lib.ok) stats.valid += 1;
  if (ours.ok === lib.ok && (!ours.ok || ours.normalised === lib.normalised)) {
    stats.agree += 1;
    // Same number, other territory: only where the chosen one also has it
    // (Vatican City's mobiles are Italy's; checkNumber reports the chosen one).
    if (ours.ok && ours.iso !== lib.iso) {
      stats.isoDiffers += 1;
      const t = TERRITORIES[iso];
      if (ours.iso !== iso || !CALLING_CODES[t.c].includes(lib.iso)) {
        stats.unexplained.push(`${iso} ${text}: territory ${ours.iso}, libphonenumber ${lib.iso}`);
      }
    }
    return;
  }
  const digits = text.replace(/[^0-9]/g, '');
  if (lib.ok && !ours.ok) {
    // STD1-DRV-2 bounds a steg number to 7..15 digits; some plans have
    // shorter or longer numbers that libphonenumber accepts.
    if ((ours.error === 'too_short' || ours.error === 'too_long') && (lib.normalised.length < 7 || lib.normalised.length > 15)) {
      return explain('outside the 7..15 digits of STD1-DRV-2', text, iso);
    }
    // Non-geographic calling codes (+800, +881…) are left out on purpose.
    if (ours.error === 'unknown_calling_code' && lib.iso === undefined) {
      return explain('non-geographic calling code', text, iso);
    }
  } else if (ours.ok && oracle(`+${ours.normalised}`, iso).ok) {
    // Ambiguous input that both read, but in another order: the number we
    // accepted is one libphonenumber accepts too when it is typed with '+'.
    // Which reading we took:
    const cc = TERRITORIES[iso].c;
    if (digits.startsWith('00') && checkNumber(`+${digits.slice(2)}`, iso).normalised === ours.normalised) {
      // '00' is an international prefix in every territory here, in
      // libphonenumber only where it is the territory's own.
      return explain("'00' read as '+'", text, iso);
    }
    if (digits.startsWith(cc) && checkNumber(`+${digits}`, iso).normalised === ours.normalised) {
      // A national reading that is not valid is retried as the calling code
      // typed without '+'; libphonenumber retries only when the national
      // reading cannot be a number of the chosen territory's plan at all.
      return explain('calling code without +, tried second after an invalid national reading', text, iso);
    }
    // The national reading is valid, after an international reading that
    // libphonenumber commits to was not: the territory's own international
    // prefix or '00' (Rwanda's '006…'), or the calling code without '+'.
    assert.ok(ours.normalised.startsWith(cc) && !lib.ok, `${iso} ${text}`);
    return explain('valid national reading after an invalid international one', text, iso);
  }
  stats.unexplained.push(`${iso} ${text}: ours ${JSON.stringify(ours)} lib ${JSON.stringify(lib)}`);
}

test('oracle: checkNumber agrees with libphonenumber-js on random strings', () => {
  for (const iso of isos) {
    for (const text of candidates(iso, DEEP.has(iso) ? 4000 : 400)) compare(text, iso);
  }
  assert.equal(stats.unexplained.length, 0, stats.unexplained.slice(0, 8).join('\n'));
});

// ---------------------------------------------------------------------------

const explainedCount = Object.values(stats.explained).reduce((a, b) => a + b, 0);
console.log(
  `oracle: ${stats.total} strings (${stats.valid} valid for libphonenumber-js), ${stats.agree} agree ` +
    `(${stats.isoDiffers} of them in the chosen territory rather than libphonenumber's), ${explainedCount} explained ` +
    `(${((100 * explainedCount) / Math.max(1, stats.total)).toFixed(3)} %: ${JSON.stringify(stats.explained)}), ` +
    `${stats.unexplained.length} unexplained`,
);
for (const line of failures.slice(0, 25)) console.log(`FAIL ${line}`);
if (failures.length > 25) console.log(`… and ${failures.length - 25} more failures`);
console.log(`phone: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
