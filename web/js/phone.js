// Steg numbers against real numbering plans: validation (STD1-CLI-2),
// as-you-type and display formatting, and the number generator
// (STD1-CLI-13), for every territory libphonenumber's metadata knows.
//
// A steg number is invented, but it sits in a real contact card, so it has to
// look like a real number: a number no country could have is a tell. The
// plans come from js/phone-data.js, generated from libphonenumber's metadata
// by web/tools/phone-data.mjs; this module is our own reading of that data
// and has no dependency. It touches no DOM and uses only
// globalThis.crypto.getRandomValues, so it runs in the page and in Node
// (web/tools/phone-test.mjs). Which plan data a client uses is a client
// matter, not protocol (spec Appendix C, D-21); only the normalised number
// (STD1-DRV-2) is hashed.
//
// The parsing rules follow libphonenumber (as libphonenumber-js implements
// them) so that a number it calls valid is valid here too; the differences
// are on purpose and listed at checkNumber.

import { foldDigits, normalisePhone, MIN_PHONE_DIGITS, MAX_PHONE_DIGITS } from './std1.js';
import { CALLING_CODES, TERRITORIES } from './phone-data.js';

// ---------------------------------------------------------------------------
// Plan data

const ISO_CODES = Object.keys(TERRITORIES).sort();

function territory(iso) {
  const key = typeof iso === 'string' ? iso.toUpperCase() : '';
  return Object.hasOwn(TERRITORIES, key) ? { iso: key, t: TERRITORIES[key] } : null;
}

function mainOf(cc) {
  return TERRITORIES[CALLING_CODES[cc][0]];
}

/** Formats of a territory; territories sharing a calling code use the main one's. */
function formatsOf(t) {
  return t.F ?? mainOf(t.c).F ?? [];
}

/** National prefix formatting rule of a format, with the territory's default. */
function ruleOf(format, t) {
  return format[2] || t.r || mainOf(t.c).r || '';
}

/** Calling codes are a prefix code (E.164): at most one of the first 1–3 digits is one. */
function splitCallingCode(digits) {
  for (let n = 1; n <= 3 && n <= digits.length; n += 1) {
    const cc = digits.slice(0, n);
    if (Object.hasOwn(CALLING_CODES, cc)) return cc;
  }
  return null;
}

const compiled = new Map();

function regex(source) {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(source);
    compiled.set(source, re);
  }
  return re;
}

/** Whole-string match, as libphonenumber matches national numbers. */
function matchesAll(pattern, text) {
  return regex(`^(?:${pattern})$`).test(text);
}

/** Match at the start, as libphonenumber matches leading digits. */
function matchesStart(pattern, text) {
  return regex(`^(?:${pattern})`).test(text);
}

/** A [pattern, lengths] range: the length must be one of the range's and the pattern must match. */
function inRange(range, nsn) {
  return Boolean(range) && range[1].includes(nsn.length) && matchesAll(range[0], nsn);
}

/**
 * 'mobile', 'fixed_line', 'fixed_line_or_mobile' or null: the kinds of number
 * STD1-CLI-2 accepts. Where a territory has no mobile range of its own
 * (NANP members whose mobile and fixed-line numbers share ranges, and
 * territories without mobile numbers), libphonenumber calls a fixed-line
 * match "fixed line or mobile", and so do we.
 */
function kindOf(t, nsn) {
  if (!matchesAll(t.n, nsn)) return null;
  if (inRange(t.f, nsn)) return !t.m || inRange(t.m, nsn) ? 'fixed_line_or_mobile' : 'fixed_line';
  if (inRange(t.m, nsn)) return 'mobile';
  return null;
}

/** Whether a territory of a shared calling code claims the number (any type, as libphonenumber decides). */
function claims(t, nsn) {
  if (t.d) return matchesStart(t.d, nsn);
  if (kindOf(t, nsn)) return true;
  return matchesAll(t.n, nsn) && (t.o ?? []).some((range) => inRange(range, nsn));
}

/** The territory a national number of a calling code belongs to, or null (libphonenumber's rule). */
function resolve(cc, nsn) {
  const list = CALLING_CODES[cc];
  if (list.length === 1) return list[0];
  return list.find((iso) => claims(TERRITORIES[iso], nsn)) ?? null;
}

function lengthVerdict(length, lengths) {
  if (length === lengths[0]) return 'possible';
  if (length < lengths[0]) return 'short';
  if (length > lengths[lengths.length - 1]) return 'long';
  return lengths.includes(length) ? 'possible' : 'invalid';
}

/**
 * Strips a national (trunk) prefix the way the territory's "national prefix
 * for parsing" and its transform rule say, without judging the result.
 * `prefix` is what was cut off, or null when the transform rule rewrote the
 * number (Argentina's 0 11 15 → 9 11); `typedPrefix` is then the national
 * prefix as typed before the rewritten part, or ''.
 */
function stripTrunk(digits, t) {
  const npp = t.q ?? t.p;
  if (!digits || !npp) return { nsn: digits, prefix: '' };
  const re = regex(`^(?:${npp})`);
  const m = re.exec(digits);
  if (!m) return { nsn: digits, prefix: '' };
  const last = m.length > 1 ? m[m.length - 1] : undefined;
  if (t.x && last) {
    // The national prefix proper is what precedes the first captured group.
    const before = digits.slice(0, digits.indexOf(m[1] ?? last));
    return { nsn: digits.replace(re, t.x), prefix: null, typedPrefix: before === t.p ? before : '' };
  }
  return { nsn: digits.slice(m[0].length), prefix: m[0] };
}

/**
 * The national significant number of complete digits dialled in the plan of
 * `t`: the trunk prefix is removed only when the rest still looks like a
 * number of the plan, so Russia's 812 (St Petersburg) keeps its 8 while
 * 8 912… loses it.
 */
function nationalNumber(digits, t) {
  const { nsn } = stripTrunk(digits, t);
  if (nsn === digits) return digits;
  if (matchesAll(t.n, digits) && !matchesAll(t.n, nsn)) return digits;
  const owner = TERRITORIES[resolve(t.c, nsn)] ?? t;
  const verdict = lengthVerdict(nsn.length, owner.l);
  if (verdict === 'short' || verdict === 'invalid') return digits;
  return nsn;
}

function union(...lists) {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/**
 * Judges a calling code and national number: the STD1-DRV-2 bounds, then the
 * plan of the territory it belongs to (STD1-CLI-2). `hint` is the territory
 * the user chose; a number valid there is reported as of that territory even
 * where an earlier territory of the same calling code would also take it
 * (Vatican City mobiles are Italian ones, for example).
 */
function assess(cc, nsn, hint) {
  const normalised = cc + nsn;
  const { error } = normalisePhone(normalised);
  if (error === 'phone_too_short') return { ok: false, error: 'too_short', digits: normalised.length };
  if (error === 'phone_too_long') return { ok: false, error: 'too_long', digits: normalised.length };
  const list = CALLING_CODES[cc];
  const hinted = hint && list.includes(hint) ? hint : null;
  let iso = null;
  if (hinted && kindOf(TERRITORIES[hinted], nsn)) iso = hinted;
  else iso = resolve(cc, nsn) ?? hinted ?? list[0];
  const t = TERRITORIES[iso];
  const kind = kindOf(t, nsn);
  if (kind) return { ok: true, normalised, iso, display: display(cc, nsn, t), type: kind };
  const lengths = union(t.m ? t.m[1] : [], t.f ? t.f[1] : []);
  if (!lengths.includes(nsn.length)) {
    return { ok: false, error: 'wrong_length', iso, callingCode: cc, lengths, got: nsn.length };
  }
  return { ok: false, error: 'not_a_number', iso, callingCode: cc };
}

/** Digits after an international prefix: calling code, then the national number. */
function checkInternational(digits, hint) {
  const cc = splitCallingCode(digits);
  if (!cc) {
    if (digits.length < MIN_PHONE_DIGITS) return { ok: false, error: 'too_short', digits: digits.length };
    if (digits.length > MAX_PHONE_DIGITS) return { ok: false, error: 'too_long', digits: digits.length };
    return { ok: false, error: 'unknown_calling_code', prefix: digits.slice(0, 3) };
  }
  // A trunk prefix written after the calling code ("+49 (0)151…") is dropped,
  // by the main territory's rule, as libphonenumber does.
  return assess(cc, nationalNumber(digits.slice(cc.length), mainOf(cc)), hint);
}

/** Whether the digits start with the territory's own international call prefix (011 in NANP, 8~10 in Russia…). */
function afterIdd(digits, t) {
  if (!t.i) return null;
  const m = regex(`^(?:${t.i})`).exec(digits);
  if (!m || m[0].length >= digits.length || digits[m[0].length] === '0') return null;
  return digits.slice(m[0].length);
}

// ---------------------------------------------------------------------------
// Public API

/** ISO 3166-1 alpha-2 codes of every supported territory, sorted. */
export function countryCodes() {
  return [...ISO_CODES];
}

/** Country calling code of a territory ('49' for DE), or null when it is not supported. */
export function callingCode(iso) {
  const found = territory(iso);
  return found ? found.t.c : null;
}

/**
 * Validates a typed steg number (STD1-CLI-2, on top of STD1-DRV-2).
 *
 * Returns `{ ok: true, normalised, iso, display, type }`: `normalised` is the
 * E.164 number without '+', the only thing the protocol hashes; `iso` the
 * territory it belongs to; `display` its international form; `type` one of
 * 'mobile', 'fixed_line', 'fixed_line_or_mobile'. Or `{ ok: false, error }`
 * with a machine-readable code and details, for the page to put into words:
 * 'empty'; 'no_country' (national form without a known `iso`); 'too_short'
 * and 'too_long' with `digits` (STD1-DRV-2's 7 to 15); 'unknown_calling_code'
 * with `prefix`; 'wrong_length' with `iso`, `callingCode`, `lengths` (the
 * mobile and fixed-line national lengths) and `got`; 'not_a_number' with
 * `iso` and `callingCode` (right length, but in no mobile or fixed-line
 * range).
 *
 * Accepted forms: '+' then the calling code (a trunk prefix after it, as in
 * '+49 (0)151…', is dropped); the chosen territory's own international
 * prefix (011 in NANP, 009 in Nigeria…) and '00' in every territory, read as
 * '+' (STD1-DRV-2 leaves that conversion to validation); the national form of
 * the territory `iso`, its trunk prefix removed by the plan's rules (0 in
 * most of Europe, 8 in Russia, 06 in Hungary, 1 in NANP, Argentina's 0…15;
 * none in Italy, whose 0 belongs to the number); and the calling code typed
 * without '+'. Digits of any script are folded first (STD1-DRV-1); other
 * characters are ignored, as STD1-DRV-2 ignores them. A number is valid when
 * its national number has one of the lengths of a mobile or fixed-line range
 * of its territory and matches that range in full.
 *
 * Ambiguous digits are read in libphonenumber's order (international prefix;
 * then the national form, unless it cannot be a number of the plan at all,
 * when the calling code without '+' goes first), so a number it calls valid
 * comes out the same here. On purpose unlike it: when the first reading is
 * not valid the others are tried before giving up (its answer would be
 * "invalid"); '00' is an international prefix everywhere; a number valid in
 * the chosen territory is reported as of it even where an earlier territory
 * of the calling code also has it (Åland's mobiles are Finland's, Vatican
 * City's Italy's), so a generated number comes back with the territory it
 * was made for; numbers outside STD1-DRV-2's 7 to 15 digits are refused even
 * where a plan has them; non-geographic calling codes (+800, +881…) are
 * unknown.
 */
export function checkNumber(input, iso) {
  let text = foldDigits(String(input ?? ''));
  text = text.replace(/\uFF0B/g, '+');
  const digits = text.replace(/[^0-9]/g, '');
  if (digits === '') return { ok: false, error: 'empty' };
  const firstDigit = text.search(/[0-9]/);
  const plus = text.indexOf('+');
  const found = territory(iso);
  const hint = found ? found.iso : null;
  if (plus >= 0 && plus < firstDigit) return checkInternational(digits, hint);

  // International prefixes: the territory's own first (libphonenumber's
  // reading; Nigeria's is 009), then '00' everywhere.
  const readings = [];
  const idd = found ? afterIdd(digits, found.t) : null;
  if (idd !== null) readings.push(idd);
  if (digits.startsWith('00') && digits.length > 2 && idd !== digits.slice(2)) readings.push(digits.slice(2));
  let intlResult = null;
  for (const reading of readings) {
    const result = checkInternational(reading, hint);
    if (result.ok) return result;
    intlResult ??= result;
  }
  if (!found) return intlResult ?? { ok: false, error: 'no_country' };
  const { t } = found;
  const nsn = nationalNumber(digits, t);
  const national = () => assess(t.c, nsn, hint);
  if (!digits.startsWith(t.c) || digits.length === t.c.length) {
    const result = national();
    return result.ok || !intlResult ? result : intlResult;
  }
  // The calling code typed without '+'. libphonenumber reads it so first
  // when the national reading cannot be a number of the chosen plan at all
  // (does not fit its general pattern, or is too long); otherwise the
  // national reading goes first. Either way the other is tried if the first
  // is not valid.
  const rest = nationalNumber(digits.slice(t.c.length), t);
  const withCode = () => assess(t.c, nationalNumber(digits.slice(t.c.length), mainOf(t.c)), hint);
  const codeFirst = (!matchesAll(t.n, nsn) && matchesAll(t.n, rest)) || lengthVerdict(nsn.length, t.l) === 'long';
  const [first, second] = codeFirst ? [withCode, national] : [national, withCode];
  const firstResult = first();
  if (firstResult.ok) return firstResult;
  const secondResult = second();
  if (secondResult.ok) return secondResult;
  return intlResult ?? firstResult;
}

/**
 * International display form of a normalised number: '+', the calling code
 * and the national number grouped by the territory's format, groups
 * separated by spaces ('+49 1512 3456789'). Without a calling code it knows,
 * '+' and the digits; without a matching format, '+cc' and the national
 * number in one piece.
 */
export function formatInternational(normalised) {
  const digits = foldDigits(String(normalised ?? '')).replace(/[^0-9]/g, '');
  const cc = splitCallingCode(digits);
  if (!cc) return `+${digits}`;
  const nsn = digits.slice(cc.length);
  if (nsn === '') return `+${cc}`;
  return display(cc, nsn, TERRITORIES[resolve(cc, nsn) ?? CALLING_CODES[cc][0]]);
}

function chooseFormat(formats, nsn) {
  return formats.find((f) => (!f[1] || matchesStart(f[1], nsn)) && matchesAll(f[0], nsn)) ?? null;
}

function display(cc, nsn, t) {
  const format = chooseFormat(formatsOf(t), nsn);
  if (!format) return `+${cc} ${nsn}`;
  if (format[3]) {
    const applied = nsn.replace(regex(format[0]), format[3]);
    return `+${cc} ${applied.replace(/[^0-9]+/g, ' ').trim()}`;
  }
  return `+${cc} ${regex(`^(?:${format[0]})$`).exec(nsn).slice(1).join(' ')}`;
}

/**
 * As-you-type formatting of the number field. Text of digits only (any
 * script; optionally after '+' or '00') comes back grouped with spaces by the
 * first format that fits what is typed so far: international groups after
 * '+cc', national groups otherwise, the trunk prefix kept as typed (a
 * complete national number typed as libphonenumber writes it is spaced like
 * that, Argentina's '011 15 2345 6789' for example). Only
 * spaces are ever inserted; no typed character is dropped, changed or moved,
 * so the number normalises the same (STD1-DRV-2). Text with a separator the
 * user typed (space, '-', '.', '(', ')', '/') or anything else is returned
 * as it is: their own spacing wins. Spaces count as ours, not theirs, when
 * the text is this function's output for its first digits followed by
 * further digits typed without spaces, which is what typing at the end of
 * the field produces; so formatting its own output returns it unchanged.
 */
export function formatAsYouType(input, iso) {
  const text = String(input ?? '');
  const chars = [...text];
  const folded = chars.map((c) => foldDigits(c));
  let spaced = false;
  for (let i = 0; i < folded.length; i += 1) {
    const c = folded[i];
    if (c >= '0' && c <= '9') continue;
    if (c === '+' && i === 0) continue;
    if (c === ' ') {
      spaced = true;
      continue;
    }
    return text;
  }
  const found = territory(iso);
  if (!spaced) return layout(chars, folded, found);
  const keep = [];
  for (let i = 0; i < chars.length; i += 1) if (folded[i] !== ' ') keep.push(i);
  const compactChars = keep.map((i) => chars[i]);
  const compactFolded = keep.map((i) => folded[i]);
  if (compactChars.length === 0) return text;
  const whole = layout(compactChars, compactFolded, found);
  if (whole === text) return text;
  for (let j = compactChars.length - 1; j >= 1; j -= 1) {
    const head = layout(compactChars.slice(0, j), compactFolded.slice(0, j), found);
    if (head + compactChars.slice(j).join('') === text) return whole;
  }
  return text;
}

/** Groups unspaced text: chars are what was typed, folded their ASCII digits. */
function layout(chars, folded, found) {
  if (chars.length === 0) return '';
  if (folded[0] === '+') return `${chars[0]}${layoutInternational(chars.slice(1), folded.slice(1), found)}`;
  const digits = folded.join('');
  if (digits.startsWith('00')) {
    const rest = layoutInternational(chars.slice(2), folded.slice(2), found);
    return rest ? `${chars[0]}${chars[1]} ${rest}` : `${chars[0]}${chars[1]}`;
  }
  if (!found) return chars.join('');
  return layoutNational(chars, digits, found);
}

function layoutInternational(chars, folded, found) {
  const digits = folded.join('');
  const cc = splitCallingCode(digits);
  if (!cc || digits.length === cc.length) return chars.join('');
  const owner = found && CALLING_CODES[cc].includes(found.iso) ? found.t : mainOf(cc);
  const head = chars.slice(0, cc.length).join('');
  const { text } = groupNational(chars.slice(cc.length), digits.slice(cc.length), owner);
  return `${head} ${text}`;
}

/** How many leading digits of national-form typing are the trunk prefix. */
function trunkLength(digits, t, iso) {
  const stripped = stripTrunk(digits, t);
  if (stripped.prefix === null) return stripped.typedPrefix.length;
  if (!stripped.prefix) return 0;
  const nsn = nationalNumber(digits, t);
  if (nsn !== digits) return digits.length - nsn.length;
  // Not stripped as a complete number: either it is one without the prefix
  // (Russia's 812…) or it is not complete yet and the prefix is shown apart.
  if (assess(t.c, digits, iso).ok) return 0;
  return stripped.prefix.length;
}

function layoutNational(chars, digits, found) {
  const { t, iso } = found;
  const whole = completeNational(chars, digits, t, iso);
  if (whole) return whole;
  const n = trunkLength(digits, t, iso);
  const rest = chars.slice(n);
  const prefix = chars.slice(0, n);
  if (n === 0) return groupNational(chars, digits, t).text;
  if (rest.length === 0) return prefix.join('');
  const { text, format } = groupNational(rest, digits.slice(n), t);
  return `${prefixLayout(prefix, digits.slice(0, n), format ? ruleOf(format, t) : '')}${text}`;
}

/**
 * A complete valid number typed in the national form libphonenumber writes
 * (trunk prefix per the formatting rule, Argentina's 15 included), spaced
 * like that form: its punctuation becomes single spaces. Null when the typed
 * digits are not exactly that form.
 */
function completeNational(chars, digits, t, iso) {
  const nsn = nationalNumber(digits, t);
  const result = assess(t.c, nsn, iso);
  if (!result.ok) return null;
  const owner = TERRITORIES[result.iso];
  const format = chooseFormat(formatsOf(owner), nsn);
  if (!format) return null;
  const groups = groupSpec(format[0]).length;
  let template = format[4] || Array.from({ length: groups }, (_, k) => `$${k + 1}`).join(' ');
  const rule = ruleOf(format, owner);
  if (rule) template = template.replace(/(\$\d)/, rule);
  const written = nsn.replace(regex(`^(?:${format[0]})$`), template);
  if (written.replace(/[^0-9]/g, '') !== digits) return null;
  let out = '';
  let next = 0;
  for (const c of written) {
    if (c >= '0' && c <= '9') {
      out += chars[next];
      next += 1;
    } else if (out !== '' && !out.endsWith(' ')) {
      out += ' ';
    }
  }
  return out.trimEnd();
}

/**
 * The typed trunk prefix spaced like the national prefix formatting rule
 * writes it ('8 ($1)' → '8 ', '0$1' → '0' joined to the first group); a
 * prefix the rule does not spell is set apart by a space.
 */
function prefixLayout(prefix, prefixDigits, rule) {
  const at = rule.indexOf('$1');
  const head = at >= 0 ? rule.slice(0, at) : '';
  if (at < 0 || head.replace(/[^0-9]/g, '') !== prefixDigits) return `${prefix.join('')} `;
  let out = '';
  let next = 0;
  for (const c of head) {
    if (c >= '0' && c <= '9') {
      out += prefix[next];
      next += 1;
    } else if ((c === ' ' || c === '-') && out !== '' && !out.endsWith(' ')) {
      out += ' ';
    }
  }
  return out;
}

/** Group sizes of a format pattern, which is a run of (\d{min,max}) groups. */
const groupSpecs = new Map();
function groupSpec(pattern) {
  let spec = groupSpecs.get(pattern);
  if (!spec) {
    spec = [...pattern.matchAll(/\(\\d(?:\{(\d+)(?:,(\d+))?\})?\)/g)].map((m) => {
      const min = m[1] === undefined ? 1 : Number(m[1]);
      return [min, m[2] === undefined ? min : Number(m[2])];
    });
    groupSpecs.set(pattern, spec);
  }
  return spec;
}

/**
 * Splits the national digits typed so far into groups: the format that
 * matches them as a complete number if there is one, else the first whose
 * leading digits they can still become and whose length they do not exceed.
 */
function groupNational(chars, digits, t) {
  const formats = formatsOf(t);
  let format = chooseFormat(formats, digits);
  if (!format) {
    format =
      formats.find((f) => {
        const spec = groupSpec(f[0]);
        if (digits.length > spec.reduce((sum, [, max]) => sum + max, 0)) return false;
        return !f[1] || canStartWith(pattern(f[1]), digits);
      }) ?? null;
  }
  if (!format) return { text: chars.join(''), format: null };
  const spec = groupSpec(format[0]);
  const minimum = spec.reduce((sum, [min]) => sum + min, 0);
  let sizes;
  if (digits.length >= minimum) {
    sizes = regex(`^(?:${format[0]})$`).exec(digits).slice(1).map((g) => g.length);
  } else {
    sizes = [];
    let left = digits.length;
    for (const [min] of spec) {
      if (left === 0) break;
      const size = Math.min(min, left);
      sizes.push(size);
      left -= size;
    }
  }
  const groups = [];
  let at = 0;
  for (const size of sizes) {
    groups.push(chars.slice(at, at + size).join(''));
    at += size;
  }
  return { text: groups.join(' '), format };
}

// ---------------------------------------------------------------------------
// Pattern reader for the regular-expression subset of libphonenumber's
// patterns: digits, \d, classes of digits and ranges, (…) and (?:…) groups,
// |, ?, {n} and {n,m}. The generator (tools/phone-data.mjs) refuses data
// using anything else.

const ALL_DIGITS = 0x3ff;

function parsePattern(source) {
  let at = 0;
  const fail = () => {
    throw new SyntaxError(`unsupported pattern at ${at}: ${source}`);
  };
  function alternation() {
    const alts = [sequence()];
    while (source[at] === '|') {
      at += 1;
      alts.push(sequence());
    }
    return alts.length === 1 ? alts[0] : { k: 'alt', alts };
  }
  function sequence() {
    const items = [];
    while (at < source.length && source[at] !== '|' && source[at] !== ')') items.push(quantified(atom()));
    return items.length === 1 ? items[0] : { k: 'seq', items };
  }
  function atom() {
    const c = source[at];
    if (c >= '0' && c <= '9') {
      at += 1;
      return { k: 'set', mask: 1 << Number(c) };
    }
    if (c === '\\') {
      if (source[at + 1] !== 'd') fail();
      at += 2;
      return { k: 'set', mask: ALL_DIGITS };
    }
    if (c === '[') {
      at += 1;
      let mask = 0;
      while (source[at] !== ']') {
        const lo = source[at];
        if (!(lo >= '0' && lo <= '9')) fail();
        if (source[at + 1] === '-') {
          const hi = source[at + 2];
          if (!(hi >= lo && hi <= '9')) fail();
          for (let d = Number(lo); d <= Number(hi); d += 1) mask |= 1 << d;
          at += 3;
        } else {
          mask |= 1 << Number(lo);
          at += 1;
        }
      }
      at += 1;
      return { k: 'set', mask };
    }
    if (c === '(') {
      at += source.startsWith('(?:', at) ? 3 : 1;
      const inner = alternation();
      if (source[at] !== ')') fail();
      at += 1;
      return inner;
    }
    return fail();
  }
  function quantified(node) {
    if (source[at] === '?') {
      at += 1;
      return { k: 'rep', node, min: 0, max: 1 };
    }
    if (source[at] === '{') {
      const m = /^\{(\d+)(?:,(\d+))?\}/.exec(source.slice(at));
      if (!m) fail();
      at += m[0].length;
      const min = Number(m[1]);
      return { k: 'rep', node, min, max: m[2] === undefined ? min : Number(m[2]) };
    }
    return node;
  }
  const tree = alternation();
  if (at !== source.length) fail();
  return tree;
}

const parsed = new Map();
function pattern(source) {
  let tree = parsed.get(source);
  if (!tree) {
    tree = parsePattern(source);
    parsed.set(source, tree);
  }
  return tree;
}

/**
 * Whether typed digits can begin a string the pattern matches, or begin with
 * one: used for leading-digit patterns while the number is still being typed,
 * when matching at the start would fail only because digits are missing.
 */
function canStartWith(tree, digits) {
  return advance(tree, digits, new Set([0])).size > 0;
}

/** Positions reachable after the node from each position; the end of the typed digits absorbs everything. */
function advance(node, digits, from) {
  const end = digits.length;
  switch (node.k) {
    case 'set': {
      const out = new Set();
      for (const p of from) {
        if (p === end) out.add(end);
        else if (node.mask & (1 << (digits.charCodeAt(p) - 48))) out.add(p + 1);
      }
      return out;
    }
    case 'seq':
      return node.items.reduce((positions, item) => (positions.size ? advance(item, digits, positions) : positions), from);
    case 'alt': {
      const out = new Set();
      for (const alt of node.alts) for (const p of advance(alt, digits, from)) out.add(p);
      return out;
    }
    default: {
      const out = new Set(node.min === 0 ? from : []);
      let current = from;
      for (let k = 1; k <= node.max && current.size > 0; k += 1) {
        current = advance(node.node, digits, current);
        if (k >= node.min) for (const p of current) out.add(p);
      }
      return out;
    }
  }
}

// ---------------------------------------------------------------------------
// Generator (STD1-CLI-13)

/** Longest national number the counts track; E.164 numbers are shorter. */
const LONGEST = 17;

function zeros() {
  return new Array(LONGEST + 1).fill(0n);
}

function convolve(a, b) {
  const out = zeros();
  for (let i = 0; i <= LONGEST; i += 1) {
    if (a[i] === 0n) continue;
    for (let j = 0; i + j <= LONGEST; j += 1) if (b[j] !== 0n) out[i + j] += a[i] * b[j];
  }
  return out;
}

function popcount(mask) {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n += 1;
  return n;
}

/** Number of ways the node spells a string of each length (memoised on the node). */
function counts(node) {
  if (node.counts) return node.counts;
  let out;
  if (node.k === 'set') {
    out = zeros();
    out[1] = BigInt(popcount(node.mask));
  } else if (node.k === 'seq') {
    out = node.items.reduce((acc, item) => convolve(acc, counts(item)), unit());
  } else if (node.k === 'alt') {
    out = zeros();
    for (const alt of node.alts) counts(alt).forEach((c, i) => (out[i] += c));
  } else {
    // powers[k]: counts of k repetitions in a row.
    node.powers = [unit()];
    for (let k = 1; k <= node.max; k += 1) node.powers.push(convolve(node.powers[k - 1], counts(node.node)));
    out = zeros();
    for (let k = node.min; k <= node.max; k += 1) node.powers[k].forEach((c, i) => (out[i] += c));
  }
  node.counts = out;
  return out;
}

function unit() {
  const out = zeros();
  out[0] = 1n;
  return out;
}

/** Uniform random BigInt in [0, n), by rejection from getRandomValues. */
function randomBelow(n) {
  if (n <= 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  const bytes = new Uint8Array(Math.ceil(bits / 8));
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    globalThis.crypto.getRandomValues(bytes);
    let x = 0n;
    for (const b of bytes) x = (x << 8n) | BigInt(b);
    x &= mask;
    if (x < n) return x;
  }
}

/** Index chosen with probability proportional to its weight (BigInts). */
function pick(weights) {
  const total = weights.reduce((a, b) => a + b, 0n);
  let r = randomBelow(total);
  for (let i = 0; i < weights.length; i += 1) {
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  throw new Error('empty choice');
}

/**
 * A string of the given length spelled by the node, every spelling equally
 * likely: each choice (branch, repeat count, digit) is weighted by how many
 * spellings it leads to, so the number is uniform over the range rather than
 * biased towards small branches.
 */
function sample(node, length) {
  if (node.k === 'set') {
    const allowed = [];
    for (let d = 0; d <= 9; d += 1) if (node.mask & (1 << d)) allowed.push(String(d));
    return allowed[Number(randomBelow(BigInt(allowed.length)))];
  }
  if (node.k === 'alt') return sample(node.alts[pick(node.alts.map((a) => counts(a)[length]))], length);
  if (node.k === 'seq') return sampleSequence(node.items, length);
  counts(node);
  const repeats = [];
  const weights = [];
  for (let k = node.min; k <= node.max; k += 1) {
    repeats.push(k);
    weights.push(node.powers[k][length]);
  }
  const k = repeats[pick(weights)];
  return sampleSequence(new Array(k).fill(node.node), length);
}

function sampleSequence(items, length) {
  // tails[i]: counts of items i.. in a row.
  const tails = new Array(items.length + 1);
  tails[items.length] = unit();
  for (let i = items.length - 1; i >= 0; i -= 1) tails[i] = convolve(counts(items[i]), tails[i + 1]);
  let out = '';
  let left = length;
  for (let i = 0; i < items.length; i += 1) {
    const own = counts(items[i]);
    const weights = [];
    for (let l = 0; l <= left; l += 1) weights.push(own[l] * tails[i + 1][left - l]);
    const l = pick(weights);
    out += sample(items[i], l);
    left -= l;
  }
  return out;
}

/**
 * A random valid mobile number of the territory, in international display
 * form (STD1-CLI-13). Its length is that of libphonenumber's example mobile
 * number there (the usual length, where a plan allows several), else drawn in
 * proportion to how many numbers each length has; its digits are uniform over
 * the mobile ranges of that length. Territories without a mobile range of
 * their own get a fixed-line number, which libphonenumber calls "fixed line
 * or mobile" there (NANP members whose mobiles share the fixed-line ranges;
 * Tristan da Cunha, which has no mobile numbers). The result passes
 * checkNumber with the same territory, within STD1-DRV-2's 7 to 15 digits.
 * Throws RangeError for a territory that is not supported.
 */
export function generateMobile(iso) {
  const found = territory(iso);
  if (!found) throw new RangeError(`no numbering plan for ${iso}`);
  const { t } = found;
  const [source, lengths] = t.m ?? t.f;
  const tree = pattern(source);
  const table = counts(tree);
  const fits = lengths.filter((l) => {
    const total = t.c.length + l;
    return total >= MIN_PHONE_DIGITS && total <= MAX_PHONE_DIGITS && l <= LONGEST && table[l] > 0n;
  });
  if (fits.length === 0) throw new RangeError(`no mobile number of ${found.iso} fits 7 to 15 digits`);
  const length = fits.includes(t.g) ? t.g : fits[pick(fits.map((l) => table[l]))];
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const nsn = sample(tree, length);
    const result = assess(t.c, nsn, found.iso);
    if (result.ok && result.iso === found.iso && result.type !== 'fixed_line') return result.display;
  }
  throw new Error(`could not generate a mobile number of ${found.iso}`);
}

/** Internals for web/tools/phone-test.mjs; not for the page. */
export const _internals = { parsePattern, canStartWith, counts, sample, resolve };
