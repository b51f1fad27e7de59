#!/usr/bin/env node
// Generates web/js/phone-data.js, the numbering-plan data of js/phone.js,
// from the libphonenumber metadata that the npm package libphonenumber-js
// carries (STD1-CLI-2 asks for numbering-plan data; STD1-CLI-13 generates
// numbers from it).
//
//   npm ci --prefix web/tools
//   node web/tools/phone-data.mjs           # rewrite web/js/phone-data.js
//   node web/tools/phone-data.mjs --check   # exit 1 if the committed file is stale
//
// The metadata is read through libphonenumber-js's Metadata class rather
// than its array layout, so a layout change in a later version fails loudly
// here instead of silently shipping wrong data. Only what phone.js uses is
// kept: MOBILE and FIXED_LINE ranges, the other types only where they decide
// which territory of a shared calling code a number belongs to, and the
// formats reduced to their group structure (the client only ever separates
// groups with spaces). The output is deterministic: territories sorted by ISO
// code, keys in a fixed order, no timestamps.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Metadata } from 'libphonenumber-js/core';
import metadataJson from 'libphonenumber-js/metadata.max.json';
import mobileExamples from 'libphonenumber-js/examples.mobile.json';

const OUT = fileURLToPath(new URL('../js/phone-data.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('./node_modules/libphonenumber-js/package.json', import.meta.url), 'utf8'));

/** Types other than MOBILE and FIXED_LINE, in the order libphonenumber-js tries them. */
const OTHER_TYPES = ['PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];

/** A format pattern must be a plain run of `(\d…)` groups; phone.js relies on it. */
const GROUP = /\(\\d(?:\{(\d+)(?:,(\d+))?\})?\)/g;

function groupCount(pattern) {
  const stripped = pattern.replace(GROUP, '');
  if (stripped !== '') throw new Error(`format pattern outside the supported shape: ${pattern}`);
  return pattern.match(GROUP).length;
}

/** The constructs phone.js's pattern reader understands; anything else stops the build. */
function assertSubset(pattern, what) {
  const rest = pattern
    .replace(/\\d/g, '')
    .replace(/\[[0-9-]+\]/g, '')
    .replace(/\{\d+(?:,\d+)?\}/g, '')
    .replace(/\(\?:/g, '')
    .replace(/[0-9|()?]/g, '');
  if (rest !== '') throw new Error(`${what}: pattern uses constructs phone.js does not read: ${pattern}`);
}

function typeEntry(plan, type, what) {
  const t = plan.type(type);
  if (!t || !t.pattern()) return undefined;
  assertSubset(t.pattern(), what);
  return [t.pattern(), [...t.possibleLengths()].sort((a, b) => a - b)];
}

/**
 * Formats as phone.js stores them: [pattern, last leading-digits pattern,
 * rule override, international template, national template]; the templates
 * only where they are not just the groups separated by punctuation.
 */
function formatsOf(plan, defaultRule, iso) {
  return plan.formats().map((f) => {
    const n = groupCount(f.pattern());
    const ldp = f.leadingDigitsPatterns();
    const ld = ldp.length > 0 ? ldp[ldp.length - 1] : 0;
    if (ld) assertSubset(ld, `${iso} leading digits`);
    const rule = f.nationalPrefixFormattingRule() || 0;
    const canonical = Array.from({ length: n }, (_, k) => `$${k + 1}`).join(' ');
    const spaced = (template) => template.replace(/[-.()/\s]+/g, ' ').trim();
    const intl = f.internationalFormat();
    const national = f.format();
    const entry = [
      f.pattern(),
      ld,
      rule === defaultRule ? 0 : rule,
      spaced(intl) === canonical ? 0 : intl,
      spaced(national) === canonical ? 0 : national,
    ];
    while (entry.length > 1 && entry[entry.length - 1] === 0) entry.pop();
    return entry;
  });
}

function build() {
  const metadata = new Metadata(metadataJson);
  const codes = metadata.countryCallingCodes();
  const territories = {};
  const isos = metadata.getCountries().filter((iso) => iso !== '001').sort();
  const mainOf = (cc) => metadata.getCountryCodesForCallingCode(cc)[0];
  const dropped = [];

  for (const iso of isos) {
    const plan = metadata.selectNumberingPlan(iso).numberingPlan;
    const cc = plan.callingCode();
    const sharing = metadata.getCountryCodesForCallingCode(cc);
    const main = sharing[0];
    const np = plan.nationalPrefix() || 0;
    const npp = plan.nationalPrefixForParsing() || 0;
    const mobile = typeEntry(plan, 'MOBILE', `${iso} mobile`);
    const fixed = typeEntry(plan, 'FIXED_LINE', `${iso} fixed line`);
    if (!mobile && !fixed) {
      // Nothing to validate against or generate from: leave it out.
      dropped.push(iso);
      continue;
    }
    assertSubset(plan.nationalNumberPattern(), `${iso} national number`);
    const t = { c: cc };
    if (np) t.p = np;
    if (npp && npp !== np) t.q = npp;
    if (plan.nationalPrefixTransformRule()) t.x = plan.nationalPrefixTransformRule();
    if (plan.IDDPrefix() && plan.IDDPrefix() !== '00') t.i = plan.IDDPrefix();
    if (plan.leadingDigits()) {
      assertSubset(plan.leadingDigits(), `${iso} leading digits`);
      t.d = plan.leadingDigits();
    }
    t.l = [...plan.possibleLengths()].sort((a, b) => a - b);
    t.n = plan.nationalNumberPattern();
    if (mobile) t.m = mobile;
    if (fixed) t.f = fixed;
    // Which territory of a shared calling code a number belongs to is decided,
    // in the calling code's order, by leading digits or else by any type
    // matching. Where a territory without leading digits comes before others,
    // its other types can claim a number first, so they are kept for it.
    const position = sharing.indexOf(iso);
    if (sharing.length > 1 && !t.d && position < sharing.length - 1) {
      const others = OTHER_TYPES.map((type) => typeEntry(plan, type, `${iso} ${type}`)).filter(Boolean);
      if (others.length > 0) t.o = others;
    }
    const mainPlan = new Metadata(metadataJson).selectNumberingPlan(main).numberingPlan;
    const rule = plan.nationalPrefixFormattingRule() || 0;
    const mainRule = mainPlan.nationalPrefixFormattingRule() || 0;
    if (rule && (iso === main || rule !== mainRule)) t.r = rule;
    const formats = formatsOf(plan, rule, iso);
    const mainFormats = formatsOf(mainPlan, rule, main);
    if (formats.length > 0 && (iso === main || JSON.stringify(formats) !== JSON.stringify(mainFormats))) t.F = formats;
    const example = mobileExamples[iso];
    if (example && (mobile ?? fixed)[1].includes(example.length)) t.g = example.length;
    territories[iso] = t;
  }

  const kept = new Set(Object.keys(territories));
  const codeTable = {};
  for (const cc of Object.keys(codes).sort((a, b) => Number(a) - Number(b))) {
    const list = metadata.getCountryCodesForCallingCode(cc);
    if (!list) continue; // non-geographic entities ("001")
    const present = list.filter((iso) => kept.has(iso));
    if (present.length > 0) codeTable[cc] = present;
  }
  for (const iso of kept) {
    if (mainOf(territories[iso].c) !== codeTable[territories[iso].c][0]) {
      throw new Error(`main territory of +${territories[iso].c} was dropped`);
    }
  }
  return { codeTable, territories, dropped };
}

function render({ codeTable, territories, dropped }) {
  const lines = [];
  lines.push(
    `// GENERATED by \`node web/tools/phone-data.mjs\` from libphonenumber-js ${PKG.version}`,
    '// (metadata.max.json; the package does not state which libphonenumber',
    '// metadata release it carries). DO NOT EDIT: change the generator and rerun it.',
    '//',
    "// Numbering-plan data derived from libphonenumber's metadata",
    '// (PhoneNumberMetadata.xml), Copyright (C) 2009 The Libphonenumber Authors',
    '// (Google), Apache License 2.0, as compiled by libphonenumber-js, Copyright',
    '// (c) 2016 @catamphetamine, MIT licence. Both notices and licence texts are',
    '// in phone-data.LICENSE.txt beside this file. The data was reduced and',
    '// re-encoded for js/phone.js; it is not the original file.',
    '//',
    '// CALLING_CODES: calling code -> ISO codes of its territories, the main',
    '// territory first, in the order a number is matched against them.',
    '// TERRITORIES: ISO code -> c calling code; p national (trunk) prefix;',
    '// q national prefix for parsing when it is not just p; x its transform rule;',
    "// i international call prefix when not 00; d leading digits (shared calling",
    '// codes); l possible national lengths; n national number pattern; m mobile',
    '// and f fixed-line [pattern, lengths] (no m: the fixed-line ranges hold the',
    '// mobile numbers too); o other types [pattern, lengths] that can claim a',
    "// number for this territory before the next one is tried; r national prefix",
    '// formatting rule; F formats [pattern, last leading-digits pattern or 0,',
    '// rule override or 0, international template or 0, national template or 0;',
    "// a template only where it is not the groups in order] (absent: the main",
    "// territory's); g length of libphonenumber's example mobile number.",
  );
  if (dropped.length > 0) lines.push(`// Left out (no mobile or fixed-line range): ${dropped.join(', ')}.`);
  lines.push('', `export const SOURCE = ${JSON.stringify({ package: 'libphonenumber-js', version: PKG.version })};`, '');
  lines.push('export const CALLING_CODES = {');
  for (const [cc, list] of Object.entries(codeTable).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    lines.push(`  ${JSON.stringify(cc)}: ${JSON.stringify(list)},`);
  }
  lines.push('};', '');
  lines.push('export const TERRITORIES = {');
  for (const iso of Object.keys(territories).sort()) {
    lines.push(`  ${iso}: ${JSON.stringify(territories[iso])},`);
  }
  lines.push('};', '');
  return lines.join('\n');
}

const text = render(build());
if (process.argv.includes('--check')) {
  let current = null;
  try {
    current = readFileSync(OUT, 'utf8');
  } catch {
    // reported below
  }
  if (current !== text) {
    console.error(
      `web/js/phone-data.js is ${current === null ? 'missing' : 'out of date'}: it differs from what libphonenumber-js ${PKG.version} gives.\n` +
        'Regenerate it with: npm ci --prefix web/tools && node web/tools/phone-data.mjs',
    );
    process.exit(1);
  }
  console.log(`web/js/phone-data.js is up to date (libphonenumber-js ${PKG.version}).`);
} else {
  writeFileSync(OUT, text);
  console.log(`wrote web/js/phone-data.js (${Buffer.byteLength(text)} bytes, libphonenumber-js ${PKG.version})`);
}
