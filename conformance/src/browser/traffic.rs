//! What the client's frames show about its protocol manners, read from the
//! proxy's decoding: a fresh IV for every encryption, edits included
//! (STD1-ENC-2, STD1-MSG-13), nothing longer than may be encrypted
//! (STD1-ENC-6, STD1-CLI-17), and read receipts only for the other
//! party's messages, at most one per message per session (STD1-MSG-11).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::blindness::Session;

/// The requirements [`problems`] checks.
pub const REQUIREMENTS: [&str; 5] = [
    "STD1-ENC-2",
    "STD1-ENC-6",
    "STD1-CLI-17",
    "STD1-MSG-11",
    "STD1-MSG-13",
];

/// The longest ciphertext a conforming client sends: 8,176 plaintext bytes
/// and the 16-byte tag (STD1-ENC-6, STD1-CLI-17).
const MAX_CIPHERTEXT_BYTES: usize = 8176 + 16;

/// Each problem in one line; also how many encryptions and read receipts
/// were looked at, so that a pass means something.
pub fn problems(sessions: &[Session]) -> (Vec<String>, usize, usize) {
    let mut problems = Vec::new();
    let mut ivs: HashSet<String> = HashSet::new();
    let (mut encryptions, mut receipts) = (0, 0);
    for (n, session) in sessions.iter().enumerate() {
        let sent: Vec<Value> = parsed(&session.sent);
        let received: Vec<Value> = parsed(&session.received);
        // This session's own sender hash, from its create or join.
        let own = sent
            .iter()
            .find(|f| matches!(f["event"].as_str(), Some("create" | "join")))
            .and_then(|f| f["data"]["sender_hash"].as_str())
            .map(str::to_owned);
        // Every message this session saw, with its author's sender hash.
        let mut authors: HashMap<String, String> = HashMap::new();
        for frame in &received {
            let message = if frame["event"] == "new_message" {
                &frame["data"]
            } else {
                &frame["ok"]["current_message"]
            };
            if let (Some(id), Some(sender)) =
                (message["id"].as_str(), message["sender_hash"].as_str())
            {
                authors.insert(id.to_owned(), sender.to_owned());
            }
        }
        let mut receipted: HashSet<String> = HashSet::new();
        for frame in &sent {
            match frame["event"].as_str() {
                Some("send_message" | "edit_message") => {
                    encryptions += 1;
                    let ciphertext = frame["data"]["ciphertext"].as_str().unwrap_or_default();
                    if stelgano_spec::b64::decode(ciphertext)
                        .is_some_and(|bytes| bytes.len() > MAX_CIPHERTEXT_BYTES)
                    {
                        problems.push(format!(
                            "session {n} sent a ciphertext over {MAX_CIPHERTEXT_BYTES} bytes"
                        ));
                    }
                    if let Some(iv) = frame["data"]["iv"].as_str()
                        && !ivs.insert(iv.to_owned())
                    {
                        problems.push(format!("an IV was used twice ({})", frame["event"]));
                    }
                }
                Some("read_receipt") => {
                    receipts += 1;
                    let id = frame["data"]["message_id"].as_str().unwrap_or_default();
                    if !receipted.insert(id.to_owned()) {
                        problems.push(format!(
                            "session {n} sent two read receipts for one message"
                        ));
                    }
                    if own.is_some() && authors.get(id) == own.as_ref() {
                        problems.push(format!(
                            "session {n} sent a read receipt for its own message"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    (problems, encryptions, receipts)
}

fn parsed(frames: &[String]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sent: &[&str], received: &[&str]) -> Session {
        Session {
            sent: sent.iter().map(|s| (*s).to_owned()).collect(),
            received: received.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const JOIN: &str = r#"{"event":"join","ref":"1","data":{"sender_hash":"me"}}"#;

    #[test]
    fn good_manners_pass() {
        let s = session(
            &[
                JOIN,
                r#"{"event":"send_message","ref":"2","data":{"iv":"a"}}"#,
                r#"{"event":"edit_message","ref":"3","data":{"iv":"b"}}"#,
                r#"{"event":"read_receipt","ref":"4","data":{"message_id":"m2"}}"#,
            ],
            &[r#"{"event":"new_message","data":{"id":"m2","sender_hash":"other"}}"#],
        );
        assert_eq!(problems(&[s]), (vec![], 2, 1));
    }

    #[test]
    fn a_reused_iv_and_bad_receipts_are_found() {
        let s = session(
            &[
                JOIN,
                r#"{"event":"send_message","ref":"2","data":{"iv":"a"}}"#,
                r#"{"event":"edit_message","ref":"3","data":{"iv":"a"}}"#,
                r#"{"event":"read_receipt","ref":"4","data":{"message_id":"m1"}}"#,
                r#"{"event":"read_receipt","ref":"5","data":{"message_id":"m1"}}"#,
            ],
            &[r#"{"ref":"1","ok":{"current_message":{"id":"m1","sender_hash":"me"}}}"#],
        );
        let (found, _, _) = problems(&[s]);
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn an_overlong_ciphertext_is_found() {
        let long = stelgano_spec::b64::encode(&vec![0_u8; MAX_CIPHERTEXT_BYTES + 1]);
        let frame = format!(
            r#"{{"event":"send_message","ref":"2","data":{{"iv":"z","ciphertext":"{long}"}}}}"#
        );
        let (found, _, _) = problems(&[session(&[JOIN, &frame], &[])]);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
