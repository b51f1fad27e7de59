//! insta snapshots of the canonical encoding of every frame shape
//! (STD1-WIRE-7, STD1-WIRE-26, STD1-WIRE-29). A change to an encoding shows up
//! as a reviewed snapshot diff, never silently.

use stelgano_spec::ErrorReason;
use stelgano_spec::ids::{MessageId, Ref};
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, DeleteMessage, Done, EditMessage,
    ErrorBody, ErrorReply, ExpiryCause, Iv, JoinRoom, Joined, Message, OkReply, ReadReceipt,
    ReopenPairing, ReplyBody, ResetPairing, SendMessage, Sent, ServerFrame,
};

const ROOM: &str = "183961933c251543088257984b33a7ce9dabc2be9b7a571bd93d727a920ff133";
const ACCESS: &str = "8f61a01d389dbc1081f2f662689e74f5b1a7a0bf54e51349c57520a0b98c89bf";
const SENDER: &str = "1ce37b2a69c126e32cf3b494e2fe5244dcdcac40f8d05ca7ec10543a63d9bcdd";
const PAIRING: &str = "0dc598ee785bee1b860406516fe243b76c2e034619c918ad1c70cf074dace9d9";

fn parse<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("fixture parses")
}

fn message_id() -> MessageId {
    parse("6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6")
}

fn ciphertext() -> Ciphertext {
    Ciphertext::from_base64("dgi5gPHasZ0KiI0G2GX9rr8bNe7h").expect("fixture ciphertext")
}

fn iv() -> Iv {
    Iv::from_array(core::array::from_fn(|i| i as u8))
}

fn render(frames: Vec<(&str, String)>) -> String {
    frames
        .into_iter()
        .map(|(label, json)| format!("# {label}\n{json}\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn client_frames() {
    let events = vec![
        (
            "create",
            ClientEvent::Create(CreateRoom {
                room_hash: parse(ROOM),
                access_hash: parse(ACCESS),
                sender_hash: parse(SENDER),
                pairing_hash: parse(PAIRING),
                country_iso: Some(parse("US")),
            }),
        ),
        (
            "join (second party, with pairing code)",
            ClientEvent::Join(JoinRoom {
                room_hash: parse(ROOM),
                access_hash: parse(ACCESS),
                sender_hash: parse(SENDER),
                pairing_hash: Some(parse(PAIRING)),
            }),
        ),
        (
            "join (returning party)",
            ClientEvent::Join(JoinRoom {
                room_hash: parse(ROOM),
                access_hash: parse(ACCESS),
                sender_hash: parse(SENDER),
                pairing_hash: None,
            }),
        ),
        (
            "send_message (empty room)",
            ClientEvent::SendMessage(SendMessage {
                ciphertext: ciphertext(),
                iv: iv(),
                replaces: None,
            }),
        ),
        (
            "send_message (reply)",
            ClientEvent::SendMessage(SendMessage {
                ciphertext: ciphertext(),
                iv: iv(),
                replaces: Some(message_id()),
            }),
        ),
        (
            "read_receipt",
            ClientEvent::ReadReceipt(ReadReceipt {
                message_id: message_id(),
            }),
        ),
        (
            "edit_message",
            ClientEvent::EditMessage(EditMessage {
                message_id: message_id(),
                ciphertext: ciphertext(),
                iv: iv(),
            }),
        ),
        (
            "delete_message",
            ClientEvent::DeleteMessage(DeleteMessage {
                message_id: message_id(),
            }),
        ),
        ("typing", ClientEvent::Typing),
        ("expire_room", ClientEvent::ExpireRoom),
        (
            "reset_pairing",
            ClientEvent::ResetPairing(ResetPairing {
                pairing_hash: parse(PAIRING),
            }),
        ),
        (
            "reopen_pairing",
            ClientEvent::ReopenPairing(ReopenPairing {
                pairing_hash: parse(PAIRING),
            }),
        ),
    ];
    let rendered = events
        .into_iter()
        .enumerate()
        .map(|(i, (label, event))| {
            let reference: Ref = parse(&(i + 1).to_string());
            (label, ClientFrame { reference, event }.to_json())
        })
        .collect();
    insta::assert_snapshot!("client_frames", render(rendered));
}

#[test]
fn server_frames() {
    let at = |s: &str| parse(s);
    let message = Message {
        id: message_id(),
        sender_hash: parse(SENDER),
        ciphertext: ciphertext(),
        iv: iv(),
        sent_at: at("2026-11-27T09:00:05Z"),
        read_at: None,
        edited: false,
    };
    let ok = |body| {
        ServerFrame::Ok(OkReply {
            reference: parse("7"),
            ok: body,
        })
        .to_json()
    };
    let error = |reference: Option<&str>, error| {
        ServerFrame::Error(ErrorReply {
            reference: reference.map(parse),
            error,
        })
        .to_json()
    };
    let broadcast = |b| ServerFrame::Broadcast(b).to_json();
    let frames = vec![
        (
            "joined, empty room",
            ok(ReplyBody::Joined(Joined {
                room_id: parse("00000000-0000-0000-0000-000000000000"),
                ttl_expires_at: at("2026-12-04T09:00:00Z"),
                awaiting_party: true,
                current_message: None,
            })),
        ),
        (
            "joined, with current message",
            ok(ReplyBody::Joined(Joined {
                room_id: parse("00000000-0000-0000-0000-000000000000"),
                ttl_expires_at: at("2026-12-04T09:00:00Z"),
                awaiting_party: false,
                current_message: Some(message.clone()),
            })),
        ),
        (
            "sent",
            ok(ReplyBody::Sent(Sent {
                message_id: message_id(),
            })),
        ),
        ("done", ok(ReplyBody::Done(Done {}))),
        (
            "error",
            error(Some("7"), ErrorBody::plain(ErrorReason::Conflict)),
        ),
        (
            "error without a valid ref",
            error(None, ErrorBody::plain(ErrorReason::InvalidFrame)),
        ),
        (
            "error with attempts_remaining",
            error(
                Some("7"),
                ErrorBody {
                    reason: ErrorReason::PairingInvalid,
                    attempts_remaining: Some(3),
                    retry_after: None,
                },
            ),
        ),
        (
            "error with retry_after",
            error(
                Some("7"),
                ErrorBody {
                    reason: ErrorReason::RateLimited,
                    attempts_remaining: None,
                    retry_after: Some(42),
                },
            ),
        ),
        ("new_message", broadcast(Broadcast::NewMessage(message))),
        (
            "message_read",
            broadcast(Broadcast::MessageRead {
                message_id: message_id(),
                read_at: at("2026-11-27T09:00:09Z"),
            }),
        ),
        (
            "message_edited",
            broadcast(Broadcast::MessageEdited {
                message_id: message_id(),
                ciphertext: ciphertext(),
                iv: iv(),
            }),
        ),
        (
            "message_deleted",
            broadcast(Broadcast::MessageDeleted {
                message_id: message_id(),
            }),
        ),
        (
            "counterparty_typing",
            broadcast(Broadcast::CounterpartyTyping {}),
        ),
        ("party_paired", broadcast(Broadcast::PartyPaired {})),
        (
            "room_locked",
            broadcast(Broadcast::RoomLocked {
                locked_until: parse("2026-11-27T09:30:00Z"),
            }),
        ),
        (
            "room_expired (party)",
            broadcast(Broadcast::RoomExpired {
                cause: ExpiryCause::Party,
            }),
        ),
        (
            "room_expired (ttl)",
            broadcast(Broadcast::RoomExpired {
                cause: ExpiryCause::Ttl,
            }),
        ),
    ];
    insta::assert_snapshot!("server_frames", render(frames));
}

#[test]
fn error_catalogue() {
    // STD1-WIRE-27: the reason spellings and their extra members, as one reviewed list.
    let lines: Vec<String> = ErrorReason::ALL
        .iter()
        .map(|r| format!("{:<20} {:?}", r.as_str(), r.detail()))
        .collect();
    insta::assert_snapshot!("error_catalogue", lines.join("\n"));
}
