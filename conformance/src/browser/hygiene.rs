//! Forensic hygiene, looked at from inside the page: what someone with the
//! unlocked phone could find in the browser afterwards.

use fantoccini::Client;
use serde_json::Value;

/// The requirements [`page_state`] and [`field_attributes`] check.
pub const REQUIREMENTS: [&str; 6] = [
    "STD1-CLI-4",
    "STD1-CLI-5",
    "STD1-CLI-7",
    "STD1-CLI-8",
    "STD1-SEC-3",
    "STD1-SEC-4",
];

/// Storage, cookies, service workers, the address and the title
/// (STD1-CLI-4, STD1-CLI-5, STD1-CLI-8). Each problem in one line.
const PAGE_STATE: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const problems = [];
  if (sessionStorage.length) problems.push('sessionStorage holds ' + sessionStorage.length + ' items');
  if (localStorage.length) problems.push('localStorage holds ' + localStorage.length + ' items');
  if (document.cookie) problems.push('the page has cookies');
  if (location.pathname !== '/' || location.search || location.hash) problems.push('the address is ' + location.href);
  if (document.title !== 'sTELgano') problems.push('the title is ' + JSON.stringify(document.title));
  if (navigator.serviceWorker) {
    const registrations = await navigator.serviceWorker.getRegistrations();
    if (registrations.length) problems.push('a service worker is registered');
  }
  if (document.querySelector('link[rel=manifest]')) problems.push('the page links a manifest');
  if (self.caches) {
    const keys = await caches.keys();
    if (keys.length) problems.push('Cache Storage holds ' + keys.length + ' caches');
  }
  if (typeof indexedDB.databases === 'function') {
    const dbs = await indexedDB.databases();
    if (dbs.length) problems.push('IndexedDB holds ' + dbs.length + ' databases');
  }
  done(problems);
})().catch((e) => done(['the check failed: ' + e]));
"#;

/// The entry screen as someone who picks up the phone sees it: exactly
/// two fields, both empty, and nothing else to fill in (STD1-SEC-3).
const ENTRY: &str = r#"
const problems = [];
if (document.body.dataset.screen !== 'entry') problems.push('the page starts on ' + document.body.dataset.screen);
// The language selector in the page's footer holds no state of a room (STD1-CLI-32).
const shown = [...document.querySelectorAll('input, textarea, select')].filter((e) => e.offsetParent !== null && e.type !== 'hidden' && e.id !== 'language');
const ids = shown.map((e) => e.id).sort().join(',');
if (ids !== 'entry-number,entry-pin') problems.push('the entry screen shows the fields ' + JSON.stringify(ids));
for (const e of shown) if (e.value) problems.push('#' + e.id + ' is pre-filled');
return problems;
"#;

/// The problems of a freshly loaded entry screen.
pub async fn entry_screen(client: &Client) -> Vec<String> {
    problems(client.execute(ENTRY, vec![]).await)
}

/// The state problems of the page now.
pub async fn page_state(client: &Client) -> Vec<String> {
    problems(client.execute_async(PAGE_STATE, vec![]).await)
}

/// A script's list of problems, or why there is none to read.
fn problems(answer: Result<Value, fantoccini::error::CmdError>) -> Vec<String> {
    match answer {
        Ok(Value::Array(problems)) => problems
            .iter()
            .map(|p| p.as_str().unwrap_or("?").to_owned())
            .collect(),
        Ok(other) => vec![format!("unexpected answer {other}")],
        Err(e) => vec![e.to_string()],
    }
}

/// Fields that hold a secret: not password fields, nothing for password
/// managers or keyboards to learn, not translated (STD1-CLI-7).
const FIELDS: &str = r#"
const problems = [];
const expect = (id, name, want) => {
  const e = document.getElementById(id);
  if (!e) { problems.push('#' + id + ' is missing'); return; }
  const got = e.getAttribute(name);
  if (got !== want) problems.push('#' + id + ' has ' + name + '=' + JSON.stringify(got) + ', not ' + JSON.stringify(want));
};
const fields = { 'entry-number': 'off', 'entry-pin': 'off', 'new-number': 'off', 'new-pin': 'off', 'new-pin-confirm': 'off', 'pair-number': 'off', 'pair-pin': 'off', 'pair-pin-confirm': 'off', 'chat-reopen-pin': 'off', 'lock-pin': 'off', 'pair-code': 'characters' };
for (const [id, capitalize] of Object.entries(fields)) {
  const e = document.getElementById(id);
  if (e && e.type === 'password') problems.push('#' + id + ' is a password field');
  expect(id, 'autocomplete', 'off');
  expect(id, 'autocorrect', 'off');
  expect(id, 'autocapitalize', capitalize);
  expect(id, 'spellcheck', 'false');
  // `translate` is inherited, so the property says what applies.
  if (e && e.translate !== false) problems.push('#' + id + ' may be translated');
}
for (const id of ['entry-number', 'new-number', 'pair-number']) expect(id, 'inputmode', 'tel');
return problems;
"#;

/// The attribute problems of the client's secret fields.
pub async fn field_attributes(client: &Client) -> Vec<String> {
    problems(client.execute(FIELDS, vec![]).await)
}
