Feature: Turn-taking holds under racing replies
  A room holds one message; a reply replaces it, and nobody sends twice in
  a row. When both parties answer the same state at once, the server must
  act as if one came first: one message is stored, and the other sender is
  told, never silently dropped.

  Background:
    Given Alice and Bob share a paired room

  @STD1-MSG-3
  Scenario: Nobody sends twice in a row
    Given Alice has sent "first"
    When Alice sends "second"
    Then Alice is answered "not_your_turn"

  @STD1-MSG-3 @STD1-MSG-2
  Scenario: After the other party's reply, it is one's turn again
    Given Alice has sent "ping"
    And Bob has sent "pong"
    When Alice sends "ping again"
    Then Alice's request succeeds

  @STD1-MSG-7 @STD1-MSG-1
  Scenario: Both parties send into the empty room at the same moment
    When Alice and Bob both send into the room at the same moment
    Then exactly one of them is stored and the other is answered "conflict"
    And every session of the room receives the same one new message

  @STD1-MSG-8 @STD1-MSG-6
  Scenario: A reply racing an edit of the message it answers
    Given Alice has sent "at six"
    When Alice edits "at six" to "at seven" while Bob sends "fine" at the same moment
    Then Bob's request succeeds
    And Alice's edit came first or is answered "not_found"
    And Bob sees the message "fine" after joining again

  @STD1-MSG-6
  Scenario: A reply composed against a state that has changed is refused
    Given Alice has sent "one"
    And Bob has sent "two"
    When Bob joins with his PIN
    And Alice sends "three" in reply to "one"
    Then Alice is answered "conflict"
    And Bob sees the message "two"
