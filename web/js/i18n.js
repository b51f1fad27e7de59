// The client's languages (STD1-CLI-32): one table of texts per language,
// chosen from the browser's preferences, switchable without reloading and
// never stored (a stored language would be a trace of use, STD1-CLI-4).
//
// Elements carry the key of their text in `data-t` (and, for texts set
// while the page runs, its parameters in `data-t-params`), so a switch of
// language re-renders every text on the page, the ones set by the flows
// included, from the same table.

import en from './texts/en.js';
import es from './texts/es.js';
import ar from './texts/ar.js';

/** The languages offered, each named in itself. */
export const LANGUAGES = [
  { code: 'en', name: 'English', dir: 'ltr', table: en },
  { code: 'es', name: 'Español', dir: 'ltr', table: es },
  { code: 'ar', name: 'العربية', dir: 'rtl', table: ar },
];

let current = LANGUAGES[0];
let plurals = new Intl.PluralRules(current.code);
const listeners = [];

/** The language the browser prefers among ours, English otherwise. */
export function preferredLanguage() {
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.some((l) => l.code === base)) return base;
  }
  return 'en';
}

export function language() {
  return current.code;
}

export function direction() {
  return current.dir;
}

/** Called after every change of language. */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

/** Numbers in the current language's digits. */
export function formatNumber(n, options) {
  return new Intl.NumberFormat(current.code, options).format(n);
}

/** A date and time, in the user's time zone and the current language. */
export function formatDateTime(date, options = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }) {
  return new Intl.DateTimeFormat(current.code, options).format(date);
}

export function formatTime(date) {
  return new Intl.DateTimeFormat(current.code, { hour: '2-digit', minute: '2-digit' }).format(date);
}

/** A country's name in the current language (Intl, no table of ours). */
export function countryName(iso) {
  try {
    return new Intl.DisplayNames([current.code], { type: 'region' }).of(iso) || iso;
  } catch {
    return iso;
  }
}

/**
 * The text for `key`, with `{name}` replaced by `params.name`; a value
 * with plural forms picks the form for `params.count`. Numbers are
 * written in the language's digits. A missing key shows the English text,
 * then the key itself, so a gap in a table never blanks a screen.
 */
export function t(key, params = {}) {
  let value = current.table[key];
  if (value === undefined) value = en[key];
  if (value === undefined) return key;
  if (typeof value === 'object') {
    const form = plurals.select(Number(params.count ?? 0));
    value = value[form] ?? value.other;
  }
  return value.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const v = params[name];
    return typeof v === 'number' ? formatNumber(v) : String(v);
  });
}

/**
 * Sets an element's text by key (kept on the element, so that a change of
 * language re-renders it), or empties it when `key` is null.
 */
export function setText(element, key, params) {
  if (!element) return;
  if (key === null || key === undefined || key === '') {
    delete element.dataset.t;
    delete element.dataset.tParams;
    element.textContent = '';
    return;
  }
  element.dataset.t = key;
  if (params && Object.keys(params).length) element.dataset.tParams = JSON.stringify(params);
  else delete element.dataset.tParams;
  element.textContent = t(key, params);
}

/** Renders every keyed text under `root`. */
export function applyTexts(root = document) {
  for (const element of root.querySelectorAll('[data-t]')) {
    let params = {};
    if (element.dataset.tParams) {
      try {
        params = JSON.parse(element.dataset.tParams);
      } catch {
        params = {};
      }
    }
    element.textContent = t(element.dataset.t, params);
  }
}

/**
 * Switches the whole page to `code`: texts, `lang` and `dir` (Arabic
 * mirrors the layout, STD1-CLI-31), then tells the listeners (which
 * re-render what they compute, such as country names and times).
 */
export function setLanguage(code) {
  current = LANGUAGES.find((l) => l.code === code) || LANGUAGES[0];
  plurals = new Intl.PluralRules(current.code);
  document.documentElement.lang = current.code;
  document.documentElement.dir = current.dir;
  applyTexts(document);
  for (const listener of listeners) listener(current.code);
}
