//! The HTML of the administration page `/admin` (STD1-SRV-24): one pure
//! function from the numbers to one document, and its stylesheet.
//!
//! The page is served under the Content Security Policy
//! `default-src 'none'; style-src 'self'; img-src 'self' data:;
//! form-action 'self'`, so it holds no script, no `<style>` element, no
//! `style` attribute and no event handler: charts are inline SVG drawn
//! from geometry attributes and coloured by classes of `admin.css`, and
//! the range is chosen with a plain GET form.
//!
//! It shows only what STD1-SRV-24 allows: aggregate counters per UTC day
//! and per country (STD1-SRV-22) and live totals, never a room. Every
//! piece of text taken from the data is HTML-escaped even though it is a
//! number, a date, a fixed label or a validated country code, so that the
//! page stays safe if a caller ever passes something else.

use std::fmt;

use time::{Date, Duration};

use crate::telemetry::{Counter, DayCounts};

/// Everything the page shows.
pub struct Dashboard {
    /// The chosen range, inclusive; `days` has one entry per day from
    /// `from` to `to`, ascending, zero-filled.
    pub from: Date,
    pub to: Date,
    pub days: Vec<DayCounts>,
    /// Lifetime rooms created per country (ISO 3166-1 alpha-2, uppercase),
    /// largest first.
    pub countries: Vec<(String, u64)>,
    pub live: LiveTotals,
    /// False when the operator switched counting off; the page then says so.
    pub telemetry_enabled: bool,
}

/// The live state of this instance and the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveTotals {
    /// Open WebSocket connections on this instance.
    pub connections: u64,
    /// Open sessions on this instance.
    pub sessions: u64,
    /// Rooms in the store not past their lifetime.
    pub live_rooms: u64,
    /// Of those, rooms with both parties.
    pub paired_rooms: u64,
    /// Of those, rooms holding a message.
    pub rooms_with_message: u64,
}

/// The stylesheet served at `/admin/admin.css`; a file of its own because
/// the CSP allows styles only from this origin (STD1-SRV-24).
pub const STYLESHEET: &str = include_str!("admin.css");

/// The whole page (`<!doctype html>` ...).
pub fn page(dashboard: &Dashboard) -> String {
    Page(dashboard).to_string()
}

/// Width of a day chart's viewBox. Fixed, so that bar widths follow from
/// the number of days (1 to 366) and the chart stretches to its card.
const CHART_WIDTH: f64 = 600.0;
/// Height of the tallest bar of a day chart, in viewBox units.
const CHART_HEIGHT: f64 = 100.0;
/// Thickness of the baseline drawn under every day chart, so that a
/// series of zeros still shows an (empty) chart.
const BASELINE: f64 = 2.0;
/// The widest a day bar gets: a range of a few days would otherwise draw
/// slabs.
const MAX_BAR_WIDTH: f64 = 60.0;
/// The least height of a non-zero bar, so that a 1 next to a 10,000 is
/// still visible and never confused with a zero.
const MIN_BAR: f64 = 1.0;
/// How many countries the horizontal bar chart shows; the table lists all.
const COUNTRY_CHART_ROWS: usize = 20;

/// The page as a `Display`, so that its parts write straight into one
/// buffer and propagate `fmt::Result` instead of ignoring it.
struct Page<'a>(&'a Dashboard);

impl fmt::Display for Page<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        head(f)?;
        header(f, d)?;
        f.write_str("<main class=\"wrap\">\n")?;
        if !d.telemetry_enabled {
            notice(f)?;
        }
        live(f, &d.live)?;
        counters(f, d)?;
        countries(f, &d.countries)?;
        f.write_str("</main>\n")?;
        footer(f)?;
        f.write_str("</body>\n</html>\n")
    }
}

/// The document head: no script, the stylesheet by link (STD1-SRV-24),
/// `noindex` because the page is nobody's business but the operator's,
/// and an empty `data:` icon so that the browser does not ask for
/// `/favicon.ico`.
fn head(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(concat!(
        "<!doctype html>\n",
        "<html lang=\"en\">\n",
        "<head>\n",
        "<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"robots\" content=\"noindex\">\n",
        "<meta name=\"referrer\" content=\"no-referrer\">\n",
        "<title>sTELgano \u{2014} administration</title>\n",
        "<link rel=\"icon\" href=\"data:,\">\n",
        "<link rel=\"stylesheet\" href=\"/admin/admin.css\">\n",
        "</head>\n",
        "<body>\n",
    ))
}

/// The title, the range shown, the form that chooses another range and
/// quick links to the last 7, 30 and 90 days ending at the current end.
/// A GET form, because the CSP allows no script to do it otherwise.
fn header(f: &mut fmt::Formatter<'_>, d: &Dashboard) -> fmt::Result {
    let (from, to) = (iso_date(d.from), iso_date(d.to));
    let span = day_span(d.from, d.to);
    writeln!(f, "<header class=\"top\">\n<div class=\"wrap\">")?;
    writeln!(f, "<h1>sTELgano \u{2014} administration</h1>")?;
    writeln!(
        f,
        "<p class=\"range\">From <time datetime=\"{from}\">{from}</time> to \
         <time datetime=\"{to}\">{to}</time> \u{b7} {span} (UTC)</p>",
        from = escape(&from),
        to = escape(&to),
        span = escape(&plural(span, "day", "days")),
    )?;
    writeln!(
        f,
        "<form class=\"range-form\" action=\"/admin\" method=\"get\">\n\
         <div class=\"field\"><label for=\"from\">From</label>\
         <input type=\"date\" id=\"from\" name=\"from\" value=\"{from}\" required></div>\n\
         <div class=\"field\"><label for=\"to\">To</label>\
         <input type=\"date\" id=\"to\" name=\"to\" value=\"{to}\" required></div>\n\
         <button type=\"submit\">Show</button>\n</form>",
        from = escape(&from),
        to = escape(&to),
    )?;
    writeln!(f, "<nav class=\"quick\" aria-label=\"Quick ranges\">\n<ul>")?;
    for days in [7, 30, 90] {
        let start =
            d.to.checked_sub(Duration::days(days - 1))
                .unwrap_or(Date::MIN);
        let href = format!("/admin?from={}&to={to}", iso_date(start));
        let current = if start == d.from {
            " aria-current=\"true\""
        } else {
            ""
        };
        writeln!(
            f,
            "<li><a href=\"{href}\"{current}>Last {days} days</a></li>",
            href = escape(&href),
            days = escape(&days.to_string()),
        )?;
    }
    writeln!(f, "</ul>\n</nav>\n</div>\n</header>")
}

/// Said when the operator switched counting off: the counters then show
/// only what was stored before, which would otherwise read as "no use".
fn notice(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(
        f,
        "<div class=\"notice\">\n<p><strong>Counting is switched off on this server.</strong> \
         The counters below hold only what was stored while it was on; the live \
         totals are current.</p>\n</div>"
    )
}

/// The live totals (STD1-SRV-24: open connections, sessions, live rooms),
/// as cards of a definition list.
fn live(f: &mut fmt::Formatter<'_>, live: &LiveTotals) -> fmt::Result {
    let items = [
        ("Open connections", "on this instance", live.connections),
        ("Open sessions", "on this instance", live.sessions),
        ("Live rooms", "in the store", live.live_rooms),
        ("Paired rooms", "of the live rooms", live.paired_rooms),
        (
            "Rooms with a message",
            "of the live rooms",
            live.rooms_with_message,
        ),
    ];
    writeln!(
        f,
        "<section class=\"section\" aria-labelledby=\"live-heading\">\n\
         <h2 id=\"live-heading\">Live</h2>\n<dl class=\"live\">"
    )?;
    for (label, note, value) in items {
        writeln!(
            f,
            "<div class=\"card\"><dt>{label}</dt><dd class=\"figure\">{value}</dd>\
             <dd class=\"note\">{note}</dd></div>",
            label = escape(label),
            value = escape(&group(value)),
            note = escape(note),
        )?;
    }
    writeln!(f, "</dl>\n</section>")
}

/// One card per counter of `Counter::ALL`, the refusals under rate limits
/// (STD1-SRV-18) in a group of their own, then the same numbers as a
/// table for those who cannot read a chart.
fn counters(f: &mut fmt::Formatter<'_>, d: &Dashboard) -> fmt::Result {
    let (refusals, activity): (Vec<Counter>, Vec<Counter>) = Counter::ALL
        .into_iter()
        .partition(|c| matches!(c, Counter::RateLimited(_)));
    writeln!(
        f,
        "<section class=\"section\" aria-labelledby=\"counters-heading\">\n\
         <h2 id=\"counters-heading\">Counters</h2>"
    )?;
    counter_group(f, d, "Rooms and messages", &activity)?;
    counter_group(f, d, "Refusals under rate limits", &refusals)?;
    day_table(f, d)?;
    writeln!(f, "</section>")
}

/// A subheading and a grid of counter cards.
fn counter_group(
    f: &mut fmt::Formatter<'_>,
    d: &Dashboard,
    heading: &str,
    group: &[Counter],
) -> fmt::Result {
    writeln!(f, "<h3>{}</h3>\n<div class=\"grid\">", escape(heading))?;
    for counter in group {
        counter_card(f, d, *counter)?;
    }
    writeln!(f, "</div>")
}

/// A counter's card: its total over the range in large type, a bar per
/// day, the range's ends under the chart and its highest day.
fn counter_card(f: &mut fmt::Formatter<'_>, d: &Dashboard, counter: Counter) -> fmt::Result {
    let values = series(&d.days, counter);
    let summary = Summary::of(&d.days, &values);
    let peak = match summary.peak {
        Some((value, day)) => format!("Highest {} on {}", group(value), iso_date(day)),
        None => "Nothing counted in this range".to_owned(),
    };
    writeln!(
        f,
        "<div class=\"card counter\">\n<h4>{label}</h4>\n\
         <p class=\"total\"><span class=\"figure\">{total}</span> \
         <span class=\"unit\">in range</span></p>",
        label = escape(counter.label()),
        total = escape(&group(summary.total)),
    )?;
    day_chart(f, counter, d, &values)?;
    writeln!(
        f,
        "<p class=\"axis\"><span>{from}</span><span>{to}</span></p>\n\
         <p class=\"peak\">{peak}</p>\n</div>",
        from = escape(&iso_date(d.from)),
        to = escape(&iso_date(d.to)),
        peak = escape(&peak),
    )
}

/// The per-day values of one counter, in the order of `days`.
fn series(days: &[DayCounts], counter: Counter) -> Vec<u64> {
    days.iter().map(|day| day.get(counter)).collect()
}

/// What a chart's text alternative says about its series.
struct Summary {
    total: u64,
    /// The highest value and its first day; `None` when all are zero.
    peak: Option<(u64, Date)>,
}

impl Summary {
    /// Sums saturating (a total that large is already meaningless) and
    /// takes the earliest of equal highest days.
    fn of(days: &[DayCounts], values: &[u64]) -> Self {
        let total = values.iter().fold(0u64, |sum, v| sum.saturating_add(*v));
        let mut peak: Option<(u64, Date)> = None;
        for (day, value) in days.iter().zip(values) {
            if *value > 0 && peak.is_none_or(|(best, _)| *value > best) {
                peak = Some((*value, day.day));
            }
        }
        Self { total, peak }
    }
}

/// One vertical bar of a day chart, in viewBox units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bar {
    x: f64,
    width: f64,
    height: f64,
}

/// The bars of a day chart: one per value, each in a slot of equal width
/// across `CHART_WIDTH`, its height proportional to the series' highest
/// value (which gets the full `CHART_HEIGHT`). Zeros get no height, so a
/// series of zeros leaves only the baseline.
fn bar_geometry(values: &[u64]) -> Vec<Bar> {
    let Some(max) = values.iter().copied().max() else {
        return Vec::new();
    };
    let slot = CHART_WIDTH / values.len() as f64;
    // A gap between bars while they are wide enough to spare one.
    let gap = if slot >= 4.0 { slot * 0.2 } else { 0.0 };
    let width = (slot - gap).min(MAX_BAR_WIDTH);
    values
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            let height = if value == 0 {
                0.0
            } else {
                (value as f64 / max as f64 * CHART_HEIGHT).max(MIN_BAR)
            };
            Bar {
                x: i as f64 * slot + (slot - width) / 2.0,
                width,
                height,
            }
        })
        .collect()
}

/// A counter's SVG bar chart. `role="img"` with an `aria-label` and a
/// `<title>` gives it one accessible summary; each day is a group whose
/// `<title>` is its tooltip, with a transparent full-height slot so that
/// days of zero can be pointed at too.
fn day_chart(
    out: &mut impl fmt::Write,
    counter: Counter,
    d: &Dashboard,
    values: &[u64],
) -> fmt::Result {
    let summary = Summary::of(&d.days, values);
    let mut label = format!(
        "{} per day from {} to {}; total {}",
        counter.label(),
        iso_date(d.from),
        iso_date(d.to),
        group(summary.total),
    );
    match summary.peak {
        Some((value, day)) => {
            label.push_str(&format!("; highest {} on {}", group(value), iso_date(day)))
        }
        None => label.push_str("; nothing counted"),
    }
    let label = escape(&label);
    write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{label}\"><title>{label}</title>\n\
         <rect class=\"baseline\" x=\"0\" y=\"{top}\" width=\"{w}\" height=\"{base}\"/>\n",
        w = num(CHART_WIDTH),
        h = num(CHART_HEIGHT + BASELINE),
        top = num(CHART_HEIGHT),
        base = num(BASELINE),
    )?;
    let slot = CHART_WIDTH / values.len().max(1) as f64;
    for ((day, value), bar) in d.days.iter().zip(values).zip(bar_geometry(values)) {
        writeln!(
            out,
            "<g class=\"day\"><title>{date}: {value}</title>\
             <rect class=\"slot\" x=\"{sx}\" y=\"0\" width=\"{sw}\" height=\"{h}\"/>\
             <rect class=\"bar\" x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\"/></g>",
            date = escape(&iso_date(day.day)),
            value = escape(&group(*value)),
            sx = num(bar.x + bar.width / 2.0 - slot / 2.0),
            sw = num(slot),
            h = num(CHART_HEIGHT),
            x = num(bar.x),
            y = num(CHART_HEIGHT - bar.height),
            bw = num(bar.width),
            bh = num(bar.height),
        )?;
    }
    writeln!(out, "</svg>")
}

/// Every counter's numbers per day as a real table (WCAG 1.1.1: the
/// charts' text alternative in full), folded away by default because a
/// year of twelve counters is long. Its scrolling box is focusable so
/// that a keyboard can scroll it.
fn day_table(f: &mut fmt::Formatter<'_>, d: &Dashboard) -> fmt::Result {
    writeln!(
        f,
        "<details class=\"card numbers\">\n<summary>Numbers per day</summary>\n\
         <div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Numbers per day\">\n\
         <table>\n<caption>Counters per UTC day from {from} to {to}</caption>\n<thead><tr>\
         <th scope=\"col\">Day</th>",
        from = escape(&iso_date(d.from)),
        to = escape(&iso_date(d.to)),
    )?;
    for counter in Counter::ALL {
        write!(f, "<th scope=\"col\">{}</th>", escape(counter.label()))?;
    }
    writeln!(f, "</tr></thead>\n<tbody>")?;
    for day in &d.days {
        write!(
            f,
            "<tr><th scope=\"row\">{}</th>",
            escape(&iso_date(day.day))
        )?;
        for counter in Counter::ALL {
            write!(f, "<td>{}</td>", escape(&group(day.get(counter))))?;
        }
        writeln!(f, "</tr>")?;
    }
    write!(f, "</tbody>\n<tfoot><tr><th scope=\"row\">Total</th>")?;
    for counter in Counter::ALL {
        let total = Summary::of(&d.days, &series(&d.days, counter)).total;
        write!(f, "<td>{}</td>", escape(&group(total)))?;
    }
    writeln!(f, "</tr></tfoot>\n</table>\n</div>\n</details>")
}

/// Rooms created per country, lifetime totals only (STD1-SRV-22: a
/// country is never kept per day, so that it cannot be tied to a room by
/// its date): a chart of the largest and a table of all.
fn countries(f: &mut fmt::Formatter<'_>, countries: &[(String, u64)]) -> fmt::Result {
    writeln!(
        f,
        "<section class=\"section\" aria-labelledby=\"countries-heading\">\n\
         <h2 id=\"countries-heading\">Countries (lifetime)</h2>\n\
         <p class=\"lead\">Rooms created per country code chosen at creation. These are \
         lifetime totals only, by design: a country is never counted per day, so that \
         it cannot be tied to a room by its date (STD1-SRV-22).</p>"
    )?;
    if countries.is_empty() {
        return writeln!(
            f,
            "<p class=\"empty\">No country has been reported yet.</p>\n</section>"
        );
    }
    writeln!(f, "<div class=\"countries\">\n<div class=\"card\">")?;
    country_chart(f, countries)?;
    writeln!(
        f,
        "</div>\n<div class=\"card\">\n\
         <div class=\"scroll tall\" tabindex=\"0\" role=\"region\" aria-label=\"Rooms created per country\">\n\
         <table>\n<caption>Rooms created per country, lifetime</caption>\n\
         <thead><tr><th scope=\"col\">Country</th><th scope=\"col\">Rooms created</th></tr></thead>\n<tbody>"
    )?;
    for (code, rooms) in countries {
        writeln!(
            f,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(code),
            escape(&group(*rooms))
        )?;
    }
    writeln!(f, "</tbody>\n</table>\n</div>\n</div>\n</div>\n</section>")
}

/// Horizontal bars of the largest `COUNTRY_CHART_ROWS` countries, with
/// code and value as SVG text. Unlike the day charts it keeps its aspect
/// ratio, so the text is not stretched.
fn country_chart(out: &mut impl fmt::Write, countries: &[(String, u64)]) -> fmt::Result {
    const WIDTH: f64 = 600.0;
    const ROW: f64 = 26.0;
    const BAR: f64 = 18.0;
    const LABEL: f64 = 44.0;
    const VALUE: f64 = 96.0;
    let shown = &countries[..countries.len().min(COUNTRY_CHART_ROWS)];
    let max = shown.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let span = WIDTH - LABEL - VALUE;
    let mut label = format!(
        "Rooms created per country, lifetime: the {} largest of {}",
        shown.len(),
        countries.len()
    );
    if let Some((code, n)) = shown.first() {
        label.push_str(&format!("; largest {code} with {}", group(*n)));
    }
    let label = escape(&label);
    writeln!(
        out,
        "<svg class=\"hbars\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title>",
        w = num(WIDTH),
        h = num(ROW * shown.len() as f64),
    )?;
    for (i, (code, n)) in shown.iter().enumerate() {
        let top = i as f64 * ROW;
        let width = if *n == 0 || max == 0 {
            0.0
        } else {
            (*n as f64 / max as f64 * span).max(MIN_BAR)
        };
        writeln!(
            out,
            "<g class=\"row\"><title>{code}: {value}</title>\
             <text class=\"code\" x=\"0\" y=\"{ty}\">{code}</text>\
             <rect class=\"bar\" x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\"/>\
             <text class=\"value\" x=\"{vx}\" y=\"{ty}\">{value}</text></g>",
            code = escape(code),
            value = escape(&group(*n)),
            ty = num(top + ROW / 2.0 + 5.0),
            x = num(LABEL),
            y = num(top + (ROW - BAR) / 2.0),
            bw = num(width),
            bh = num(BAR),
            vx = num(LABEL + width + 6.0),
        )?;
    }
    writeln!(out, "</svg>")
}

/// The closing sentence: what the numbers are and what they are not.
fn footer(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(
        f,
        "<footer class=\"wrap foot\">\n<p>Counts are aggregates per UTC day; nothing here \
         identifies a room or a person. Connections and sessions are those of this \
         instance; rooms are those of the store.</p>\n</footer>"
    )
}

/// Escapes the five characters that matter in HTML text and in quoted
/// attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A count with thousands separators (12,345): counts of a busy server
/// are hard to read as bare digits.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A date as `YYYY-MM-DD`, the only form `<input type="date">` accepts
/// and the one the query string carries.
fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The number of days from `from` to `to`, both included.
fn day_span(from: Date, to: Date) -> u64 {
    u64::try_from((to - from).whole_days())
        .unwrap_or(0)
        .saturating_add(1)
}

/// "1 day", "28 days".
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group(n), if n == 1 { one } else { many })
}

/// An SVG coordinate with at most two decimals and no trailing zeros.
/// Its output is only digits and a dot (non-finite values become 0), so
/// it needs no escaping.
fn num(value: f64) -> String {
    let value = if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    };
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    fn date(year: i32, month: Month, day: u8) -> Date {
        Date::from_calendar_date(year, month, day).unwrap()
    }

    /// A dashboard of `n` days from 2026-11-01, with `fill` giving each
    /// day's counts.
    fn dashboard(n: usize, fill: impl Fn(usize, &mut DayCounts)) -> Dashboard {
        let from = date(2026, Month::November, 1);
        let days: Vec<DayCounts> = (0..n)
            .map(|i| {
                let mut day = DayCounts::zero(from + Duration::days(i as i64));
                fill(i, &mut day);
                day
            })
            .collect();
        Dashboard {
            from,
            to: days.last().unwrap().day,
            days,
            countries: vec![("FR".to_owned(), 1234), ("KE".to_owned(), 56)],
            live: LiveTotals {
                connections: 12,
                sessions: 10,
                live_rooms: 4321,
                paired_rooms: 3000,
                rooms_with_message: 2500,
            },
            telemetry_enabled: true,
        }
    }

    fn set(day: &mut DayCounts, counter: Counter, value: u64) {
        day.counts[counter.index()] = value;
    }

    /// One counter's day chart on its own.
    fn chart_of(counter: Counter, d: &Dashboard, values: &[u64]) -> String {
        let mut svg = String::new();
        day_chart(&mut svg, counter, d, values).unwrap();
        svg
    }

    /// The `height` attributes of the `<rect class="bar"` elements of `svg`.
    fn bar_heights(svg: &str) -> Vec<f64> {
        svg.split("<rect class=\"bar\"")
            .skip(1)
            .map(|rest| {
                let start = rest.find("height=\"").unwrap() + "height=\"".len();
                let end = start + rest[start..].find('"').unwrap();
                rest[start..end].parse().unwrap()
            })
            .collect()
    }

    /// Whether `html` has an attribute named `on...` (an event handler).
    fn has_event_handler(html: &str) -> bool {
        let bytes = html.as_bytes();
        bytes.windows(3).enumerate().any(|(i, w)| {
            w[0].is_ascii_whitespace()
                && w[1..].eq_ignore_ascii_case(b"on")
                && bytes[i + 3..]
                    .iter()
                    .position(|b| !b.is_ascii_alphabetic())
                    .is_some_and(|len| len > 0 && bytes[i + 3 + len] == b'=')
        })
    }

    #[test]
    fn page_needs_nothing_the_csp_forbids() {
        // STD1-SRV-24: served under the CSP of STD1-SRV-12, so no script
        // of any kind and no inline style, only the linked stylesheet.
        let html = page(&dashboard(28, |i, day| {
            set(day, Counter::MessagesSent, i as u64)
        }));
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"));
        assert!(!lower.contains("<style"));
        assert!(!lower.contains(" style="));
        assert!(!lower.contains("javascript:"));
        assert!(!has_event_handler(&html));
        assert!(has_event_handler("<a onclick=\"x\">"));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/admin/admin.css\">"));
    }

    #[test]
    fn page_is_a_complete_document() {
        let html = page(&dashboard(1, |_, _| {}));
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(html.contains("<title>sTELgano \u{2014} administration</title>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<h1>").count(), 1);
    }

    #[test]
    fn every_counter_has_a_card_and_refusals_are_grouped() {
        let html = page(&dashboard(7, |_, _| {}));
        for counter in Counter::ALL {
            let heading = format!("<h4>{}</h4>", escape(counter.label()));
            assert_eq!(html.matches(&heading).count(), 1, "{heading}");
        }
        let group_heading = html.find("<h3>Refusals under rate limits</h3>").unwrap();
        for counter in Counter::ALL {
            let at = html.find(&format!("<h4>{}</h4>", counter.label())).unwrap();
            assert_eq!(
                at > group_heading,
                matches!(counter, Counter::RateLimited(_)),
                "{counter:?}"
            );
        }
        // One chart per counter, each summarised for assistive technology.
        assert_eq!(
            html.matches("<svg class=\"chart\"").count(),
            Counter::ALL.len()
        );
        assert!(html.contains(
            "aria-label=\"Messages sent per day from 2026-11-01 to 2026-11-07; total 0; nothing counted\""
        ));
    }

    #[test]
    fn totals_are_shown_with_thousands_separators() {
        // 12,000 on the first day and 345 on the last: a total of 12,345.
        let html = page(&dashboard(10, |i, day| {
            let value = match i {
                0 => 12_000,
                9 => 345,
                _ => 0,
            };
            set(day, Counter::MessagesSent, value);
        }));
        assert!(html.contains("<span class=\"figure\">12,345</span>"));
        assert!(html.contains(
            "aria-label=\"Messages sent per day from 2026-11-01 to 2026-11-10; \
             total 12,345; highest 12,000 on 2026-11-01\""
        ));
        assert!(html.contains("<title>2026-11-10: 345</title>"));
        assert!(html.contains("Highest 12,000 on 2026-11-01"));
        // Live totals too.
        assert!(html.contains("<dd class=\"figure\">4,321</dd>"));
    }

    #[test]
    fn groups_digits_by_three() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(12_345), "12,345");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn a_chart_has_one_bar_per_day_from_one_to_366_days() {
        for n in [1, 2, 31, 366] {
            let d = dashboard(n, |i, day| set(day, Counter::RoomsCreated, i as u64 % 7));
            let values = series(&d.days, Counter::RoomsCreated);
            let svg = chart_of(Counter::RoomsCreated, &d, &values);
            assert_eq!(svg.matches("<rect class=\"bar\"").count(), n);
            assert_eq!(svg.matches("<g class=\"day\"><title>").count(), n);
            assert_eq!(
                page(&d).matches("<rect class=\"bar\"").count(),
                n * Counter::ALL.len() + 2
            );
            // Every bar inside the viewBox, none overlapping the next.
            let bars = bar_geometry(&values);
            for pair in bars.windows(2) {
                assert!(pair[0].x + pair[0].width <= pair[1].x + 1e-9);
            }
            for bar in &bars {
                assert!(bar.x >= 0.0 && bar.width > 0.0);
                assert!(bar.x + bar.width <= CHART_WIDTH + 1e-9);
            }
        }
    }

    #[test]
    fn the_highest_bar_fills_the_chart_and_zeros_draw_nothing() {
        let d = dashboard(5, |i, day| set(day, Counter::Lockouts, [3, 0, 10, 5, 1][i]));
        let svg = chart_of(Counter::Lockouts, &d, &series(&d.days, Counter::Lockouts));
        let heights = bar_heights(&svg);
        assert_eq!(heights, vec![30.0, 0.0, CHART_HEIGHT, 50.0, 10.0]);
        assert!(svg.contains("y=\"0\" width=\"60\" height=\"100\"/></g>"));

        // A series of zeros keeps its baseline and draws no bar of
        // positive height.
        let svg = chart_of(Counter::Lockouts, &d, &[0; 5]);
        assert!(svg.contains("<rect class=\"baseline\""));
        assert_eq!(bar_heights(&svg), vec![0.0; 5]);
    }

    #[test]
    fn a_small_value_stays_visible_next_to_a_large_one() {
        let bars = bar_geometry(&[1, 1_000_000]);
        assert_eq!(bars[0].height, MIN_BAR);
        assert_eq!(bars[1].height, CHART_HEIGHT);
    }

    #[test]
    fn escapes_interpolated_text() {
        assert_eq!(escape("<b>&\"'x"), "&lt;b&gt;&amp;&quot;&#39;x");
        let mut d = dashboard(3, |_, _| {});
        d.countries = vec![("<b>".to_owned(), 7)];
        let html = page(&d);
        assert!(!html.contains("<b>"));
        assert!(html.contains("<th scope=\"row\">&lt;b&gt;</th>"));
        assert!(html.contains("<title>&lt;b&gt;: 7</title>"));
    }

    #[test]
    fn the_notice_appears_only_when_counting_is_off() {
        let mut d = dashboard(3, |_, _| {});
        assert!(!page(&d).contains("Counting is switched off"));
        d.telemetry_enabled = false;
        assert!(page(&d).contains("Counting is switched off on this server."));
    }

    #[test]
    fn the_form_carries_the_current_range() {
        let html = page(&dashboard(30, |_, _| {}));
        assert!(html.contains("<form class=\"range-form\" action=\"/admin\" method=\"get\">"));
        assert!(html.contains("<label for=\"from\">From</label>"));
        assert!(html.contains("name=\"from\" value=\"2026-11-01\""));
        assert!(html.contains("<label for=\"to\">To</label>"));
        assert!(html.contains("name=\"to\" value=\"2026-11-30\""));
        // Quick ranges end at the current end; the shown one is marked.
        assert!(html.contains("href=\"/admin?from=2026-11-24&amp;to=2026-11-30\">Last 7 days"));
        assert!(html.contains(
            "href=\"/admin?from=2026-11-01&amp;to=2026-11-30\" aria-current=\"true\">Last 30 days"
        ));
        assert!(html.contains("href=\"/admin?from=2026-09-02&amp;to=2026-11-30\">Last 90 days"));
        assert!(html.contains("30 days (UTC)"));
    }

    #[test]
    fn the_table_has_a_row_per_day_and_headers_with_scope() {
        let html = page(&dashboard(4, |i, day| {
            set(day, Counter::RoomsPaired, 1000 * i as u64)
        }));
        assert!(
            html.contains("<caption>Counters per UTC day from 2026-11-01 to 2026-11-04</caption>")
        );
        assert_eq!(
            html.matches("<th scope=\"col\">").count(),
            1 + Counter::ALL.len() + 2
        );
        for day in ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"] {
            assert!(html.contains(&format!("<tr><th scope=\"row\">{day}</th>")));
        }
        // The totals row: rooms paired is the second counter.
        assert!(html.contains("<tfoot><tr><th scope=\"row\">Total</th><td>0</td><td>6,000</td>"));
    }

    #[test]
    fn countries_show_lifetime_totals_or_say_there_are_none() {
        // STD1-SRV-22: lifetime totals only.
        let mut d = dashboard(3, |_, _| {});
        let html = page(&d);
        assert!(html.contains("<tr><th scope=\"row\">FR</th><td>1,234</td></tr>"));
        assert!(html.contains("lifetime totals only, by design"));
        assert!(html.contains("<svg class=\"hbars\""));
        assert!(!html.contains("No country has been reported"));

        d.countries.clear();
        let html = page(&d);
        assert!(html.contains("No country has been reported yet."));
        assert!(!html.contains("<svg class=\"hbars\""));
    }

    #[test]
    fn the_country_chart_shows_at_most_twenty_rows() {
        let countries: Vec<(String, u64)> =
            (0..30u64).map(|i| (format!("C{i}"), 100 - i)).collect();
        let mut svg = String::new();
        country_chart(&mut svg, &countries).unwrap();
        assert_eq!(
            svg.matches("<rect class=\"bar\"").count(),
            COUNTRY_CHART_ROWS
        );
        assert!(svg.contains("the 20 largest of 30; largest C0 with 100"));
    }

    #[test]
    fn coordinates_are_short_and_plain() {
        assert_eq!(num(100.0), "100");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.639_344), "1.64");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(iso_date(date(2026, Month::March, 7)), "2026-03-07");
        assert_eq!(
            day_span(
                date(2026, Month::January, 1),
                date(2026, Month::December, 31)
            ),
            365
        );
    }

    #[test]
    fn the_footer_says_what_the_numbers_are_not() {
        let html = page(&dashboard(2, |_, _| {}));
        assert!(html.contains(
            "Counts are aggregates per UTC day; nothing here identifies a room or a person."
        ));
    }
}
