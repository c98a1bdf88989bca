Feature: mistakes inside control phrases are reported at the inner phrase

  Scenario: nested
    Given the world "../../scenarios/worlds/example.yaml"
    When I retry up to 3 times every 200 ms:
      """
      the connection attempt completes
      Then the ConnectionState of "ExampleKeyStore" is CONECTED
      """
    And I repeat 2 times: I disconect the custom key store "ExampleKeyStore"

  Scenario: paths and values
    Given the world "../../scenarios/worlds/example.yaml"
    Then the response has "Clusters[x].State" equal to "ACTIVE"
    And the response has "Clusters" equal to "[1, 2"
    And the KeyState of "alias/app" is Enabled
    And the ConnectCustomKeyStore event has "requestParameters.customKeyStoreId" equal to "$ExampleKeyStore"
    And it fails with KMSInvalidStateException
    And I encrypt "x" with "alias/app" as "not a name"
