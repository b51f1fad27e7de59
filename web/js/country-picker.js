// The country of a new number (STD1-CLI-13, STD1-CLI-25): every territory
// of the numbering-plan data, named in the page's language by the
// browser's own Intl (no table of names of ours), sorted in that
// language, preselected from the browser's locale, and narrowed by a
// search field that matches names, ISO codes and calling codes.

import { callingCode, countryCodes } from './phone.js';
import { countryName, language, t } from './i18n.js';

/** Lower case without accents, for matching what was typed. */
function fold(text) {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The region the browser's locale implies: its own region subtag, else
 * the likely region of its language (Intl.Locale#maximize), if we have a
 * plan for it.
 */
export function localeCountry() {
  const known = new Set(countryCodes());
  const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en-US'];
  for (const tag of tags) {
    try {
      const locale = new Intl.Locale(tag);
      const region = locale.region || locale.maximize().region;
      if (region && known.has(region)) return region;
    } catch {
      // An unparsable tag: try the next.
    }
  }
  return 'US';
}

/**
 * Wires `search` (an input) and `select`. `onChange(iso)` is called when
 * the user picks another country, by the list or by narrowing the search
 * to one that excludes the current choice.
 */
export function createCountryPicker({ search, select, onChange }) {
  let chosen = localeCountry();
  let entries = [];

  const build = () => {
    const collator = new Intl.Collator(language());
    entries = countryCodes()
      .map((iso) => {
        const name = countryName(iso);
        const code = callingCode(iso);
        return { iso, name, code, key: `${fold(name)} ${iso.toLowerCase()} +${code}` };
      })
      .sort((a, b) => collator.compare(a.name, b.name));
  };

  const render = () => {
    const query = fold(search.value.trim()).replace(/^00/, '+');
    const shown = query ? entries.filter((e) => e.key.includes(query) || (`+${e.code}`).startsWith(query)) : entries;
    select.replaceChildren(
      ...shown.map((e) => {
        const option = document.createElement('option');
        option.value = e.iso;
        option.textContent = t('new.country-option', { name: e.name, code: e.code });
        return option;
      }),
    );
    if (shown.some((e) => e.iso === chosen)) {
      select.value = chosen;
    } else if (shown.length > 0) {
      chosen = shown[0].iso;
      select.value = chosen;
      onChange(chosen);
    }
  };

  search.addEventListener('input', render);
  select.addEventListener('change', () => {
    chosen = select.value;
    onChange(chosen);
  });
  build();
  render();

  return {
    value: () => chosen,
    /** Re-reads names in the current language (on a language switch). */
    relabel() {
      build();
      render();
    },
  };
}
