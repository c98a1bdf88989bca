Feature: a misspelt ConnectionErrorCode is reported at the word

  Scenario: misspelt code
    Given the world "../../scenarios/worlds/example.yaml"
    When I connect the custom key store "ExampleKeyStore"
    Then the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED
