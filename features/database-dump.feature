@database
Feature: A copy of the database yields no number, PIN, key or plaintext
  An attacker holds a dump of the server's database: a stolen backup, a
  breach, a new operator. By itself it must not give them the steg number,
  a PIN, a pairing code, the message key or any plaintext, nor where the
  parties connected from. What it may hold is what the standard lists:
  hashes, the room id, times, and the current ciphertext.

  (These scenarios need the target's database, which only the reference
  server exposes to the harness, through a test-only DSN.)

  @STD1-SRV-2
  Scenario: A live conversation leaves no secret in the database
    Given Alice and Bob share a paired room
    And Alice has sent "the meeting moved to the library"
    And Bob has read "the meeting moved to the library"
    Then the database holds the room
    And a dump of the database holds none of the scenario's secrets

  @STD1-SRV-2
  Scenario: An unpaired room does not keep its pairing code
    Given Alice has created a room
    When Alice resets the pairing code
    Then the database holds the room
    And a dump of the database holds none of the scenario's secrets

  @STD1-SRV-2
  Scenario: Failed guesses leave no PIN in the database
    Given Alice and Bob share a paired room
    When Mallory guesses wrong PINs until the room locks
    Then the database holds the room
    And a dump of the database holds none of the scenario's secrets

  @STD1-SRV-25
  Scenario: The stored hashes of a conversation cannot be searched for the number
    Given Alice and Bob share a paired room
    And Alice has sent "see you after work"
    Then the database holds the room
    And a dump of the database holds none of the hashes the clients sent

  @STD1-SRV-25
  Scenario: An unpaired room's stored code cannot be searched either
    Given Alice has created a room
    Then the database holds the room
    And a dump of the database holds none of the hashes the clients sent

  @STD1-MSG-1 @STD1-MSG-15 @STD1-SRV-8
  Scenario: A replaced message is gone from the database at once
    Given Alice and Bob share a paired room
    And Alice has sent "draft one"
    When Bob sends "answer one"
    Then the database holds the ciphertext of "answer one"
    And the database holds nothing of "draft one"

  @STD1-MSG-14 @STD1-MSG-15 @STD1-SRV-8
  Scenario: A deleted message is gone from the database at once
    Given Alice and Bob share a paired room
    And Alice has sent "sent by mistake"
    Then the database holds the ciphertext of "sent by mistake"
    When Alice deletes "sent by mistake"
    Then Alice's request succeeds
    And the database holds nothing of "sent by mistake"

  @STD1-MSG-12 @STD1-MSG-15
  Scenario: An edit leaves nothing of the text it replaced
    Given Alice and Bob share a paired room
    And Alice has sent "see you at 8"
    When Alice edits "see you at 8" to "see you at 9"
    Then the database holds the ciphertext of "see you at 9"
    And the database holds nothing of "see you at 8"
