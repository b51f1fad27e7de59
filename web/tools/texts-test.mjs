// Checks the client's text tables (web/js/texts/*.js, STD1-CLI-32): every
// language has exactly the keys of English; each text keeps English's
// placeholders; plural texts have every form Intl.PluralRules uses for the
// language (Arabic's zero, one and two forms may say the number in words);
// every key the page or the scripts name exists. Exits non-zero on any
// problem; `node web/tools/texts-test.mjs`.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = async (lang) => (await import(join(web, 'js', 'texts', `${lang}.js`))).default;
const en = await load('en');
const problems = [];
const placeholders = (text) => (text.match(/\{(\w+)\}/g) || []).sort();

for (const lang of ['es', 'ar']) {
  const table = await load(lang);
  const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.slice().sort();
  for (const key of Object.keys(en)) if (!(key in table)) problems.push(`${lang}: ${key} missing`);
  for (const key of Object.keys(table)) if (!(key in en)) problems.push(`${lang}: ${key} is not an English key`);
  for (const [key, english] of Object.entries(en)) {
    const text = table[key];
    if (text === undefined) continue;
    if (typeof english !== typeof text) {
      problems.push(`${lang}: ${key} is ${typeof text}, English ${typeof english}`);
    } else if (typeof english === 'string') {
      if (placeholders(english).join() !== placeholders(text).join()) problems.push(`${lang}: ${key} placeholders ${placeholders(text)} for ${placeholders(english)}`);
      if (!text.trim()) problems.push(`${lang}: ${key} is empty`);
    } else {
      const forms = Object.keys(text).sort();
      if (forms.join() !== categories.join()) problems.push(`${lang}: ${key} has forms ${forms}, the language uses ${categories}`);
      const want = placeholders(english.other);
      for (const [form, value] of Object.entries(text)) {
        let expected = want;
        if (lang === 'ar' && ['zero', 'one', 'two'].includes(form) && !value.includes('{count}')) {
          expected = want.filter((p) => p !== '{count}');
        }
        if (placeholders(value).join() !== expected.join()) problems.push(`${lang}: ${key}.${form} placeholders ${placeholders(value)}`);
      }
    }
  }
}

// Keys named by the page (data-t="…") and by the scripts ('area.name' in quotes).
const named = new Set();
for (const match of readFileSync(join(web, 'index.html'), 'utf8').matchAll(/data-t="([^"]+)"/g)) named.add(match[1]);
for (const file of readdirSync(join(web, 'js'))) {
  if (!file.endsWith('.js') || file.startsWith('phone')) continue;
  const source = readFileSync(join(web, 'js', file), 'utf8');
  for (const match of source.matchAll(/'((?:about|action|chat|code|deriving|duration|entry|error|expired|field|language|lifetime|locked|new|pair|share)\.[a-z-]+)'/g)) named.add(match[1]);
}
for (const key of named) if (!(key in en)) problems.push(`the key ${key} is used but not in en.js`);

for (const problem of problems) console.log(problem);
console.log(`texts: ${Object.keys(en).length} keys in 3 languages, ${named.size} named by the page and scripts, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
