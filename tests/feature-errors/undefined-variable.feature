Feature: an undefined variable is reported where it is written

  Scenario: variables
    Given the world "../../scenarios/worlds/example.yaml"
    When I encrypt "hello" with "alias/app" as "ct"
    Then "$cipher" decrypts to "hello"
    And the response has "KeyId" equal to "key-${kid}"
    And the key "alias/ap" has "KeyState" equal to "Enabled"
