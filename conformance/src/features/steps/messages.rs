//! Sending, reading, editing and deleting the room's one message (spec
//! §9), with real AES-256-GCM under the room's key, so that the database
//! and log steps can look for the real plaintext and key.

use stelgano_spec::ErrorReason;
use stelgano_spec::crypto::{self, Sealed};
use stelgano_spec::ids::MessageId;
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, DeleteMessage, EditMessage, Iv, ReadReceipt, ReplyBody,
    SendMessage,
};
use tokio::time::Instant;

use super::Args;
use crate::features::world::{
    Answer, FRAME_TIMEOUT, FeatureWorld, SentMessage, StepFailure, expected, random_letters,
};
use crate::fixtures;

type Outcome = Result<(), StepFailure>;

/// Encrypts the text the feature calls `label` under the room's key and
/// remembers it; the plaintext gets a random suffix of its own.
async fn seal(world: &mut FeatureWorld, label: &str) -> Result<SentMessage, StepFailure> {
    let room_id = world.room()?.room_id;
    let key = world.key(room_id).await?;
    let plaintext = format!("{label} ~{}", random_letters(8)?);
    let sealed = crypto::seal(&key, &plaintext)
        .map_err(|e| StepFailure::Setup(format!("encrypting: {e}")))?;
    world.secrets.plaintexts.push(plaintext.clone());
    world.secrets.blobs.push(sealed.ciphertext.clone());
    world.secrets.blobs.push(sealed.iv.to_vec());
    Ok(SentMessage {
        plaintext,
        sealed,
        id: None,
    })
}

fn wire(sealed: &Sealed) -> Result<(Ciphertext, Iv), StepFailure> {
    let ciphertext = Ciphertext::from_bytes(sealed.ciphertext.clone())
        .map_err(|e| StepFailure::Setup(format!("ciphertext: {e}")))?;
    Ok((ciphertext, Iv::from_array(sealed.iv)))
}

fn send_event(sealed: &Sealed, replaces: Option<MessageId>) -> Result<ClientEvent, StepFailure> {
    let (ciphertext, iv) = wire(sealed)?;
    Ok(ClientEvent::SendMessage(SendMessage {
        ciphertext,
        iv,
        replaces,
    }))
}

/// Sends `label` as `name`, answering `replaces`; records the answer.
async fn send(
    world: &mut FeatureWorld,
    name: &str,
    label: &str,
    replaces: Option<MessageId>,
) -> Result<Answer, StepFailure> {
    let mut message = seal(world, label).await?;
    let answer = world
        .request_joined(name, send_event(&message.sealed, replaces)?)
        .await?;
    if let Answer::Ok(ReplyBody::Sent(s)) = &answer {
        message.id = Some(s.message_id);
        world.current = Some(s.message_id);
    }
    world.messages.insert(label.to_owned(), message);
    Ok(answer)
}

fn id_of(world: &FeatureWorld, label: &str) -> Result<MessageId, StepFailure> {
    world
        .message(label)?
        .id
        .ok_or_else(|| StepFailure::Setup(format!("\"{label}\" was never stored")))
}

pub async fn has_sent(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let current = world.current;
    match send(world, name, args.get(1)?, current).await? {
        Answer::Ok(ReplyBody::Sent(_)) => Ok(()),
        other => Err(expected(format!("{name}'s message was answered {other}"))),
    }
}

pub async fn sends(world: &mut FeatureWorld, args: Args) -> Outcome {
    let current = world.current;
    send(world, args.get(0)?, args.get(1)?, current)
        .await
        .map(drop)
}

pub async fn sends_in_reply(world: &mut FeatureWorld, args: Args) -> Outcome {
    let replaces = Some(id_of(world, args.get(2)?)?);
    send(world, args.get(0)?, args.get(1)?, replaces)
        .await
        .map(drop)
}

pub async fn sends_without_joining(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    // Without a session there is no room id, so no key: any well-formed
    // bytes will do.
    let (ciphertext, iv) = fixtures::payload().map_err(StepFailure::Setup)?;
    let send = ClientEvent::SendMessage(SendMessage {
        ciphertext,
        iv,
        replaces: None,
    });
    world.request_unjoined(name, send, true).await?;
    world
        .request_unjoined(name, ClientEvent::ExpireRoom, false)
        .await
        .map(drop)
}

async fn read(world: &mut FeatureWorld, name: &str, label: &str) -> Result<Answer, StepFailure> {
    let message_id = id_of(world, label)?;
    world
        .request_joined(name, ClientEvent::ReadReceipt(ReadReceipt { message_id }))
        .await
}

pub async fn has_read(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    match read(world, name, args.get(1)?).await? {
        Answer::Ok(_) => Ok(()),
        other => Err(expected(format!(
            "{name}'s read receipt was answered {other}"
        ))),
    }
}

pub async fn marks_read(world: &mut FeatureWorld, args: Args) -> Outcome {
    read(world, args.get(0)?, args.get(1)?).await.map(drop)
}

/// The edit of `old` into `new`, remembered under `new` with `old`'s id.
async fn edit_event(
    world: &mut FeatureWorld,
    old: &str,
    new: &str,
) -> Result<ClientEvent, StepFailure> {
    let message_id = id_of(world, old)?;
    let mut message = seal(world, new).await?;
    let (ciphertext, iv) = wire(&message.sealed)?;
    message.id = Some(message_id);
    world.messages.insert(new.to_owned(), message);
    Ok(ClientEvent::EditMessage(EditMessage {
        message_id,
        ciphertext,
        iv,
    }))
}

pub async fn edits(world: &mut FeatureWorld, args: Args) -> Outcome {
    let event = edit_event(world, args.get(1)?, args.get(2)?).await?;
    world.request_joined(args.get(0)?, event).await.map(drop)
}

pub async fn deletes(world: &mut FeatureWorld, args: Args) -> Outcome {
    let message_id = id_of(world, args.get(1)?)?;
    let answer = world
        .request_joined(
            args.get(0)?,
            ClientEvent::DeleteMessage(DeleteMessage { message_id }),
        )
        .await?;
    if matches!(answer, Answer::Ok(_)) {
        world.current = None;
    }
    Ok(())
}

pub async fn typing(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    match world.request_joined(name, ClientEvent::Typing).await? {
        // STD1-MSG-17 lets a server limit typing.
        Answer::Ok(_) => Ok(()),
        Answer::Error(e) if e.reason == ErrorReason::RateLimited => Ok(()),
        other => Err(expected(format!("{name}'s typing was answered {other}"))),
    }
}

/// Sends two requests, one per person, at the same moment: both frames
/// leave before either reply is read. Records both answers in the race.
async fn race(
    world: &mut FeatureWorld,
    first: (&str, ClientEvent),
    second: (&str, ClientEvent),
) -> Outcome {
    let mut a = world
        .person(first.0)?
        .sessions
        .pop()
        .ok_or_else(|| StepFailure::Setup(format!("{} has no session", first.0)))?;
    let mut b = match world.person(second.0)?.sessions.pop() {
        Some(b) => b,
        None => return Err(StepFailure::Setup(format!("{} has no session", second.0))),
    };
    let (ra, rb) = tokio::join!(a.request(first.1), b.request(second.1));
    world.person(first.0)?.sessions.push(a);
    world.person(second.0)?.sessions.push(b);
    world.race.clear();
    for (name, answer) in [(first.0, ra?), (second.0, rb?)] {
        world.note_answer(&answer);
        world.person(name)?.answers.push(answer.clone());
        world.race.push((name.to_owned(), answer));
    }
    Ok(())
}

pub async fn racing_sends(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (a, b) = (args.get(0)?, args.get(1)?);
    let replaces = world.current;
    let mut sealed = Vec::new();
    for name in [a, b] {
        let label = format!("{name}'s racing reply");
        let message = seal(world, &label).await?;
        sealed.push((label, message));
    }
    let events = (
        send_event(&sealed[0].1.sealed, replaces)?,
        send_event(&sealed[1].1.sealed, replaces)?,
    );
    race(world, (a, events.0), (b, events.1)).await?;
    for ((label, mut message), (_, answer)) in sealed.into_iter().zip(world.race.clone()) {
        if let Answer::Ok(ReplyBody::Sent(s)) = answer {
            message.id = Some(s.message_id);
            world.current = Some(s.message_id);
        }
        world.messages.insert(label, message);
    }
    Ok(())
}

pub async fn edit_racing_send(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (editor, old, new) = (args.get(0)?, args.get(1)?, args.get(2)?);
    let (sender, label) = (args.get(3)?, args.get(4)?);
    let edit = edit_event(world, old, new).await?;
    let mut reply = seal(world, label).await?;
    let replaces = Some(id_of(world, old)?);
    let send = send_event(&reply.sealed, replaces)?;
    race(world, (editor, edit), (sender, send)).await?;
    if let Some((_, Answer::Ok(ReplyBody::Sent(s)))) = world.race.get(1) {
        reply.id = Some(s.message_id);
        world.current = Some(s.message_id);
    }
    world.messages.insert(label.to_owned(), reply);
    Ok(())
}

/// Decrypts the current message of `name`'s last `Joined` reply and
/// compares it with what the scenario sent as `label`.
pub(super) async fn check_sees(world: &mut FeatureWorld, name: &str, label: &str) -> Outcome {
    let answer = world.person(name)?.last()?.clone();
    let joined = answer
        .joined()
        .ok_or_else(|| expected(format!("{name} was answered {answer}, not admitted")))?;
    let shown = joined
        .current_message
        .as_ref()
        .ok_or_else(|| expected(format!("{name} sees an empty room")))?;
    let key = world.key(joined.room_id).await?;
    let sealed = Sealed {
        iv: *shown.iv.as_bytes(),
        ciphertext: shown.ciphertext.as_bytes().to_vec(),
    };
    let text = crypto::open(&key, &sealed)
        .map_err(|e| expected(format!("{name}'s current message does not decrypt: {e}")))?;
    if text == world.message(label)?.plaintext {
        Ok(())
    } else {
        Err(expected(format!(
            "{name} sees another message than \"{label}\""
        )))
    }
}

pub async fn sees(world: &mut FeatureWorld, args: Args) -> Outcome {
    check_sees(world, args.get(0)?, args.get(1)?).await
}

pub async fn sees_after_rejoin(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    let join = ClientEvent::Join(stelgano_spec::wire::JoinRoom {
        room_hash: hashes.room_hash,
        access_hash: hashes.access_hash,
        sender_hash: hashes.sender_hash,
        pairing_hash: None,
    });
    world.request_unjoined(name, join, true).await?;
    check_sees(world, name, args.get(1)?).await
}

/// The `new_message` broadcast `name` receives carries the author's bound
/// sender hash and the bytes as sent (STD1-MSG-4, STD1-JOIN-7).
pub async fn reaches_with_sender(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (label, reader, author) = (args.get(0)?, args.get(1)?, args.get(2)?);
    let id = id_of(world, label)?;
    let message = world.message(label)?.clone();
    let author_sender = world.person(author)?.hashes.sender_hash;
    let deadline = Instant::now() + FRAME_TIMEOUT;
    let broadcast = world
        .person(reader)?
        .joined_session()?
        .next_broadcast(deadline)
        .await?;
    match broadcast {
        Broadcast::NewMessage(m)
            if m.id == id
                && m.sender_hash == author_sender
                && m.ciphertext.as_bytes() == message.sealed.ciphertext.as_slice()
                && *m.iv.as_bytes() == message.sealed.iv
                && m.read_at.is_none()
                && !m.edited =>
        {
            Ok(())
        }
        Broadcast::NewMessage(m) if m.sender_hash != author_sender => Err(expected(format!(
            "the message reached {reader} under another sender hash than {author}'s"
        ))),
        other => Err(expected(format!(
            "{reader} received `{}` that is not the message as sent",
            other.name()
        ))),
    }
}

/// Of two racing sends, exactly one is stored and the other refused with
/// `reason`: the outcome of one serial order (STD1-MSG-7).
pub async fn one_stored(world: &mut FeatureWorld, args: Args) -> Outcome {
    let wanted: ErrorReason = args
        .get(0)?
        .parse()
        .map_err(|_| StepFailure::Setup("not an error reason".into()))?;
    world.race_one_each(
        "sends",
        |a| matches!(a, Answer::Ok(ReplyBody::Sent(_))),
        wanted,
    )
}

/// Every open session of Alice and Bob receives, as its next broadcast,
/// the new message that was stored, and only that one (STD1-MSG-1,
/// STD1-MSG-7).
pub async fn same_new_message(world: &mut FeatureWorld, _: Args) -> Outcome {
    let stored = world
        .current
        .ok_or_else(|| expected("no message was stored"))?;
    let deadline = Instant::now() + FRAME_TIMEOUT;
    for name in ["Alice", "Bob"] {
        let session = world.person(name)?.joined_session()?;
        match session.next_broadcast(deadline).await? {
            Broadcast::NewMessage(m) if m.id == stored => {}
            other => {
                return Err(expected(format!(
                    "{name}'s next broadcast was `{}`, not the stored message",
                    other.name()
                )));
            }
        }
        // Anything already received after it must not be a second message.
        if session
            .inbox
            .iter()
            .any(|b| matches!(b, Broadcast::NewMessage(_)))
        {
            return Err(expected(format!("{name} received a second new message")));
        }
    }
    Ok(())
}

/// An edit racing a reply: either the edit came first (it succeeded, and
/// the replier's session saw `message_edited` before `new_message`), or
/// the reply came first and the edit found no message (STD1-MSG-8).
pub async fn edit_first_or_not_found(world: &mut FeatureWorld, args: Args) -> Outcome {
    let editor = args.get(0)?;
    let (edit, replier) = match world.race.as_slice() {
        [(e, a), (r, _)] if e == editor => (a.clone(), r.clone()),
        _ => return Err(StepFailure::Setup("no edit raced a reply".into())),
    };
    let reply = world
        .current
        .ok_or_else(|| expected("the reply was not stored"))?;
    let deadline = Instant::now() + FRAME_TIMEOUT;
    let session = world.person(&replier)?.joined_session()?;
    // The replier's session may still hold the broadcast of the message
    // it answered; what counts is what follows.
    let first = loop {
        match session.next_broadcast(deadline).await? {
            Broadcast::NewMessage(m) if m.id != reply => continue,
            b => break b,
        }
    };
    match (&edit, &first) {
        (Answer::Ok(_), Broadcast::MessageEdited { .. }) => {
            match session.next_broadcast(deadline).await? {
                Broadcast::NewMessage(_) => Ok(()),
                other => Err(expected(format!(
                    "after the edit, {replier} received `{}`",
                    other.name()
                ))),
            }
        }
        (Answer::Error(e), Broadcast::NewMessage(_)) if e.reason == ErrorReason::NotFound => Ok(()),
        _ => Err(expected(format!(
            "the edit was answered {edit} and {replier} first received `{}`",
            first.name()
        ))),
    }
}
