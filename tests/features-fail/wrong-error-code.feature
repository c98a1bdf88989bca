Feature: a wrong expectation fails with its file, line, expected and actual

  Scenario: a password changed behind KMS's back is INVALID_CREDENTIALS, not USER_LOCKED_OUT
    Given the world "../../scenarios/worlds/example.yaml"
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "changedPass1"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is USER_LOCKED_OUT
