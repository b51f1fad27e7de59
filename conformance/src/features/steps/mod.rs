//! Step definitions, registered by hand rather than through cucumber's
//! attribute macros: those collect steps at link time, which a library's
//! unreferenced code may not survive; a plain list cannot lose a step.
//!
//! A step is an `async fn(&mut FeatureWorld, Args) -> Result<(), StepFailure>`;
//! a failure becomes a panic carrying its text, which is how cucumber
//! learns that a step failed (its runner catches it and keeps the panic
//! output off the console).

mod access;
mod database;
mod lifecycle;
mod messages;
mod operator_log;
mod reopen;
mod surface;

use cucumber::codegen::{LocalBoxFuture, Regex};
use cucumber::step::{Collection, Context};

use super::world::{FeatureWorld, StepFailure};

/// The captured groups of a step's text, from the first.
pub struct Args(Vec<String>);

impl Args {
    fn new(context: Context) -> Self {
        // `matches[0]` is the whole text.
        Self(
            context
                .matches
                .into_iter()
                .skip(1)
                .map(|(_, m)| m)
                .collect(),
        )
    }

    /// Capture `i`, counted from 0.
    pub fn get(&self, i: usize) -> Result<&str, StepFailure> {
        self.0
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| StepFailure::Setup(format!("the step has no capture {i}")))
    }

    /// Capture `i` as a number.
    pub fn number(&self, i: usize) -> Result<u64, StepFailure> {
        self.get(i)?
            .parse()
            .map_err(|_| StepFailure::Setup(format!("capture {i} is not a number")))
    }
}

/// Fails the running step with `outcome`'s error, if any.
fn finish(outcome: Result<(), StepFailure>) {
    if let Err(e) = outcome {
        std::panic::panic_any(e.to_string());
    }
}

/// Which keyword a step is defined for.
#[derive(Clone, Copy)]
enum Kind {
    Given,
    When,
    Then,
}

type StepFn = cucumber::step::Step<FeatureWorld>;

/// Turns `async fn(&mut FeatureWorld, Args) -> Result<(), StepFailure>`
/// items into cucumber step functions.
macro_rules! steps {
    ($($kind:ident $pattern:literal => $function:path;)*) => {
        vec![$(
            (Kind::$kind, $pattern, {
                fn step(world: &mut FeatureWorld, context: Context) -> LocalBoxFuture<'_, ()> {
                    Box::pin(async move { finish($function(world, Args::new(context)).await) })
                }
                step as StepFn
            }),
        )*]
    };
}

/// Every step, with the pattern its text must match in full.
fn all() -> Vec<(Kind, &'static str, StepFn)> {
    steps! {
        Given "(\\w+) has created a room" => access::has_created;
        Given "(\\w+) has claimed the open slot with the pairing code" => access::has_claimed;
        Given "Alice and Bob share a paired room" => access::paired_room;
        Given "a second room that (\\w+) has created and nobody has joined" => access::second_room;
        When "(\\w+) creates a room with the same number" => access::creates_same;
        When "(\\w+) creates a room with that number" => access::creates_unused;
        When "(\\w+) joins with (?:her|his) PIN" => access::joins_with_own_pin;
        When "(\\w+) joins with a wrong PIN" => access::joins_wrong;
        When "(\\w+) joins with a wrong PIN from a new connection" => access::joins_wrong_fresh;
        When "(\\w+) joins with a wrong PIN and a wrong pairing code" => access::claims_wrong_code;
        When "(\\w+) joins the second room with a wrong PIN" => access::joins_second_room_wrong;
        When "(\\w+) joins a number nobody has used with a wrong PIN" => access::joins_unused;
        When "(\\w+) guesses wrong PINs until the room locks" => access::guesses_until_locked;
        When "(\\w+) waits until the lock has passed" => access::waits_out_lock;
        When "(\\w+) joins with (?:her|his) PIN while the room is locked" => access::own_pin_while_locked;
        When "(\\w+) joins with (?:her|his) PIN and (\\w+) with a wrong PIN while the room is locked" => access::own_and_wrong_while_locked;
        When "(\\w+) makes (\\d+) wrong guesses while the room is locked" => access::wrong_while_locked;
        When "(\\w+) makes a wrong guess from a new network and (\\w+) joins with (?:her|his) PIN from there while the room is locked" => access::new_network_guess_then_own_pin_while_locked;
        Given "(\\w+) is on a network of (?:her|his) own" => access::on_own_network;
        Given "(\\w+) is on (\\w+)'s network" => access::on_network_of;
        When "(\\w+) claims the open slot with the pairing code" => access::claims;
        When "(\\w+) claims the open slot with a wrong pairing code" => access::claims_wrong_code;
        When "(\\w+) claims the open slot with the replaced pairing code" => access::claims_replaced_code;
        When "(\\w+) claims the open slot with the pairing code and (\\w+)'s sender hash" => access::claims_as_other;
        When "(\\w+) joins with (\\w+)'s access hash and (\\w+)'s sender hash" => access::joins_mixed;
        When "(\\w+) resets the pairing code" => access::resets_pairing;
        When "(\\w+) and (\\w+) claim the open slot with the pairing code at the same moment" => access::racing_claims;
        Then "(\\w+) is answered \"(\\w+)\"" => access::answered;
        Then "(\\w+) is answered \"(\\w+)\" and nothing else" => access::answered_exactly;
        Then "(\\w+) is answered \"unauthorized\" and nothing else but the attempts remaining" => access::answered_unauthorized_exactly;
        Then "(\\w+) is answered \"locked\" with a retry time" => access::answered_locked;
        Then "(\\w+)'s request succeeds" => access::succeeds;
        Then "(\\w+)'s requests are all answered \"(\\w+)\"" => access::all_answered;
        Then "(\\w+) is admitted to the paired room" => access::admitted_paired;
        Then "(\\w+)'s guess is counted as failure (\\d+) of the room" => access::counted_as_failure;
        Then "(\\w+)'s guesses were answered \"unauthorized\" counting down the attempts remaining to 1, then \"locked\"" => access::counted_down;
        Then "(\\w+) and (\\w+) are answered alike" => access::answered_alike;
        Then "(\\w+)'s last (\\d+) answers were \"locked\"" => access::last_answers_locked;
        Then "(\\w+)'s two guesses were answered alike" => access::last_two_alike;
        Then "(\\w+) is told that the room is paired" => access::told_paired;
        Then "exactly one of them is admitted and the other is answered \"(\\w+)\"" => access::one_admitted;

        Given "(\\w+) has claimed the open slot with the pairing code and a mistyped PIN" => reopen::has_claimed_mistyped;
        Given "(\\w+) has left" => reopen::has_left;
        When "(\\w+) re-opens (\\w+)'s slot for a new PIN" => reopen::reopens;
        When "(\\w+) claims (?:her|his) slot with the re-opened code and a new PIN" => reopen::claims_with_new_pin;
        When "(\\w+) claims (\\w+)'s slot with the re-opened code" => reopen::claims_reopened;
        When "(\\w+) claims (\\w+)'s slot with the re-opened code and (\\w+)'s sender hash" => reopen::claims_reopened_as_other;
        When "(\\w+) joins with (?:her|his) old PIN" => reopen::joins_with_old_pin;
        Then "(\\w+)'s room is the one (\\w+) created" => reopen::same_room;
        Then "(\\w+) sees the message \"([^\"]*)\" as (?:her|his) own" => reopen::sees_as_own;
        Then "(\\w+)'s earlier session is closed with 1008 \"record_replaced\" and was not told that the room is paired" => reopen::earlier_session_replaced;
        Then "(\\w+) is told that the room is locked, until when, and nothing before it" => reopen::told_locked;

        Given "(\\w+) has sent \"([^\"]*)\"" => messages::has_sent;
        Given "(\\w+) has read \"([^\"]*)\"" => messages::has_read;
        When "(\\w+) sends \"([^\"]*)\"" => messages::sends;
        When "(\\w+) sends \"([^\"]*)\" in reply to \"([^\"]*)\"" => messages::sends_in_reply;
        When "(\\w+) sends \"([^\"]*)\" and ends the room without joining" => messages::sends_without_joining;
        When "(\\w+) marks \"([^\"]*)\" read" => messages::marks_read;
        When "(\\w+) edits \"([^\"]*)\" to \"([^\"]*)\"" => messages::edits;
        When "(\\w+) deletes \"([^\"]*)\"" => messages::deletes;
        When "(\\w+) is typing" => messages::typing;
        When "(\\w+) and (\\w+) both send into the room at the same moment" => messages::racing_sends;
        When "(\\w+) edits \"([^\"]*)\" to \"([^\"]*)\" while (\\w+) sends \"([^\"]*)\" at the same moment" => messages::edit_racing_send;
        Then "(\\w+) sees the message \"([^\"]*)\"" => messages::sees;
        Then "(\\w+) sees the message \"([^\"]*)\" after joining again" => messages::sees_after_rejoin;
        Then "the message \"([^\"]*)\" reaches (\\w+) with (\\w+)'s sender hash" => messages::reaches_with_sender;
        Then "exactly one of them is stored and the other is answered \"(\\w+)\"" => messages::one_stored;
        Then "every session of the room receives the same one new message" => messages::same_new_message;
        Then "(\\w+)'s edit came first or is answered \"not_found\"" => messages::edit_first_or_not_found;

        When "(\\w+) ends the room" => lifecycle::ends;
        When "the room's lifetime runs out" => lifecycle::lifetime_runs_out;
        Then "(\\w+) receives the room_expired broadcast, then the reply, then the close" => lifecycle::requester_sees_expiry;
        Then "(\\w+)'s session is told the room expired because of \"(party|ttl)\" and closed" => lifecycle::session_told;
        Then "every session of the room is told the room expired because of \"(party|ttl)\" and closed" => lifecycle::every_session_told;
        Then "a join for the number is answered \"not_found\"" => lifecycle::join_not_found;
        Then "the number can be used for a new room with a new room id and a new key" => lifecycle::number_reusable;
        Then "the room's expiry time is the one given at creation, and within a year of it" => lifecycle::expiry_fixed;

        Given "the database holds the room" => database::holds_room;
        Then "the database holds the room" => database::holds_room;
        Then "a dump of the database holds none of the scenario's secrets" => database::holds_no_secrets;
        Then "a dump of the database holds none of the hashes the clients sent" => database::holds_no_client_hashes;
        Then "the database holds the ciphertext of \"([^\"]*)\"" => database::holds_ciphertext;
        Then "the database holds nothing of \"([^\"]*)\"" => database::holds_nothing_of_message;
        Then "the database holds nothing of the room" => database::holds_nothing_of_room;

        Given "the operator is watching the log" => operator_log::watching;
        Then "the operator's log holds none of the scenario's secrets or identifiers" => operator_log::holds_nothing;

        When "(\\w+) sends malformed joins carrying the steg number and a PIN" => surface::malformed_joins;
        Then "the replies echo nothing that was sent" => surface::nothing_echoed;
        When "(\\w+) asks the HTTP surface about the room and about a number nobody has used" => surface::asks_http;
        Then "both get the same answer" => surface::same_http_answer;
    }
}

/// The step collection: every pattern anchored, so that a step text
/// matches exactly one definition or none (and then fails as undefined).
pub fn collection() -> Collection<FeatureWorld> {
    all()
        .into_iter()
        .fold(Collection::new(), |c, (kind, pattern, step)| {
            // The patterns are literals of this file; a broken one is a
            // bug caught by the first run of any scenario.
            let regex = Regex::new(&format!("^{pattern}$")).expect("step patterns are valid");
            match kind {
                Kind::Given => c.given(None, regex, step),
                Kind::When => c.when(None, regex, step),
                Kind::Then => c.then(None, regex, step),
            }
        })
}

#[cfg(test)]
mod tests {
    use cucumber::gherkin::{Feature, GherkinEnv, StepType};

    use super::*;

    /// Every step of every feature file matches exactly one definition of
    /// its kind, checked without a server: a step left undefined would
    /// otherwise only show when the suite runs against one.
    #[test]
    fn every_feature_step_has_exactly_one_definition() {
        let definitions: Vec<(StepType, Regex)> = all()
            .into_iter()
            .map(|(kind, pattern, _)| {
                let ty = match kind {
                    Kind::Given => StepType::Given,
                    Kind::When => StepType::When,
                    Kind::Then => StepType::Then,
                };
                let regex = Regex::new(&format!("^{pattern}$")).expect("a valid pattern");
                (ty, regex)
            })
            .collect();
        let dir = crate::features::default_dir();
        let mut files = 0;
        let mut scenarios = 0;
        for entry in std::fs::read_dir(&dir).expect("the features folder") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_none_or(|e| e != "feature") {
                continue;
            }
            files += 1;
            let feature = Feature::parse_path(&path, GherkinEnv::default()).expect("parses");
            scenarios += feature.scenarios.len();
            let steps = feature
                .background
                .iter()
                .flat_map(|b| &b.steps)
                .chain(feature.scenarios.iter().flat_map(|s| &s.steps));
            for step in steps {
                let matching = definitions
                    .iter()
                    .filter(|(ty, re)| *ty == step.ty && re.is_match(&step.value))
                    .count();
                assert_eq!(
                    matching,
                    1,
                    "{}: `{}{}` matches {matching} definitions",
                    path.display(),
                    step.keyword,
                    step.value
                );
            }
        }
        assert!(
            files >= 8 && scenarios >= 32,
            "{files} files, {scenarios} scenarios"
        );
    }
}
