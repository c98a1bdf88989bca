Feature: an unknown key store is reported at its name

  Scenario: unknown store
    Given the world "../../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStor"
    And I tell the custom key store "ExampleKeyStor" that the kmsuser password is "newPass123"
