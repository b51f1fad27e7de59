Feature: A party whose PIN no longer opens its slot gets back in, and only with the new code
  Bob claimed his slot with the pairing code, and the slot is bound to the
  PIN he typed then: if he mistyped it, or later forgets it, his PIN opens
  nothing. Alice, with her own PIN typed again on a fresh session,
  re-opens Bob's slot behind a new pairing code and hands it to him; he
  claims it with the number, a new PIN and the code. The room, its number
  and its message live on. The re-opened slot is guarded like the first
  pairing: only the new code opens it, it is spent once used, and Bob's
  own PIN withdraws it if he still has it. (Appendix C, D-46.)

  @STD1-JOIN-24 @STD1-JOIN-25 @STD1-JOIN-14 @STD1-MSG-4
  Scenario: A joiner who bound the slot to a mistyped PIN gets back in with a re-opened code and a new PIN
    Given Alice has created a room
    And Bob has claimed the open slot with the pairing code and a mistyped PIN
    And Bob has sent "made it, I think"
    And Bob has left
    When Bob joins with his PIN
    Then Bob is answered "unauthorized"
    When Alice re-opens Bob's slot for a new PIN
    And Bob claims his slot with the re-opened code and a new PIN
    Then Alice's request succeeds
    And Bob is admitted to the paired room
    And Bob's room is the one Alice created
    And Bob sees the message "made it, I think" as his own
    And Alice is told that the room is paired

  @STD1-JOIN-25 @STD1-WIRE-5 @STD1-JOIN-15
  Scenario: The replaced PIN is refused, and a session still open under it is closed without being told of the pairing
    Given Alice and Bob share a paired room
    When Alice re-opens Bob's slot for a new PIN
    And Bob claims his slot with the re-opened code and a new PIN
    Then Bob is admitted to the paired room
    And Bob's earlier session is closed with 1008 "record_replaced" and was not told that the room is paired
    And Alice is told that the room is paired
    When Bob joins with his old PIN
    Then Bob is answered "unauthorized"

  @STD1-JOIN-16 @STD1-JOIN-24 @STD1-JOIN-5
  Scenario: The party a code was re-opened for logs in with its own PIN, which withdraws the code
    Given Alice and Bob share a paired room
    When Alice re-opens Bob's slot for a new PIN
    And Bob joins with his PIN
    And Mallory claims Bob's slot with the re-opened code
    Then Bob is admitted to the paired room
    And Mallory is answered "unauthorized"
    And Mallory's guess is counted as failure 1 of the room

  @STD1-JOIN-7 @STD1-JOIN-14 @STD1-JOIN-24
  Scenario: Knowing the number and the re-opened code is not enough to claim under the other party's sender identity
    Given Alice and Bob share a paired room
    When Alice re-opens Bob's slot for a new PIN
    And Mallory claims Bob's slot with the re-opened code and Alice's sender hash
    And Bob joins with his PIN
    Then Mallory is answered "sender_mismatch"
    And Bob is admitted to the paired room

  @STD1-JOIN-26 @STD1-JOIN-18 @STD1-JOIN-19
  Scenario: A connected party is told when guesses lock the room, and the guesser's answers are unchanged
    Given Alice and Bob share a paired room
    When Mallory guesses wrong PINs until the room locks
    Then Mallory's guesses were answered "unauthorized" counting down the attempts remaining to 1, then "locked"
    And Alice is told that the room is locked, until when, and nothing before it
    And Bob is told that the room is locked, until when, and nothing before it
