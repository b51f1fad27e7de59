@operator-log
Feature: The curious operator's logs hold nothing that links to a room
  The operator, or anyone who can read the server's logs, turns logging up
  to debug and reads along. The logs may say that things happened (event
  names, reasons, counts, durations); they must not hold a hash, a room or
  message id, ciphertext, an IV, any value a client sent, or a client's
  network address.

  Each scenario lets its room's lifetime run out before the log is read:
  a server logs that rooms expired (a count, nothing more), which shows
  that the file being read is the one the server writes to.

  (These scenarios need the target's log, which only the reference server
  exposes to the harness.)

  @STD1-SRV-16
  Scenario: A whole conversation leaves no identifier or secret in the log
    Given the operator is watching the log
    And Alice and Bob share a paired room
    And Alice has sent "the usual place"
    And Bob has read "the usual place"
    And Bob has sent "ok"
    When the room's lifetime runs out
    Then the operator's log holds none of the scenario's secrets or identifiers

  @STD1-SRV-16
  Scenario: Guessing and a lock leave no identifier or secret in the log
    Given the operator is watching the log
    And Alice has created a room
    When Mallory claims the open slot with a wrong pairing code
    And Mallory guesses wrong PINs until the room locks
    And the room's lifetime runs out
    Then the operator's log holds none of the scenario's secrets or identifiers

  @STD1-SRV-16 @STD1-SRV-17
  Scenario: Malformed frames carrying secrets are neither logged nor echoed
    Given the operator is watching the log
    And Alice has created a room
    When Mallory sends malformed joins carrying the steg number and a PIN
    And the room's lifetime runs out
    Then the replies echo nothing that was sent
    And the operator's log holds none of the scenario's secrets or identifiers

  @STD1-SRV-16
  Scenario: Edits, deletions and typing leave no identifier in the log
    Given the operator is watching the log
    And Alice and Bob share a paired room
    And Alice has sent "soon"
    When Alice edits "soon" to "very soon"
    And Alice deletes "very soon"
    And Bob is typing
    And the room's lifetime runs out
    Then the operator's log holds none of the scenario's secrets or identifiers
