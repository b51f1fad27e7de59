@networks
Feature: A stranger who knows the number cannot lock the parties out from elsewhere
  Mallory knows the steg number but neither PIN, and she is on a network of
  her own. Her wrong guesses count against the room, and the L-th locks it.
  The lock bars the networks that failed against the room, not the room:
  Alice and Bob, on other networks, still get in, while nothing more is
  counted. A network that has not failed is heard once during the lock; a
  wrong guess from it is answered exactly as a refusal and bars it too. A
  party who shares Mallory's network shares her lock.

  Background:
    Given Alice and Bob share a paired room
    And Mallory is on a network of her own

  @STD1-JOIN-22 @STD1-JOIN-23 @STD1-SEC-9
  Scenario: A party on another network gets in while the stranger's lock stands
    When Alice joins with her PIN while the room is locked
    Then Alice is admitted to the paired room

  @STD1-JOIN-20 @STD1-JOIN-22 @STD1-SEC-9
  Scenario: A party on the stranger's network is locked out with her
    Given Bob is on Mallory's network
    When Bob joins with his PIN while the room is locked
    Then Bob is answered "locked" with a retry time

  @STD1-JOIN-22 @STD1-JOIN-23
  Scenario: A new network buys the stranger one guess, answered as a refusal, and is then barred
    When Mallory makes a wrong guess from a new network and Alice joins with her PIN from there while the room is locked
    Then Alice is answered "locked" with a retry time
    And Alice and Mallory are answered alike
