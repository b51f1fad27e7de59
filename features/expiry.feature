Feature: An ended room leaves nothing, and its number can be used again
  Either party can end the room at once, and every room ends when its
  lifetime runs out. Then everything of it is deleted, both parties are
  told and disconnected, and the steg number is free for a new room with a
  new key, so nothing of the old conversation can be read in the new one.

  @STD1-LIFE-2 @STD1-LIFE-6 @STD1-LIFE-7
  Scenario: A party ends the room; both sides are told and disconnected
    Given Alice and Bob share a paired room
    And Alice has sent "delete everything"
    When Alice ends the room
    Then Alice receives the room_expired broadcast, then the reply, then the close
    And Bob's session is told the room expired because of "party" and closed

  @STD1-LIFE-5 @STD1-JOIN-3
  Scenario: After a party ends the room, the number is free for a new room with a new key
    Given Alice and Bob share a paired room
    When Alice ends the room
    Then a join for the number is answered "not_found"
    And the number can be used for a new room with a new room id and a new key

  @database @STD1-LIFE-3 @STD1-SRV-8
  Scenario: A room a party ended leaves nothing in the database
    Given Alice and Bob share a paired room
    And Alice has sent "burn after reading"
    And the database holds the room
    When Bob ends the room
    Then the database holds nothing of the room

  @STD1-LIFE-1
  Scenario: A room's expiry time is finite and fixed at creation
    Given Alice and Bob share a paired room
    When Alice joins with her PIN
    Then the room's expiry time is the one given at creation, and within a year of it

  @STD1-LIFE-4 @STD1-LIFE-6 @STD1-LIFE-7
  Scenario: A room whose lifetime runs out is closed on both sides
    Given Alice and Bob share a paired room
    And Alice has sent "this will not last"
    When the room's lifetime runs out
    Then every session of the room is told the room expired because of "ttl" and closed

  @database @STD1-LIFE-3 @STD1-LIFE-4 @STD1-LIFE-5
  Scenario: A room whose lifetime ran out leaves nothing, and the number is reusable
    Given Alice and Bob share a paired room
    And Alice has sent "gone by morning"
    And the database holds the room
    When the room's lifetime runs out
    Then the database holds nothing of the room
    And a join for the number is answered "not_found"
    And the number can be used for a new room with a new room id and a new key
