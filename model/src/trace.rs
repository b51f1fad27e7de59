//! The conformance corpus: paths of the checked model written as concrete
//! steps with the results the spec requires, for any implementation to
//! replay without stateright (`conformance/traces/`).
//!
//! Which paths: the checker visits every reachable state once, with a
//! shortest path to it. A path is kept when it reaches a protocol state no
//! shorter path reached (the state without the model's bookkeeping: message
//! numbers, counters, the last-step record), or when its last step gives a
//! kind of answer, or a race an outcome, not seen before. Of the kept paths
//! only the maximal ones (no kept path extends them) are written: each
//! covers its prefixes.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;
use stateright::{Checker, Model, Path, PathRecorder};

use crate::action::{Action, Op, Request};
use crate::model::RoomModel;
use crate::outcome::{Outcome, Reply};
use crate::state::{Party, State};

/// Version of the trace format; replayers check it.
pub const FORMAT: &str = "stelgano-traces/1";

/// What every trace of a corpus shares: the format, the PIN each party
/// types, and the lockout threshold the server under replay must be
/// configured with (the model's `L`; the spec allows a server to lower its
/// own, STD1-JOIN-18).
#[derive(Debug, Serialize)]
pub struct Corpus {
    pub format: &'static str,
    pub lockout_attempts: u8,
    pub pins: Pins,
    /// Protocol states the traces reach (see `export`).
    pub protocol_states: usize,
    pub traces: usize,
    pub steps: usize,
    /// Every requirement some trace exercises.
    pub requirements: BTreeSet<&'static str>,
}

/// The PINs of the parties; M's matches no honest party's.
#[derive(Debug, Serialize)]
pub struct Pins {
    #[serde(rename = "A")]
    pub a: &'static str,
    #[serde(rename = "B")]
    pub b: &'static str,
    #[serde(rename = "M")]
    pub m: &'static str,
}

impl Corpus {
    /// The description of `traces` exported from `model`.
    pub fn describe(model: &RoomModel, traces: &[Trace], protocol_states: usize) -> Self {
        Self {
            format: FORMAT,
            lockout_attempts: model.rules.lockout_attempts,
            pins: Pins {
                a: "2468",
                b: "1357",
                m: "9090",
            },
            protocol_states,
            traces: traces.len(),
            steps: traces.iter().map(|t| t.steps.len()).sum(),
            requirements: traces
                .iter()
                .flat_map(|t| t.requirements.iter().copied())
                .collect(),
        }
    }
}

/// The corpus as files: `corpus.json` and `traces.jsonl` (one trace per line).
pub fn render(model: &RoomModel) -> (String, String) {
    let (traces, protocol_states) = export(model);
    let corpus = Corpus::describe(model, &traces, protocol_states);
    let mut lines = String::new();
    for trace in &traces {
        lines.push_str(&serde_json::to_string(trace).unwrap_or_default());
        lines.push('\n');
    }
    let mut header = serde_json::to_string_pretty(&corpus).unwrap_or_default();
    header.push('\n');
    (header, lines)
}

/// One trace: a fresh steg number, played from nothing.
#[derive(Debug, Serialize)]
pub struct Trace {
    pub id: String,
    /// Whether M may type the creator's pairing codes.
    pub intruder_has_code: bool,
    /// The requirements the steps exercise.
    pub requirements: BTreeSet<&'static str>,
    pub steps: Vec<Step>,
}

/// One step and what the server must send for it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum Step {
    /// A request served alone.
    Request { request: Request, expect: Outcome },
    /// Two requests in flight together. `orders[0]` holds the outcomes
    /// (in request order) when the first is served first, `orders[1]`
    /// when the second is; a server may pick either. The rest of the trace
    /// assumes `then`; when the server picked the other, the trace ends
    /// there, passed.
    Race {
        race: [Request; 2],
        orders: [[Outcome; 2]; 2],
        then: u8,
    },
    /// Time passes or a connection drops.
    Environment {
        environment: Environment,
        expect: Outcome,
    },
}

/// Steps no party requests.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Environment {
    /// The room reaches its expiry time (a replayer ages the room).
    TtlExpires,
    /// The room's lock time passes (a replayer waits out the configured
    /// lock duration).
    LockEnds,
    /// The party's connection closes.
    Disconnect { party: Party },
}

/// Explores the model and returns the corpus, in a deterministic order,
/// with the number of protocol states it covers.
pub fn export(model: &RoomModel) -> (Vec<Trace>, usize) {
    let (recorder, paths) = PathRecorder::new_with_accessor();
    model.clone().checker().visitor(recorder).spawn_bfs().join();
    let mut paths: Vec<(String, Path<State, Action>)> =
        paths().into_iter().map(|p| (p.encode(model), p)).collect();
    // Shortest first, then by the explorer's encoding: a stable order.
    paths.sort_by(|(a, _), (b, _)| {
        a.matches('/')
            .count()
            .cmp(&b.matches('/').count())
            .then_with(|| a.cmp(b))
    });

    let mut states = HashSet::new();
    let mut answers = HashSet::new();
    let mut kept: Vec<(String, State, Vec<Action>)> = Vec::new();
    for (encoding, path) in paths {
        let vec = path.into_vec();
        let init = vec[0].0.clone();
        let last = vec[vec.len() - 1].0.clone();
        let actions: Vec<Action> = vec.into_iter().filter_map(|(_, a)| a).collect();
        if states.insert(protocol_state(&last)) {
            kept.push((encoding.clone(), init.clone(), actions.clone()));
        }
        // Every step out of the state whose kind of answer is new, even when
        // it leads to a state reached before (an expiry by time ends where an
        // expiry by request did).
        let mut enabled = Vec::new();
        model.actions(&last, &mut enabled);
        for (i, action) in enabled.into_iter().enumerate() {
            let Some((next, _)) = model.step(&last, action) else {
                continue;
            };
            if model.within_boundary(&next) && answers.insert(answer_kind(model, &last, action)) {
                let mut extended = actions.clone();
                extended.push(action);
                kept.push((format!("{encoding}/{i}"), init.clone(), extended));
            }
        }
    }
    kept.sort_by(|(a, ..), (b, ..)| a.cmp(b));
    let maximal = kept.iter().enumerate().filter(|(i, (encoding, ..))| {
        kept.get(i + 1)
            .is_none_or(|(next, ..)| !next.starts_with(&format!("{encoding}/")))
    });
    let traces = maximal
        .enumerate()
        .map(|(n, (_, (_, init, actions)))| trace(model, n + 1, init, actions))
        .collect();
    (traces, states.len())
}

/// The state as a server's store and sessions hold it, without the model's
/// bookkeeping.
fn protocol_state(s: &State) -> impl std::hash::Hash + Eq + use<> {
    (
        s.room.map(|r| (r.pairing_open, r.failures, r.locked)),
        s.records.clone(),
        s.messages
            .iter()
            .map(|m| (m.author, m.read_by, m.edited))
            .collect::<Vec<_>>(),
        s.sessions,
        s.intruder_has_code,
    )
}

/// What kind of answer an action got: its shape (who, which operation, with
/// which code) and the reply of each request.
fn answer_kind(model: &RoomModel, before: &State, action: Action) -> String {
    let outcomes = model
        .step(before, action)
        .map(|(_, outcomes)| outcomes)
        .unwrap_or_default();
    let shape = |r: &Request| format!("{:?}:{}", r.party, op_shape(r.op));
    let replies: Vec<String> = outcomes
        .iter()
        .map(|o| {
            let reply = match o.reply {
                Some(Reply::Error { reason, .. }) => reason.as_str(),
                Some(reply) => reply_kind(&reply),
                None => "-",
            };
            // Who hears of it matters too: a broadcast to one session or
            // to three is a different thing to get right.
            let heard: Vec<String> = o
                .broadcasts
                .iter()
                .map(|d| format!("{:?}", d.to))
                .chain(o.closed.iter().map(|p| format!("x{p:?}")))
                .collect();
            format!("{reply}[{}]", heard.join(" "))
        })
        .collect();
    let action = match action {
        Action::Do(r) => shape(&r),
        Action::Race(a, b) => format!("race {} {}", shape(&a), shape(&b)),
        other => format!("{other:?}"),
    };
    format!("{action} -> {}", replies.join(","))
}

fn op_shape(op: Op) -> String {
    match op {
        Op::Join { code } => format!("join/{code:?}"),
        other => {
            let name = format!("{other:?}");
            name.split([' ', '{']).next().unwrap_or_default().to_owned()
        }
    }
}

fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Joined { .. } => "joined",
        Reply::Sent { .. } => "sent",
        Reply::Done => "done",
        Reply::Error { .. } => "error",
    }
}

fn trace(model: &RoomModel, n: usize, init: &State, actions: &[Action]) -> Trace {
    let mut requirements = BTreeSet::new();
    let mut steps = Vec::new();
    let mut state = init.clone();
    for &action in actions {
        let Some((next, outcomes)) = model.step(&state, action) else {
            break;
        };
        let state_before = std::mem::replace(&mut state, next);
        let state = &state_before;
        match action {
            Action::Do(request) => {
                let expect = outcomes.into_iter().next().unwrap_or_default();
                requirements.extend(exercised(state, request, &expect));
                steps.push(Step::Request { request, expect });
            }
            Action::Race(first, second) => {
                let reverse = model
                    .step(state, Action::Race(second, first))
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                let [one, two]: [Outcome; 2] = outcomes.try_into().unwrap_or_default();
                let [r_two, r_one]: [Outcome; 2] = reverse.try_into().unwrap_or_default();
                requirements.extend(exercised(state, first, &one));
                requirements.extend(race_requirements(first, second));
                steps.push(Step::Race {
                    race: [first, second],
                    orders: [[one, two], [r_one, r_two]],
                    then: 0,
                });
            }
            Action::TtlExpires | Action::LockEnds | Action::Disconnect(_) => {
                let environment = match action {
                    Action::TtlExpires => {
                        requirements.extend(["STD1-LIFE-4", "STD1-LIFE-6", "STD1-LIFE-7"]);
                        Environment::TtlExpires
                    }
                    Action::LockEnds => {
                        requirements.insert("STD1-JOIN-18");
                        Environment::LockEnds
                    }
                    Action::Disconnect(party) => Environment::Disconnect { party },
                    _ => unreachable!("matched above"),
                };
                let expect = outcomes.into_iter().next().unwrap_or_default();
                steps.push(Step::Environment {
                    environment,
                    expect,
                });
            }
        }
    }
    Trace {
        id: format!("t{n:05}"),
        intruder_has_code: init.intruder_has_code,
        requirements,
        steps,
    }
}

/// The requirements a request and its expected answer exercise.
fn exercised(before: &State, request: Request, outcome: &Outcome) -> Vec<&'static str> {
    use stelgano_spec::ErrorReason as E;
    let reason = match outcome.reply {
        Some(Reply::Error { reason, .. }) => Some(reason),
        _ => None,
    };
    let mut ids = match (request.op, reason) {
        (_, Some(E::RoomExpired)) => vec!["STD1-LIFE-8", "STD1-WIRE-21"],
        (Op::Create, None) => vec!["STD1-JOIN-1", "STD1-JOIN-8"],
        (Op::Create, Some(_)) => vec!["STD1-JOIN-2"],
        (Op::Join { .. }, Some(E::NotFound)) => vec!["STD1-JOIN-3"],
        (Op::Join { .. }, Some(E::Locked)) => vec!["STD1-JOIN-18", "STD1-JOIN-19", "STD1-JOIN-20"],
        (Op::Join { .. }, Some(E::PairingInvalid)) => vec!["STD1-JOIN-14", "STD1-JOIN-19"],
        (Op::Join { .. }, Some(_)) => vec!["STD1-JOIN-5", "STD1-JOIN-19"],
        (Op::Join { code }, None) => {
            let claimed = before.record_of(request.party).is_none();
            match (claimed, code) {
                (true, _) => vec!["STD1-JOIN-5", "STD1-JOIN-8", "STD1-JOIN-14", "STD1-JOIN-15"],
                (false, crate::action::Code::None) => vec!["STD1-JOIN-5", "STD1-JOIN-8"],
                (false, _) => vec!["STD1-JOIN-5", "STD1-JOIN-8", "STD1-JOIN-16"],
            }
        }
        (Op::SendMessage { .. }, None) => vec!["STD1-MSG-1", "STD1-MSG-2", "STD1-MSG-3"],
        (Op::SendMessage { .. }, Some(E::Conflict)) => vec!["STD1-MSG-2", "STD1-MSG-6"],
        (Op::SendMessage { .. }, Some(_)) => vec!["STD1-MSG-2", "STD1-MSG-3"],
        (Op::ReadReceipt { .. }, Some(E::OwnMessage)) => vec!["STD1-MSG-9", "STD1-MSG-10"],
        (Op::ReadReceipt { .. }, _) => vec!["STD1-MSG-9"],
        (Op::EditMessage { .. }, _) => vec!["STD1-MSG-12"],
        (Op::DeleteMessage { .. }, _) => vec!["STD1-MSG-14"],
        (Op::Typing, _) => vec!["STD1-MSG-16"],
        (Op::ExpireRoom, _) => vec!["STD1-LIFE-2", "STD1-LIFE-3", "STD1-LIFE-6", "STD1-LIFE-7"],
        (Op::ResetPairing, _) => vec!["STD1-JOIN-17"],
    };
    if !outcome.broadcasts.is_empty() {
        ids.push("STD1-WIRE-30");
    }
    ids
}

fn race_requirements(first: Request, second: Request) -> Vec<&'static str> {
    match (first.op, second.op) {
        (Op::SendMessage { .. }, Op::SendMessage { .. }) => vec!["STD1-MSG-7", "STD1-MSG-8"],
        (Op::Join { .. }, Op::Join { .. }) => vec!["STD1-JOIN-6", "STD1-MSG-8"],
        _ => vec!["STD1-MSG-8"],
    }
}
