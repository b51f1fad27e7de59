Feature: The partner with the unlocked phone guesses PINs
  Mallory shares Alice's life. She has unlocked Alice's phone, found the
  steg number in a contact card and now tries PINs against the server from
  her own device, at home, on the same network as Alice and Bob. What
  bounds her is the room's one failure count: every wrong PIN or pairing
  code counts, the L-th locks the room to the network she failed from, and
  a lock answers every join from that network alike, so no answer confirms
  a guess. (L is the target's lockout setting; the corpus uses 3. A party
  on another network is the business of lockout-networks.feature.)

  Background:
    Given Alice and Bob share a paired room

  @STD1-JOIN-18 @STD1-JOIN-19
  Scenario: Every wrong PIN is counted and the guesser is told how many remain
    When Mallory guesses wrong PINs until the room locks
    Then Mallory's guesses were answered "unauthorized" counting down the attempts remaining to 1, then "locked"

  @STD1-JOIN-5 @STD1-JOIN-20
  Scenario: A locked room refuses the right PIN exactly as it refuses a wrong one
    When Alice joins with her PIN and Mallory with a wrong PIN while the room is locked
    Then Alice is answered "locked" with a retry time
    And Alice and Mallory are answered alike

  @STD1-JOIN-18 @STD1-JOIN-20
  Scenario: Guesses made while the room is locked are not counted
    When Mallory makes 2 wrong guesses while the room is locked
    Then Mallory's last 2 answers were "locked"
    When Mallory waits until the lock has passed
    And Mallory joins with a wrong PIN
    Then Mallory's guess is counted as failure 1 of the room

  @STD1-JOIN-5 @STD1-JOIN-18
  Scenario: The locked-out party sees the lock and gets back in once it has passed
    When Bob joins with his PIN while the room is locked
    Then Bob is answered "locked" with a retry time
    When Bob waits until the lock has passed
    And Bob joins with his PIN
    Then Bob is admitted to the paired room

  @STD1-JOIN-18
  Scenario: A successful join does not wipe out earlier failures
    When Mallory joins with a wrong PIN
    And Alice joins with her PIN
    And Mallory joins with a wrong PIN
    Then Alice is admitted to the paired room
    And Mallory's guess is counted as failure 2 of the room

  @STD1-JOIN-18
  Scenario: Guessing from many connections does not buy more guesses
    When Mallory joins with a wrong PIN from a new connection
    And Mallory joins with a wrong PIN from a new connection
    Then Mallory's guess is counted as failure 2 of the room

  @STD1-JOIN-5 @STD1-JOIN-19
  Scenario: A wrong PIN sent with a pairing code to a paired room is still a wrong PIN
    When Mallory joins with a wrong PIN and a wrong pairing code
    Then Mallory is answered "unauthorized"
    And Mallory's guess is counted as failure 1 of the room
