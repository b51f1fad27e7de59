Feature: Nobody can act under a party's sender identity
  A sender hash is a party's public identity inside the room: both parties
  see it. It is bound to the access record it was created with, so seeing
  it is not enough to act as its owner, to skip one's turn or to touch the
  other party's message.

  @STD1-JOIN-7 @STD1-JOIN-14
  Scenario: The second party cannot claim the slot under the creator's sender identity
    Given Alice has created a room
    When Bob claims the open slot with the pairing code and Alice's sender hash
    Then Bob is answered "sender_mismatch"

  @STD1-JOIN-5 @STD1-JOIN-7
  Scenario: A right access hash with someone else's sender hash is refused
    Given Alice and Bob share a paired room
    When Mallory joins with Alice's access hash and Bob's sender hash
    Then Mallory is answered "sender_mismatch"

  @STD1-MSG-4 @STD1-JOIN-7
  Scenario: A message carries its author's bound sender identity
    Given Alice and Bob share a paired room
    When Bob sends "I can call at nine"
    Then the message "I can call at nine" reaches Alice with Bob's sender hash

  @STD1-MSG-12 @STD1-MSG-14
  Scenario: A party cannot edit or delete the other party's message
    Given Alice and Bob share a paired room
    And Alice has sent "do not forget the tickets"
    When Bob edits "do not forget the tickets" to "forget the tickets"
    Then Bob is answered "not_author"
    When Bob deletes "do not forget the tickets"
    Then Bob is answered "not_author"

  @STD1-MSG-9 @STD1-MSG-10
  Scenario: A party cannot mark its own message read
    Given Alice and Bob share a paired room
    And Alice has sent "did you get home?"
    When Alice marks "did you get home?" read
    Then Alice is answered "own_message"
