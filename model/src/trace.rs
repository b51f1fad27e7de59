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

use serde::{Deserialize, Serialize};
use stateright::Model;

use crate::action::{Action, Code, Op, Request};
use crate::model::RoomModel;
use crate::outcome::{Cause, Outcome, Reply};
use crate::state::{Party, State};

/// Version of the trace format; replayers check it.
///
/// Version 2 added network origins: each party connects from an address of
/// its own, except M in traces with `shared_network`, which connects from
/// A's (STD1-JOIN-22). Version 3 (revision 1.1 of the spec) added
/// `reopen_pairing`, the `pin` of B's mistyped claims, the `replaced`
/// closes and the `room_locked` broadcast; a version 2 trace reads as the
/// same trace in version 3.
pub const FORMAT: &str = "stelgano-traces/3";

/// The formats a replayer of this version reads.
pub const READABLE_FORMATS: [&str; 2] = ["stelgano-traces/2", FORMAT];

/// What every trace of a corpus shares: the format, the PIN each party
/// types, and the lockout threshold the server under replay must be
/// configured with (the model's `L`; the spec allows a server to lower its
/// own, STD1-JOIN-18).
#[derive(Debug, Serialize)]
pub struct Corpus {
    pub format: &'static str,
    pub lockout_attempts: u8,
    pub pins: Pins,
    /// What the traces cover (see `export`).
    pub coverage: Coverage,
    pub traces: usize,
    pub steps: usize,
    /// Every requirement some trace exercises.
    pub requirements: BTreeSet<String>,
}

/// The PINs of the parties; M's matches no honest party's, and B's
/// mistype (`typo`, the PIN of joins with `"pin": "typo"`) none of the
/// others.
#[derive(Debug, Serialize)]
pub struct Pins {
    #[serde(rename = "A")]
    pub a: &'static str,
    #[serde(rename = "B")]
    pub b: &'static str,
    #[serde(rename = "M")]
    pub m: &'static str,
    /// The PIN B types when it slips (Appendix C, D-46).
    #[serde(rename = "B_typo")]
    pub b_typo: &'static str,
}

impl Corpus {
    /// The description of `traces` exported from `model`.
    pub fn describe(model: &RoomModel, traces: &[Trace], coverage: Coverage) -> Self {
        Self {
            format: FORMAT,
            lockout_attempts: model.rules.lockout_attempts,
            pins: Pins {
                a: "2468",
                b: "1357",
                m: "9090",
                b_typo: "1375",
            },
            coverage,
            traces: traces.len(),
            steps: traces.iter().map(|t| t.steps.len()).sum(),
            requirements: traces
                .iter()
                .flat_map(|t| t.requirements.iter().cloned())
                .collect(),
        }
    }
}

/// The corpus as files: `corpus.json` and `traces.jsonl` (one trace per line).
pub fn render(model: &RoomModel) -> (String, String) {
    let (traces, coverage) = export(model);
    let corpus = Corpus::describe(model, &traces, coverage);
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
#[derive(Debug, Serialize, Deserialize)]
pub struct Trace {
    pub id: String,
    /// Whether M may type the pairing codes one honest party hands to the
    /// other.
    pub intruder_has_code: bool,
    /// Whether M connects from A's network address instead of one of its
    /// own (STD1-JOIN-22, STD1-SEC-9).
    #[serde(default)]
    pub shared_network: bool,
    /// The requirements the steps exercise.
    pub requirements: BTreeSet<String>,
    pub steps: Vec<Step>,
}

/// One step and what the server must send for it. Each step names the
/// requirements it exercises, so that a replayer reports a divergence as a
/// failure of those, not of everything the trace touched before.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum Step {
    /// A request served alone.
    Request {
        request: Request,
        expect: Outcome,
        requirements: Vec<String>,
    },
    /// Two requests in flight together, always a trace's last step.
    /// `orders[0]` holds the outcomes (in request order) when the first is
    /// served first, `orders[1]` when the second is; a server may pick
    /// either.
    Race {
        race: [Request; 2],
        orders: Box<[[Outcome; 2]; 2]>,
        requirements: Vec<String>,
    },
    /// Time passes or a connection drops.
    Environment {
        environment: Environment,
        expect: Outcome,
        requirements: Vec<String>,
    },
}

impl Step {
    /// The requirements this step exercises.
    pub fn requirements(&self) -> &[String] {
        match self {
            Step::Request { requirements, .. }
            | Step::Race { requirements, .. }
            | Step::Environment { requirements, .. } => requirements,
        }
    }
}

/// Steps no party requests.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
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

/// What a path has been through that the room's state no longer shows but
/// a server must get right afterwards: how the last room of the number
/// ended (a new room must not remember it), and whether a lock was served
/// (the count starts again).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct History {
    previous_end: Option<Cause>,
    lock_served: bool,
}

impl History {
    fn after(self, action: Action, next: &State) -> Self {
        let mut history = self;
        match action {
            Action::TtlExpires => history.previous_end = Some(Cause::Ttl),
            Action::LockEnds => history.lock_served = true,
            Action::Do(Request {
                op: Op::ExpireRoom, ..
            }) if next.room.is_none() => history.previous_end = Some(Cause::Party),
            _ => {}
        }
        if next.room.is_none() {
            history.lock_served = false;
        }
        history
    }
}

/// A node of the exporter's walk: a state, its history, and the step from
/// its parent.
struct Node {
    state: State,
    history: History,
    parent: Option<(usize, Action)>,
}

/// Explores the model and returns the corpus, in a deterministic order,
/// with what it covers.
///
/// The walk is breadth-first over the model's own steps, like the
/// checker's, but it visits each *protocol state* once rather than each
/// model state: the state as a server's store and sessions hold it, without
/// the model's bookkeeping (message numbers, counters, the last step's
/// events), plus the [`History`] a server must honour. Requests are taken
/// one at a time: a race reaches no state single requests do not, and what
/// follows it depends on the order a server picks, so races only end
/// traces.
pub fn export(model: &RoomModel) -> (Vec<Trace>, Coverage) {
    let sequential = RoomModel {
        races: false,
        ..model.clone()
    };
    let mut nodes: Vec<Node> = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = std::collections::VecDeque::new();
    let start = History {
        previous_end: None,
        lock_served: false,
    };
    for state in sequential.init_states() {
        if seen.insert((protocol_state(&state), start)) {
            queue.push_back(nodes.len());
            nodes.push(Node {
                state,
                history: start,
                parent: None,
            });
        }
    }
    let mut tree_edges = HashSet::new();
    while let Some(i) = queue.pop_front() {
        let mut actions = Vec::new();
        sequential.actions(&nodes[i].state, &mut actions);
        for action in actions {
            let Some((next, _)) = sequential.step(&nodes[i].state, action) else {
                continue;
            };
            if !sequential.within_boundary(&next) {
                continue;
            }
            let history = nodes[i].history.after(action, &next);
            if seen.insert((protocol_state(&next), history)) {
                tree_edges.insert((i, action));
                queue.push_back(nodes.len());
                nodes.push(Node {
                    state: next,
                    history,
                    parent: Some((i, action)),
                });
            }
        }
    }

    // Leaves of the walk's tree cover every node; a step out of a node
    // whose kind of answer is new, races included, is added as a trace of
    // its own unless it is an edge of the tree.
    let mut has_child = vec![false; nodes.len()];
    for node in &nodes {
        if let Some((parent, _)) = node.parent {
            has_child[parent] = true;
        }
    }
    let mut answers = HashSet::new();
    let mut chosen: Vec<(usize, Option<Action>)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        // Every protocol state is covered as it first occurs; after an
        // expiry or a served lock, every kind of answer is.
        if !has_child[i] && node.history == start {
            chosen.push((i, None));
        }
        let mut actions = Vec::new();
        model.actions(&node.state, &mut actions);
        for action in actions {
            let Some((next, _)) = model.step(&node.state, action) else {
                continue;
            };
            if model.within_boundary(&next)
                && answers.insert((node.history, {
                    let kind = answer_kind(model, &node.state, action);
                    // After an expiry or a served lock, which answer comes
                    // matters, not every audience it reaches.
                    if node.history == start {
                        kind
                    } else {
                        coarse(&kind)
                    }
                }))
                && (node.history != start || !tree_edges.contains(&(i, action)))
            {
                chosen.push((i, Some(action)));
            }
        }
    }
    let path_to = |mut i: usize| {
        let mut actions = Vec::new();
        while let Some((parent, action)) = nodes[i].parent {
            actions.push(action);
            i = parent;
        }
        actions.reverse();
        (nodes[i].state.clone(), actions)
    };
    let coverage = Coverage {
        protocol_states: nodes.iter().filter(|n| n.history == start).count(),
        histories: nodes.len(),
        answer_kinds: answers.len(),
    };
    let traces = chosen
        .into_iter()
        .enumerate()
        .map(|(n, (i, extra))| {
            let (init, mut actions) = path_to(i);
            actions.extend(extra);
            trace(model, n + 1, &init, &actions)
        })
        .collect();
    (traces, coverage)
}

/// A seeded random walk of at most `steps` single requests and
/// environment steps from a random initial state, possibly ending in a
/// race: a trace no corpus holds, for replaying against live servers.
pub fn random_walk(model: &RoomModel, seed: u64, steps: usize) -> Trace {
    let mut rng = SplitMix(seed);
    let inits = model.init_states();
    let init = inits[rng.below(inits.len())].clone();
    let sequential = RoomModel {
        races: false,
        ..model.clone()
    };
    let mut state = init.clone();
    let mut actions = Vec::new();
    // A replayer waits a lock out in real time; one wait per room keeps a
    // walk well inside a short room lifetime.
    let mut lock_waited = false;
    for _ in 0..steps {
        let mut enabled = Vec::new();
        sequential.actions(&state, &mut enabled);
        enabled.retain(|a| {
            !(lock_waited && *a == Action::LockEnds)
                && sequential
                    .step(&state, *a)
                    .is_some_and(|(next, _)| sequential.within_boundary(&next))
        });
        if enabled.is_empty() {
            break;
        }
        let action = enabled[rng.below(enabled.len())];
        if let Some((next, _)) = sequential.step(&state, action) {
            lock_waited = (lock_waited || action == Action::LockEnds) && next.room.is_some();
            state = next;
            actions.push(action);
        }
    }
    // One walk in four ends in a race, when one is possible.
    let mut races = Vec::new();
    model.actions(&state, &mut races);
    races.retain(|a| matches!(a, Action::Race(..)));
    if !races.is_empty() && rng.below(4) == 0 {
        actions.push(races[rng.below(races.len())]);
    }
    let mut walk = trace(model, 0, &init, &actions);
    walk.id = format!("walk-{seed}");
    walk
}

/// SplitMix64: a small, seedable generator, so that a walk is reproduced
/// from its seed alone.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the bias is negligible for small n).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a corpus covers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Coverage {
    /// Protocol states reached with no expiry or served lock behind them;
    /// every one is on some trace.
    pub protocol_states: usize,
    /// Protocol states with every history the walk met; the traces reach
    /// every kind of answer in each history, not every one of these.
    pub histories: usize,
    /// Kinds of answer (request shape, reply, audience) the traces show,
    /// per history.
    pub answer_kinds: usize,
}

/// The state as a server's store and sessions hold it, without the model's
/// bookkeeping.
fn protocol_state(s: &State) -> impl std::hash::Hash + Eq + use<> {
    (
        s.room.map(|r| {
            (
                r.pairing,
                // Who made the code decides who can type it.
                r.code_by,
                r.failures,
                r.locked,
                // A replaced code and a reused number change what a server
                // must remember.
                r.code_version,
                r.generation > 1,
                r.barred,
            )
        }),
        s.records.clone(),
        s.messages
            .iter()
            .map(|m| (m.author, m.read_by, m.edited))
            .collect::<Vec<_>>(),
        s.sessions,
        s.intruder_has_code,
        s.shared_network,
    )
}

/// An answer kind without who hears of it.
fn coarse(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len());
    let mut depth = 0;
    for c in kind.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
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
                .chain(o.replaced.iter().map(|p| format!("r{p:?}")))
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
        Op::Join { code, pin } => format!("join/{code:?}/{pin:?}"),
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

/// The trace of a path: each step with the outcome the rules give it.
fn trace(model: &RoomModel, n: usize, init: &State, actions: &[Action]) -> Trace {
    let mut requirements = BTreeSet::new();
    let mut steps = Vec::new();
    let mut state = init.clone();
    // Whether the target's own login withdrew the room's code since it
    // was made (STD1-JOIN-16): a claim with it is then refused for that.
    let mut withdrawn = false;
    for &action in actions {
        let Some((next, outcomes)) = model.step(&state, action) else {
            break;
        };
        let code_of = |s: &State| s.room.map(|r| (r.generation, r.code_version));
        let new_code = code_of(&state) != code_of(&next);
        let withdrew = next
            .events
            .iter()
            .any(|e| matches!(e, crate::state::Event::Withdrawn { .. }));
        let state_before = std::mem::replace(&mut state, next);
        let state = &state_before;
        let exercised = |before: &State, request: Request, outcome: &Outcome| {
            let mut ids = exercised(before, request, outcome);
            if withdrawn && refused_code(request, outcome) {
                ids.push("STD1-JOIN-16");
            }
            ids
        };
        match action {
            Action::Do(request) => {
                let expect = outcomes.into_iter().next().unwrap_or_default();
                let exercised = exercised(state, request, &expect);
                requirements.extend(exercised.iter().copied());
                steps.push(Step::Request {
                    request,
                    expect,
                    requirements: owned(exercised),
                });
            }
            Action::Race(first, second) => {
                let reverse = model
                    .step(state, Action::Race(second, first))
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                let [one, two]: [Outcome; 2] = outcomes.try_into().unwrap_or_default();
                let [r_two, r_one]: [Outcome; 2] = reverse.try_into().unwrap_or_default();
                let mut exercised_here = BTreeSet::new();
                exercised_here.extend(exercised(state, first, &one));
                exercised_here.extend(exercised(state, second, &r_two));
                exercised_here.extend(exercised(&middle_state(model, state, first), second, &two));
                exercised_here.extend(race_requirements(first, second));
                requirements.extend(exercised_here.iter().copied());
                steps.push(Step::Race {
                    race: [first, second],
                    orders: Box::new([[one, two], [r_one, r_two]]),
                    requirements: owned(exercised_here),
                });
            }
            Action::TtlExpires | Action::LockEnds | Action::Disconnect(_) => {
                let (environment, exercised): (_, &[&str]) = match action {
                    Action::TtlExpires => (
                        Environment::TtlExpires,
                        &["STD1-LIFE-4", "STD1-LIFE-6", "STD1-LIFE-7"],
                    ),
                    Action::LockEnds => (Environment::LockEnds, &["STD1-JOIN-18"]),
                    Action::Disconnect(party) => (Environment::Disconnect { party }, &[]),
                    _ => unreachable!("matched above"),
                };
                requirements.extend(exercised.iter().copied());
                let expect = outcomes.into_iter().next().unwrap_or_default();
                steps.push(Step::Environment {
                    environment,
                    expect,
                    requirements: owned(exercised.iter().copied()),
                });
            }
        }
        withdrawn = (withdrawn && !new_code) || withdrew;
    }
    Trace {
        id: format!("t{n:05}"),
        intruder_has_code: init.intruder_has_code,
        shared_network: init.shared_network,
        requirements: requirements.into_iter().map(str::to_owned).collect(),
        steps,
    }
}

fn owned<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    ids.into_iter().map(str::to_owned).collect()
}

/// The state after `first` alone.
fn middle_state(model: &RoomModel, state: &State, first: Request) -> State {
    model
        .step(state, Action::Do(first))
        .map_or_else(|| state.clone(), |(next, _)| next)
}

/// Whether a join with the room's last code was refused as a wrong PIN
/// (the code being gone).
fn refused_code(request: Request, outcome: &Outcome) -> bool {
    matches!(
        (request.op, outcome.reply),
        (
            Op::Join {
                code: Code::Current,
                ..
            },
            Some(Reply::Error {
                reason: stelgano_spec::ErrorReason::Unauthorized,
                ..
            })
        )
    )
}

/// The requirements a request and its expected answer exercise.
fn exercised(before: &State, request: Request, outcome: &Outcome) -> Vec<&'static str> {
    use stelgano_spec::ErrorReason as E;
    let reason = match outcome.reply {
        Some(Reply::Error { reason, .. }) => Some(reason),
        _ => None,
    };
    if let Some(ids) = during_lock(before, request, reason) {
        return ids;
    }
    // A code re-opened a slot that a record holds (STD1-JOIN-24).
    let reopened = before.records.len() == 2 && before.room.is_some_and(|r| r.pairing.is_some());
    let mut ids = match (request.op, reason) {
        (_, Some(E::RoomExpired)) => vec!["STD1-LIFE-8", "STD1-WIRE-21"],
        // A request of a session whose record a claim replaced.
        (_, Some(E::NotJoined)) => vec!["STD1-JOIN-25"],
        // A number's later room names what makes it possible, STD1-LIFE-5,
        // alone: STD1-JOIN-1 and STD1-JOIN-8 are every create's, and named
        // here too they would tie with it, or outweigh it, when a server
        // that keeps expired rooms fails these steps.
        (Op::Create, None) if before.rooms_created > 0 => vec!["STD1-LIFE-5"],
        (Op::Create, None) => vec!["STD1-JOIN-1", "STD1-JOIN-8"],
        (Op::Create, Some(_)) => vec!["STD1-JOIN-2"],
        (Op::Join { .. }, Some(E::NotFound)) if before.rooms_created > 0 => {
            vec!["STD1-JOIN-3", "STD1-LIFE-3"]
        }
        (Op::Join { .. }, Some(E::NotFound)) => vec!["STD1-JOIN-3"],
        // The failure that sets the lock (rule 4 or 5 of STD1-JOIN-5),
        // and tells the room's sessions.
        (Op::Join { .. }, Some(E::Locked)) if !outcome.broadcasts.is_empty() => vec![
            "STD1-JOIN-5",
            "STD1-JOIN-18",
            "STD1-JOIN-19",
            "STD1-JOIN-26",
        ],
        (Op::Join { .. }, Some(E::Locked)) => vec!["STD1-JOIN-5", "STD1-JOIN-18", "STD1-JOIN-19"],
        (
            Op::Join {
                code: Code::Previous,
                ..
            },
            Some(E::PairingInvalid),
        ) => {
            vec![
                "STD1-JOIN-5",
                "STD1-JOIN-14",
                "STD1-JOIN-17",
                "STD1-JOIN-19",
            ]
        }
        // Rule 4 of STD1-JOIN-5: every counted failure names the rule that
        // chose it, so a server admitting a wrong guess is reported for it.
        (Op::Join { .. }, Some(E::PairingInvalid)) if reopened => vec![
            "STD1-JOIN-5",
            "STD1-JOIN-14",
            "STD1-JOIN-19",
            "STD1-JOIN-24",
        ],
        (Op::Join { .. }, Some(E::PairingInvalid)) => {
            vec!["STD1-JOIN-5", "STD1-JOIN-14", "STD1-JOIN-19"]
        }
        (Op::Join { .. }, Some(_)) => vec!["STD1-JOIN-5", "STD1-JOIN-19"],
        (Op::Join { code, pin }, None) => {
            let matched = before.record_matching(request.party, pin);
            let target = before.room.and_then(|r| r.pairing);
            match (matched, code) {
                // A claim that replaced the target slot's record.
                (None, _) if reopened => vec![
                    "STD1-JOIN-5",
                    "STD1-JOIN-8",
                    "STD1-JOIN-14",
                    "STD1-JOIN-15",
                    "STD1-JOIN-24",
                    "STD1-JOIN-25",
                ],
                (None, _) if before.room.is_some_and(|r| r.code_version > 0) => vec![
                    "STD1-JOIN-5",
                    "STD1-JOIN-8",
                    "STD1-JOIN-14",
                    "STD1-JOIN-15",
                    "STD1-JOIN-17",
                ],
                (None, _) => vec!["STD1-JOIN-5", "STD1-JOIN-8", "STD1-JOIN-14", "STD1-JOIN-15"],
                // The target's own login withdraws the code.
                (Some(record), _) if target == Some(record.slot) => {
                    vec!["STD1-JOIN-5", "STD1-JOIN-8", "STD1-JOIN-16", "STD1-JOIN-24"]
                }
                (Some(_), Code::None) => vec!["STD1-JOIN-5", "STD1-JOIN-8"],
                (Some(_), _) => vec!["STD1-JOIN-5", "STD1-JOIN-8", "STD1-JOIN-16"],
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
        (Op::ReopenPairing, _) => vec!["STD1-JOIN-24"],
    };
    if !outcome.replaced.is_empty() {
        ids.push("STD1-WIRE-5");
    }
    if !outcome.broadcasts.is_empty() {
        ids.push("STD1-WIRE-30");
    }
    ids
}

/// The requirements of a join to a room that is locked already: a barred
/// network's refusal, or the one evaluation of a network that is not
/// barred (STD1-JOIN-20, STD1-JOIN-22, STD1-JOIN-23). Only these are named,
/// so that a server getting the lock wrong is reported for that.
fn during_lock(
    before: &State,
    request: Request,
    reason: Option<stelgano_spec::ErrorReason>,
) -> Option<Vec<&'static str>> {
    use stelgano_spec::ErrorReason as E;
    let room = before.room.filter(|r| r.locked)?;
    if !matches!(request.op, Op::Join { .. }) || reason == Some(E::RoomExpired) {
        return None;
    }
    Some(if room.barred[before.network_of(request.party)] {
        vec!["STD1-JOIN-20", "STD1-JOIN-22"]
    } else {
        vec!["STD1-JOIN-23"]
    })
}

fn race_requirements(first: Request, second: Request) -> Vec<&'static str> {
    match (first.op, second.op) {
        (Op::SendMessage { .. }, Op::SendMessage { .. }) => vec!["STD1-MSG-7", "STD1-MSG-8"],
        (Op::Join { .. }, Op::Join { .. }) => vec!["STD1-JOIN-6", "STD1-MSG-8"],
        (Op::Join { .. }, _) | (_, Op::Join { .. }) => vec!["STD1-JOIN-25", "STD1-MSG-8"],
        _ => vec!["STD1-MSG-8"],
    }
}
