Feature: The third party who knows the number cannot pass the pairing gate
  Alice created the room and will hand Bob the pairing code out of band.
  Until Bob claims the second slot, anyone who knows the steg number could
  try to take it: the pairing code is what stops them, and every wrong code
  counts against the same room as a wrong PIN.

  Background:
    Given Alice has created a room

  @STD1-JOIN-5 @STD1-JOIN-14 @STD1-JOIN-19
  Scenario: A claim on the open slot with a wrong pairing code is refused and counted
    When Mallory claims the open slot with a wrong pairing code
    Then Mallory is answered "pairing_invalid"
    And Mallory's guess is counted as failure 1 of the room

  @STD1-JOIN-5 @STD1-JOIN-19
  Scenario: A join without a pairing code cannot take the open slot
    When Mallory joins with a wrong PIN
    Then Mallory is answered "unauthorized"
    And Mallory's guess is counted as failure 1 of the room

  @STD1-JOIN-14 @STD1-JOIN-18
  Scenario: Wrong pairing codes and wrong PINs share one count
    When Mallory claims the open slot with a wrong pairing code
    And Mallory joins with a wrong PIN
    Then Mallory's guess is counted as failure 2 of the room

  @STD1-JOIN-14 @STD1-JOIN-15
  Scenario: The real second party passes the gate after the intruder failed
    When Mallory claims the open slot with a wrong pairing code
    And Bob claims the open slot with the pairing code
    Then Bob is admitted to the paired room
    And Alice is told that the room is paired

  @STD1-JOIN-5 @STD1-JOIN-14
  Scenario: The pairing code is single-use: once Bob has paired it opens nothing
    Given Bob has claimed the open slot with the pairing code
    When Mallory claims the open slot with the pairing code
    Then Mallory is answered "unauthorized"

  @STD1-JOIN-17
  Scenario: A replaced pairing code is worthless, the new one works
    When Alice resets the pairing code
    And Mallory claims the open slot with the replaced pairing code
    And Bob claims the open slot with the pairing code
    Then Alice's request succeeds
    And Mallory is answered "pairing_invalid"
    And Bob is admitted to the paired room

  @STD1-JOIN-17 @STD1-JOIN-18
  Scenario: Replacing the pairing code does not reset the failure count
    When Mallory claims the open slot with a wrong pairing code
    And Alice resets the pairing code
    And Mallory claims the open slot with a wrong pairing code
    Then Mallory's guess is counted as failure 2 of the room

  @STD1-JOIN-17
  Scenario: A paired room cannot have its pairing code reset
    Given Bob has claimed the open slot with the pairing code
    When Alice resets the pairing code
    Then Alice is answered "already_paired"

  @STD1-JOIN-6
  Scenario: Of two racing claims with a leaked code, at most one takes the slot
    When Bob and Mallory claim the open slot with the pairing code at the same moment
    Then exactly one of them is admitted and the other is answered "unauthorized"
