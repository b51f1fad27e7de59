Feature: Replies reveal no more about a room than the standard allows
  Someone who knows a steg number can learn whether its room exists: create
  answers "room_exists", join answers "not_found" or something else. That
  is all. Nothing else answers questions about rooms, error replies carry
  their reason and the one number the catalogue allows, and nothing a
  client sent comes back in an error.

  @STD1-JOIN-3 @STD1-WIRE-28
  Scenario: A join for a number without a room says "not_found" and nothing more
    When Mallory joins a number nobody has used with a wrong PIN
    Then Mallory is answered "not_found" and nothing else

  @STD1-JOIN-3
  Scenario: A join never creates a room
    When Mallory joins a number nobody has used with a wrong PIN
    And Mallory creates a room with that number
    Then Mallory's request succeeds

  @STD1-SRV-11
  Scenario: No HTTP endpoint tells an existing room from an absent one
    Given Alice has created a room
    When Mallory asks the HTTP surface about the room and about a number nobody has used
    Then both get the same answer

  @STD1-WIRE-28 @STD1-JOIN-19
  Scenario: A wrong PIN is answered with the reason and the attempts left, nothing more
    Given Alice and Bob share a paired room
    When Mallory joins with a wrong PIN
    Then Mallory is answered "unauthorized" and nothing else but the attempts remaining
