Feature: an undefined step fails the run

  Scenario: a misspelt ConnectionState matches no phrase
    Given the world "../../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONECTED
