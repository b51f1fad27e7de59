Feature: The third party who knows the number cannot take over the room
  Mallory knows the steg number but not the PINs. She may create, join and
  send from her own device. Knowing the number tells her that a room exists
  (the standard does not hide that); it must give her nothing else.

  Background:
    Given Alice and Bob share a paired room
    And Alice has sent "the spare key is under the pot"

  @STD1-JOIN-2
  Scenario: Creating a room over an existing one changes nothing
    When Mallory creates a room with the same number
    And Bob joins with his PIN
    Then Mallory is answered "room_exists"
    And Bob sees the message "the spare key is under the pot"

  @STD1-WIRE-21
  Scenario: Without a session, nothing can be sent into or done to the room
    When Mallory sends "hello" and ends the room without joining
    And Bob joins with his PIN
    Then Mallory's requests are all answered "not_joined"
    And Bob sees the message "the spare key is under the pot"

  @STD1-JOIN-5 @STD1-JOIN-19
  Scenario: A guesser cannot tell a paired room from an unpaired one
    Given a second room that Carol has created and nobody has joined
    When Mallory joins with a wrong PIN
    And Mallory joins the second room with a wrong PIN
    Then Mallory's two guesses were answered alike
